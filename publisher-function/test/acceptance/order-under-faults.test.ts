// Invariant 4 (order per key) in the windows the chaos run found: a row of a key waits (backing off, or held behind
// it) while its outcome is still being written, and in that window the publisher re-takes its lease, or the write
// lands only in part. A later row of the same key must never be sent before the rows waiting ahead of it.
import { OutboxStatus } from '@dataverse-outbox/contract';
import { DataverseLeaseStore, noMetrics, silentLogger, systemClock, type OutboxStorePort } from '../../src';
import { KeyBlockers, LeaseKeeper, parseSettings, runPublishCycle, type PublishCycleDeps } from '../../src/core';
import { ServiceBusMessageSender } from '../../src/servicebus/sender';
import { eventually, rowByMessageId, SESSION_QUEUE, storeWithApplyUpdates, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

const settings = () => parseSettings({}, h.appSettings);

async function enqueue(key: string, name: string): Promise<void> {
  await h.writer.transaction((tx) => void tx.enqueue({ target: SESSION_QUEUE, sessionKey: key, payload: { name }, messageId: name }));
}

/** Publishes until no row of the given ids is Pending, then returns the session's messages in Service Bus order. */
async function publishRestAndReceive(deps: PublishCycleDeps, inFlight: Set<string>, key: string, names: string[]): Promise<string[]> {
  await eventually(
    async () => {
      const r = await runPublishCycle(deps, { inFlight });
      await r.marked;
      const rows = await Promise.all(names.map((n) => rowByMessageId(h, n)));
      return rows.every((row) => row.status !== OutboxStatus.Pending);
    },
    'every row of the key published',
    30_000,
    100,
  );
  // The session's messages, in the order Service Bus delivers them (its enqueue order).
  const receiver = await h.serviceBus.acceptSession(SESSION_QUEUE, key, { receiveMode: 'receiveAndDelete' });
  const got: string[] = [];
  try {
    for (let tries = 0; tries < 20 && got.length < names.length; tries++) {
      got.push(...(await receiver.receiveMessages(10, { maxWaitTimeInMs: 300 })).map((m) => String(m.messageId)));
    }
  } finally {
    await receiver.close();
  }
  return got;
}

function cycleDeps(store: OutboxStorePort, scope: string, blockers = new KeyBlockers()): { deps: PublishCycleDeps; sender: ServiceBusMessageSender; lease: LeaseKeeper } {
  const sender = new ServiceBusMessageSender(h.serviceBus, { operationTimeoutInMs: 5000 });
  const lease = new LeaseKeeper(new DataverseLeaseStore(h.client), { scope, owner: `test-${scope}`, durationInMs: 10_000 });
  const deps: PublishCycleDeps = {
    store,
    sender,
    lease,
    blockers,
    clock: systemClock,
    logger: silentLogger,
    metrics: noMetrics,
    settings: settings(),
    backoff: { baseDelayInMs: 4000, maxDelayInMs: 4000 },
    random: () => 1,
  };
  return { deps, sender, lease };
}

it('a later row waits for rows whose backoff is still being written when the lease is taken again', async () => {
  const { deps, sender, lease } = cycleDeps(h.store, 'order-relock');
  const inFlight = new Set<string>();
  await enqueue('k-relock', 'relock-1');
  await enqueue('k-relock', 'relock-2');
  // 1. The first row cannot be sent (attach refused): it backs off and the second is held behind it. The write of those
  //    outcomes hangs (Dataverse holds the $batch, then drops it; the client sends it again).
  h.sb.refuseAttaches({ durationInMs: 1200, entity: SESSION_QUEUE });
  h.dv.injectFault({ kind: 'timeout', timeoutMs: 1500, entitySet: '$batch', count: 1 });
  const first = await runPublishCycle(deps, { inFlight, deferMarks: true });
  expect({ retrying: first.retrying, held: first.held, published: first.published }).toEqual({ retrying: 1, held: 1, published: 0 });
  // 2. A third row of the key commits; the publisher loses its lease for a moment and takes it again (a new generation).
  await enqueue('k-relock', 'relock-3');
  await new Promise((r) => setTimeout(r, 1300));
  lease.drop();
  const second = await runPublishCycle(deps, { inFlight, deferMarks: true, settleInFlight: async () => void (await first.marked) });
  expect(second.published).toBe(0);
  await Promise.all([first.marked, second.marked]);
  // 3. Everything is sent eventually, in obx_sequence order.
  expect(await publishRestAndReceive(deps, inFlight, 'k-relock', ['relock-1', 'relock-2', 'relock-3'])).toEqual(['relock-1', 'relock-2', 'relock-3']);
  await lease.release();
  await sender.close();
}, 60_000);

it('a later row waits for a held row of its key when only part of the cycle outcome was written', async () => {
  // Dataverse may apply some requests of a $batch (continue-on-error) and fail others: here the backoff of the first
  // row is lost while the hold of the second lands. Holds are written only for keys beyond the publish query's
  // exclusion bound (EXCLUSION_LIMITS): a bound of 0 keys puts this key there.
  await enqueue('k-partial', 'partial-1');
  await enqueue('k-partial', 'partial-2');
  const firstRowId = (await rowByMessageId(h, 'partial-1')).id;
  let partial = true;
  const store = storeWithApplyUpdates(h, async (updates, options) => {
    if (!partial || !updates.some((u) => u.id === firstRowId)) return h.store.applyUpdates(updates, options);
    partial = false;
    await h.store.applyUpdates(updates.filter((u) => u.id !== firstRowId), options);
    throw new Error('Dataverse answered 503 for 1 of the $batch requests');
  });
  const { deps, sender, lease } = cycleDeps(store, 'order-partial', new KeyBlockers({ maxKeys: 0, maxUrlLength: 0 }));
  const inFlight = new Set<string>();
  h.sb.refuseAttaches({ durationInMs: 1200, entity: SESSION_QUEUE });
  const first = await runPublishCycle(deps, { inFlight });
  expect(first.markError).toContain('503');
  expect((await rowByMessageId(h, 'partial-1')).nextAttemptOn).toBeUndefined();
  expect((await rowByMessageId(h, 'partial-2')).nextAttemptOn).toBeInstanceOf(Date);
  await enqueue('k-partial', 'partial-3');
  await new Promise((r) => setTimeout(r, 1300));
  // The first row is due again (its backoff was never written) and goes; the third must still wait for the second.
  await runPublishCycle(deps, { inFlight });
  expect((await rowByMessageId(h, 'partial-1')).status).toBe(OutboxStatus.Published);
  expect((await rowByMessageId(h, 'partial-3')).status).toBe(OutboxStatus.Pending);
  expect(await publishRestAndReceive(deps, inFlight, 'k-partial', ['partial-1', 'partial-2', 'partial-3'])).toEqual(['partial-1', 'partial-2', 'partial-3']);
  await lease.release();
  await sender.close();
}, 60_000);

it('a later row waits for a row whose backoff write was lost while its key is left out of the publish query', async () => {
  // Same window with the key inside the exclusion bound: the second row's hold is not written at all, the first row's
  // backoff is lost, and a third row commits. The key stays out of the query until the first row's backoff (kept in
  // memory) ends; then the three go in obx_sequence order.
  await enqueue('k-excluded', 'excluded-1');
  await enqueue('k-excluded', 'excluded-2');
  const firstRowId = (await rowByMessageId(h, 'excluded-1')).id;
  let partial = true;
  const store = storeWithApplyUpdates(h, async (updates, options) => {
    if (!partial || !updates.some((u) => u.id === firstRowId)) return h.store.applyUpdates(updates, options);
    partial = false;
    await h.store.applyUpdates(updates.filter((u) => u.id !== firstRowId), options);
    throw new Error('Dataverse answered 503 for 1 of the $batch requests');
  });
  const { deps, sender, lease } = cycleDeps(store, 'order-excluded');
  const inFlight = new Set<string>();
  h.sb.refuseAttaches({ durationInMs: 1200, entity: SESSION_QUEUE });
  const first = await runPublishCycle(deps, { inFlight });
  expect({ retrying: first.retrying, held: first.held, markError: first.markError }).toEqual({ retrying: 1, held: 1, markError: expect.stringContaining('503') });
  expect((await rowByMessageId(h, 'excluded-1')).nextAttemptOn).toBeUndefined();
  expect((await rowByMessageId(h, 'excluded-2')).nextAttemptOn).toBeUndefined(); // the hold costs no write
  await enqueue('k-excluded', 'excluded-3');
  await new Promise((r) => setTimeout(r, 1300));
  const second = await runPublishCycle(deps, { inFlight });
  expect(second.read).toBe(0); // the key is left out while its first row backs off (4 s)
  expect(await publishRestAndReceive(deps, inFlight, 'k-excluded', ['excluded-1', 'excluded-2', 'excluded-3'])).toEqual(['excluded-1', 'excluded-2', 'excluded-3']);
  await lease.release();
  await sender.close();
}, 60_000);

it('a row whose write lands while the next read runs is not sent a second time', async () => {
  // Found by the partition-count change test on a queue without duplicate detection: a cycle's read may see a row still
  // Pending while the earlier cycle's write of it lands; the row then had already left `inFlight`.
  await enqueue('k-race', 'race-1');
  let releaseMark!: () => void;
  const markGate = new Promise<void>((resolve) => (releaseMark = resolve));
  const gated = storeWithApplyUpdates(h, async (updates, options) => {
    await markGate;
    return h.store.applyUpdates(updates, options);
  });
  let first: Awaited<ReturnType<typeof runPublishCycle>> | undefined;
  const store = Object.create(gated) as OutboxStorePort;
  store.readDue = async (query, options) => {
    const rows = await h.store.readDue(query, options);
    if (first) {
      // The read has its rows (race-1 still Pending); now the first cycle's write lands and clears its in-flight mark.
      releaseMark();
      await first.marked;
    }
    return rows;
  };
  const { deps, sender, lease } = cycleDeps(store, 'mark-during-read');
  const inFlight = new Set<string>();
  first = await runPublishCycle(deps, { inFlight, deferMarks: true });
  expect(first.published).toBe(1);
  const second = await runPublishCycle(deps, { inFlight, deferMarks: true });
  await second.marked;
  expect(second.published).toBe(0);
  expect((await rowByMessageId(h, 'race-1')).status).toBe(OutboxStatus.Published);
  await lease.release();
  await sender.close();
}, 30_000);
