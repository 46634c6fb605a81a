// Issue 20 item 2: acknowledgements are applied in batches closed by size or by time. A batch of N acks costs one read
// per 50 ids and one $batch write (counted by the Dataverse emulator), and a batch smaller than the size limit is
// written once its delay is over, not after the idle wait. Against both emulators over real sockets.
import { AckListener, DataverseClient, DataverseOutboxStore, type AckListenerOptions, type OutboxStorePort } from '../../src';
import { ackedCount, ackOf, ackQueueEmpty, publishedRows, sendAcks } from '../support/acks';
import { ACK_QUEUE, eventually, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

/** The listener's own application user, so the emulator counts its requests apart from the test's checks. */
const LISTENER_USER = 'ack-listener-app';

/** The listener's store (its own user), recording each bulk write (rows, and when it returned). */
function recordingStore(): { store: OutboxStorePort; writes: { rows: number; at: number }[]; close(): Promise<void> } {
  const client = new DataverseClient(h.dv.url, { token: LISTENER_USER }, { retryOptions: { retryDelayInMs: 50, maxRetries: 8, timeoutInMs: 15_000 } });
  const inner = new DataverseOutboxStore(client);
  const writes: { rows: number; at: number }[] = [];
  const store: OutboxStorePort = {
    readDue: (q, o) => inner.readDue(q, o),
    readBackingOff: (n, o) => inner.readBackingOff(n, o),
    readByIds: (ids, o) => inner.readByIds(ids, o),
    async applyUpdates(updates, o) {
      const r = await inner.applyUpdates(updates, o);
      writes.push({ rows: updates.length, at: performance.now() });
      return r;
    },
  };
  return { store, writes, close: () => client.close() };
}

/** The listener user's requests as the emulator counted them: reads of the outbox table and $batch writes. */
function listenerRequests(): { reads: number; batches: number; total: number } {
  const c = h.dv.getRequestCounters().users[LISTENER_USER];
  return { reads: c?.byOperation['GET obx_outboxmessages'] ?? 0, batches: c?.byOperation['POST $batch'] ?? 0, total: c?.requests ?? 0 };
}

async function allAcked(prefix: string, count: number): Promise<boolean> {
  return (await ackedCount(h, prefix)) === count;
}

async function withListener(recording: ReturnType<typeof recordingStore>, options: AckListenerOptions, body: () => Promise<void>): Promise<void> {
  const listener = new AckListener(h.serviceBus, recording.store, ACK_QUEUE, options);
  listener.start();
  try {
    await body();
  } finally {
    await listener.close();
    await recording.close();
  }
}

it('a batch of 120 acks is written with one read per 50 ids and one $batch, not a request per ack', async () => {
  const rows = await publishedRows(h, 'bulk', 120);
  await sendAcks(h.serviceBus, rows.map(ackOf));
  const recording = recordingStore();
  const { writes } = recording;
  const before = listenerRequests();
  // A delay long enough for all 120 to join the first batch.
  await withListener(recording, { maxMessageCount: 250, maxBatchDelayInMs: 3000, maxConcurrentBatches: 1 }, async () => {
    await eventually(async () => ((await allAcked('bulk', 120)) && ackQueueEmpty(h.sb)) || undefined, 'every ack applied and completed', 30_000, 100);
  });
  const after = listenerRequests();
  expect(writes.map((w) => w.rows)).toEqual([120]);
  // 3 reads by id (50 + 50 + 20) and 1 $batch; nothing else.
  expect(after.batches - before.batches).toBe(1);
  expect(after.reads - before.reads).toBe(3);
  expect(after.total - before.total).toBe(4);
});

it('a batch smaller than the size limit is written when its delay is over: acks arriving one by one within the delay share one read and one write', async () => {
  const rows = await publishedRows(h, 'timed', 5);
  const recording = recordingStore();
  const { writes } = recording;
  let firstSent = 0;
  // The idle wait is far longer than the test: only the batch delay can close this batch of 5 (limit 250).
  await withListener(recording, { maxMessageCount: 250, maxBatchDelayInMs: 1500, maxWaitTimeInMs: 60_000, maxConcurrentBatches: 1 }, async () => {
    await new Promise((r) => setTimeout(r, 300)); // the listener is waiting for its first ack
    const before = listenerRequests();
    for (const [i, r] of rows.entries()) {
      await sendAcks(h.serviceBus, [ackOf(r)]);
      if (i === 0) firstSent = performance.now();
      await new Promise((res) => setTimeout(res, 150));
    }
    await eventually(async () => writes.length > 0 || undefined, 'the batch written', 20_000, 20);
    const after = listenerRequests();
    expect(after.batches - before.batches).toBe(1);
    expect(after.reads - before.reads).toBe(1);
    await eventually(async () => ((await allAcked('timed', 5)) && ackQueueEmpty(h.sb)) || undefined, 'every ack applied and completed', 10_000, 100);
  });
  expect(writes.map((w) => w.rows)).toEqual([5]);
  // Written after the delay (the batch waited for the acks that followed the first), long before the idle wait.
  expect(writes[0]!.at - firstSent).toBeGreaterThanOrEqual(1400);
  expect(writes[0]!.at - firstSent).toBeLessThan(20_000);
});

it('full batches are written at once, without waiting for the delay; the remainder when its delay is over', async () => {
  const rows = await publishedRows(h, 'sized', 25);
  await sendAcks(h.serviceBus, rows.map(ackOf));
  const recording = recordingStore();
  const { writes } = recording;
  const started = performance.now();
  await withListener(recording, { maxMessageCount: 10, maxBatchDelayInMs: 8000, maxConcurrentBatches: 4 }, async () => {
    await eventually(async () => ((await allAcked('sized', 25)) && ackQueueEmpty(h.sb)) || undefined, 'every ack applied and completed', 30_000, 100);
  });
  expect(writes.map((w) => w.rows)).toEqual([10, 10, 5]);
  // The two full batches did not wait for the 8 s delay; the last one (5 of 10) did.
  expect(Math.max(writes[0]!.at, writes[1]!.at) - started).toBeLessThan(8000);
  expect(writes[2]!.at - started).toBeGreaterThanOrEqual(7900);
}, 60_000);

it('refuses a negative batch delay', () => {
  expect(() => new AckListener(h.serviceBus, h.store, ACK_QUEUE, { maxBatchDelayInMs: -1 })).toThrow(RangeError);
});
