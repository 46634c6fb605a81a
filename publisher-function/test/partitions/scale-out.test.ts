// Partitioned publishing through real parts: both emulators over sockets, the official Service Bus SDK as consumer,
// publisher workers as separate processes (kill -9 is a real crash) and in-process publishers for a live change of the
// partition count. What must hold: every row published, order per key at the consumer, no row sent twice by a
// hand-over, partitions moving within one lease period after a crash, and each partition under its own application user.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { OutboxMessage, OutboxStatus, partitionOfSlot, partitionSlotOfRow, Settings } from '@dataverse-outbox/contract';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { buildEmulatorConfig, startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { OutboxWriter } from '@dataverse-outbox/producer';
import { createJsonLogger, createPartitionedPublisher, DataverseClient, DataverseLeaseStore, DataverseOutboxStore, type PartitionedPublisher, type PartitionedPublisherOptions } from '../../src';
import { classifyLease, isLive } from '../../src/core/partitions';
import { bySession, drainSessions, setEnvironmentValue } from '../changetracking/support';
import { eventually } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');
/** Session queue with duplicate detection (a crash between send and mark resends; Service Bus drops the copy). */
const DEDUP_QUEUE = 'by-key';
/** Session queue without it: a message sent twice arrives twice, so a hand-over that resends is seen. */
const RAW_QUEUE = 'by-key-raw';
const C = OutboxMessage.columns;
const step = (what: string): void => void process.stdout.write(`[scale-out ${new Date().toISOString().slice(11, 23)}] ${what}\n`);

let dv: DataverseEmulator;
let sb: ServiceBusEmulator;
let admin: DataverseClient;
let writer: OutboxWriter;
let producerClient: DataverseClient;
let serviceBus: ServiceBusClient;
const children: ChildProcess[] = [];
const publishers: PartitionedPublisher[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  sb = await startServiceBusEmulator({
    port: 0,
    config: buildEmulatorConfig({
      queues: [
        { name: DEDUP_QUEUE, requiresSession: true, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 600_000 },
        { name: RAW_QUEUE, requiresSession: true },
      ],
    }),
  });
  admin = new DataverseClient(dv.url, { token: 'test-admin' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 8 } });
  producerClient = new DataverseClient(dv.url, { token: 'producer-app' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 8 } });
  writer = new OutboxWriter(producerClient);
  serviceBus = new ServiceBusClient(sb.connectionString);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const p of publishers) await p.close().catch(() => undefined);
  await serviceBus?.close();
  await admin?.close();
  await producerClient?.close();
  await sb?.close();
  await dv?.close();
});

const appSettings = (queue: string): Record<string, string> => ({ OUTBOX_ALLOWED_TARGETS: JSON.stringify([queue]), OUTBOX_ACK_QUEUE: '' });

/** `perKey` rows for each of `keys` keys, one transaction per round so a key's rows commit in order. */
async function produce(queue: string, prefix: string, keys: number, perKey: number, from = 0): Promise<void> {
  for (let n = from; n < from + perKey; n++) {
    await writer.transaction((tx) => {
      for (let k = 0; k < keys; k++) tx.enqueue({ target: queue, sessionKey: `${prefix}-k${k}`, payload: { k, n }, messageId: `${prefix}-k${k}-${n}` });
    });
  }
}

/** Rows written the way a plug-in or a flow writes them: no partition slot. */
async function produceUnaware(queue: string, prefix: string, keys: number, perKey: number): Promise<void> {
  for (let n = 0; n < perKey; n++) {
    for (let k = 0; k < keys; k++) {
      await producerClient.create(OutboxMessage.entitySetName, { [C.messageId]: `${prefix}-u${k}-${n}`, [C.name]: 'unaware', [C.target]: queue, [C.sessionKey]: `${prefix}-u${k}`, [C.payload]: JSON.stringify({ k, n }) });
    }
  }
}

async function pendingCount(): Promise<number> {
  return (await new DataverseOutboxStore(admin).query({ statuses: [OutboxStatus.Pending] })).length;
}

/**
 * Receives each expected session's messages (by session id: quicker than waiting for acceptNextSession to time out),
 * until its count arrived, then looks a little longer for anything extra (a row sent twice).
 */
async function receiveSessions(queue: string, expectedPerKey: ReadonlyMap<string, number>): Promise<ServiceBusReceivedMessage[]> {
  const all: ServiceBusReceivedMessage[] = [];
  for (const [key, count] of expectedPerKey) {
    const receiver = await serviceBus.acceptSession(queue, key, { receiveMode: 'receiveAndDelete', maxAutoLockRenewalDurationInMs: 0 });
    try {
      let got = 0;
      for (let idle = 0; idle < 3; ) {
        const batch = await receiver.receiveMessages(100, { maxWaitTimeInMs: got < count ? 1000 : 200 });
        all.push(...batch);
        got += batch.length;
        idle = batch.length === 0 ? idle + 1 : 0;
        if (got >= count && batch.length === 0) break;
      }
    } finally {
      await receiver.close();
    }
  }
  return all;
}

/** Every session's messages in order, each key's payload counter n going 0, 1, 2, ... with no gap and no repeat. */
function expectOrderedPerKey(messages: readonly ServiceBusReceivedMessage[], expectedPerKey: Map<string, number>): void {
  const sessions = bySession(messages);
  expect([...sessions.keys()].sort()).toEqual([...expectedPerKey.keys()].sort());
  for (const [key, list] of sessions) {
    const ns = list.map((m) => (m.body as { n: number }).n);
    expect({ key, ns }).toEqual({ key, ns: Array.from({ length: expectedPerKey.get(key)! }, (_, i) => i) });
  }
}

/** A publisher in this process on RAW_QUEUE with short waits, closed after the tests. */
function inProcessPublisher(scope: string, options: Partial<PartitionedPublisherOptions>): PartitionedPublisher {
  const p = createPartitionedPublisher({
    dataverse: new DataverseClient(dv.url, { token: 'publisher-app' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 8 } }),
    serviceBus,
    scope,
    appSettings: appSettings(RAW_QUEUE),
    standbyPollInMs: 300,
    polling: { minIntervalInMs: 20, maxIntervalInMs: 200 },
    ackListener: false,
    deadLetterMonitorIntervalInMs: 0,
    pendingAgeIntervalInMs: 0,
    ...options,
  });
  publishers.push(p);
  return p;
}

async function liveLeases(scope: string): Promise<Array<{ index: number; count: number; owner: string }>> {
  const now = new Date();
  return (await new DataverseLeaseStore(admin).listScope(scope)).flatMap((l) => {
    const c = classifyLease(scope, l);
    return c?.kind === 'partition' && isLive(c, now) ? [{ ...c.partition, owner: c.owner! }] : [];
  });
}

function worker(scope: string, extra: Record<string, string>): { child: ChildProcess; owner: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(ROOT, 'src', 'worker.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATAVERSE_URL: dv.url,
      DATAVERSE_TOKEN: 'publisher-app',
      SERVICEBUS_CONNECTION_STRING: sb.connectionString,
      OUTBOX_SCOPE: scope,
      ...extra,
    },
  });
  children.push(child);
  let out = '';
  // The worker logs one JSON line per event on stderr; its owner name is in "publisher started".
  const owner = new Promise<string>((resolve, reject) => {
    const read = (d: Buffer): void => {
      out += d.toString();
      const m = /"message":"publisher started"[^\n]*"owner":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stderr!.on('data', read);
    child.stdout!.on('data', read);
    child.on('exit', (code) => reject(new Error(`worker exited (${code}): ${out.slice(-2000)}`)));
  });
  return { child, owner, output: () => out };
}

describe('partitioned publishing', () => {
  it('writers store the slot of the key; rows without one are published by partition 0, in order with their key', async () => {
    await produce(DEDUP_QUEUE, 'slot', 3, 1);
    const rows = await new DataverseOutboxStore(admin).query({});
    const raw = await admin.retrieveMultiple(OutboxMessage.entitySetName, { select: [C.id, C.sessionKey, C.partitionSlot], filter: `startswith(${C.messageId},'slot-')` });
    expect(raw.value).toHaveLength(3);
    for (const r of raw.value) expect(r[C.partitionSlot]).toBe(partitionSlotOfRow({ sessionKey: r[C.sessionKey] as string, rowId: String(r[C.id]) }));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    // Published by the in-process run of the next test together with the rest.
  });

  it('three worker processes share 4 partitions, each under its own application user; kill -9 of one moves its partitions within one lease period; nothing lost, order per key', async () => {
    const scope = 'crash';
    const leaseSeconds = 5;
    const env = {
      ...appSettings(DEDUP_QUEUE),
      OUTBOX_PARTITION_COUNT: '4',
      OUTBOX_LEASE_DURATION_SECONDS: String(leaseSeconds),
      OUTBOX_STANDBY_POLL_SECONDS: '1',
      DATAVERSE_PARTITION_TOKENS: 'partition-user-0,partition-user-1,partition-user-2,partition-user-3',
    };
    const workers = [worker(scope, env), worker(scope, env), worker(scope, env)];
    const owners = await Promise.all(workers.map((w) => w.owner));
    step(`workers started: ${owners.join(', ')}`);
    // Balanced: 4 partitions held, every worker holds at least one (a 2-1-1 split).
    const spread = await eventually(async () => {
      const live = await liveLeases(scope);
      const per = owners.map((o) => live.filter((l) => l.count === 4 && l.owner === o).length);
      return live.length === 4 && per.every((n) => n >= 1) ? per : undefined;
    }, 'every worker holds a partition', 30_000, 200);
    expect(spread.reduce((a, b) => a + b, 0)).toBe(4);
    step(`balanced: ${spread.join('-')}`);

    // Load while the crash happens: keyed rows from the partition-aware writer and rows from an unaware producer.
    const load = (async () => {
      await produce(DEDUP_QUEUE, 'crash', 12, 10);
      await produceUnaware(DEDUP_QUEUE, 'crash', 3, 4);
      await produce(DEDUP_QUEUE, 'crash', 12, 10, 10);
    })();
    await eventually(async () => (await new DataverseOutboxStore(admin).query({ statuses: [OutboxStatus.Published] })).length > 40, 'publishing under way', 30_000, 100);

    const victimIndex = spread.indexOf(Math.max(...spread));
    const victimOwner = owners[victimIndex]!;
    const victimPartitions = (await liveLeases(scope)).filter((l) => l.owner === victimOwner).map((l) => l.index);
    const killedAt = Date.now();
    workers[victimIndex]!.child.kill('SIGKILL');
    const movedAfterMs = await eventually(async () => {
      const live = await liveLeases(scope);
      const moved = victimPartitions.every((i) => live.some((l) => l.index === i && l.count === 4 && l.owner !== victimOwner));
      return moved ? Date.now() - killedAt : undefined;
    }, 'the dead worker\'s partitions taken over', 60_000, 100);
    // A lease is renewed when half of it is left, so it ends at most one duration after the crash; the survivors
    // notice within a standby poll and take it in the next round.
    process.stdout.write(`kill -9 of a worker holding partitions ${victimPartitions.join(',')}: moved after ${movedAfterMs} ms (lease ${leaseSeconds} s)\n`);
    expect(movedAfterMs).toBeLessThanOrEqual(leaseSeconds * 1000 + 1000 + 2500);

    await load;
    step('load written');
    await eventually(async () => (await pendingCount()) === 0, 'everything published', 90_000, 300);
    step('drained');
    const expected = new Map<string, number>();
    for (let k = 0; k < 12; k++) expected.set(`crash-k${k}`, 20);
    for (let k = 0; k < 3; k++) expected.set(`crash-u${k}`, 4);
    const messages = await receiveSessions(DEDUP_QUEUE, expected);
    step(`received ${messages.length}`);
    expectOrderedPerKey(messages, expected);

    // Each partition wrote under its own user: the rows of partition i were last written by partition-user-i's row.
    const published = await admin.retrieveMultiple(OutboxMessage.entitySetName, { select: [C.id, C.sessionKey, C.partitionSlot, '_modifiedby_value'], filter: `startswith(${C.messageId},'crash-')` });
    const userOf = new Map<number, Set<string>>();
    for (const r of published.value) {
      const slot = typeof r[C.partitionSlot] === 'number' ? (r[C.partitionSlot] as number) : undefined;
      const partition = slot === undefined ? 0 : partitionOfSlot(slot, 4);
      const users = userOf.get(partition) ?? new Set<string>();
      users.add(String(r._modifiedby_value));
      userOf.set(partition, users);
    }
    expect([...userOf.keys()].sort()).toEqual([0, 1, 2, 3]);
    const allUsers = new Set([...userOf.values()].flatMap((s) => [...s]));
    for (const users of userOf.values()) expect(users.size).toBe(1);
    expect(allUsers.size).toBe(4);
    step('stopping the workers');
    // A graceful stop: each survivor finishes its batches, gives its leases back and exits 0.
    const codes = await Promise.all(
      workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).map(
        (w) =>
          new Promise<number | null>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`worker did not stop within 20 s:\n${w.output().slice(-3000)}`)), 20_000);
            w.child.once('exit', (code) => {
              clearTimeout(t);
              resolve(code);
            });
            w.child.kill('SIGTERM');
          }),
      ),
    );
    expect(codes).toEqual([0, 0]);
    expect(await liveLeases(scope)).toEqual([]);
  }, 240_000);

  it('changing the partition count on a live system (1 -> 4 -> 2) sends no row twice and strands none; order per key holds', async () => {
    const scope = 'resize';
    let instance = 0;
    const start = (): PartitionedPublisher =>
      inProcessPublisher(scope, {
        // Kept in memory and printed when the test fails: which instance sent what, and when it took which lease.
        logger: createJsonLogger({ level: 'debug', base: { i: `i${instance++}` }, write: (line) => logLines.push(line) }),
        leaseDurationInMs: 5000,
        settingsRefreshIntervalInMs: 500,
      });
    const [a, b] = [start(), start()];
    await Promise.all([a.start(), b.start()]);
    let round = 0;
    let producing = true;
    const load = (async () => {
      while (producing) await produce(RAW_QUEUE, 'resize', 8, 1, round++);
    })();
    // One value row per setting, as Dataverse keeps it: the first change creates it, later ones update it (a second
    // value row would leave which one the publisher reads to chance).
    let valueId: string | undefined;
    const setCount = async (n: number): Promise<void> => {
      if (valueId) return void (await admin.update('environmentvariablevalues', valueId, { value: String(n) }));
      await setEnvironmentValue(admin, Settings.PartitionCount.schemaName, String(n));
      const page = await admin.retrieveMultiple('environmentvariablevalues', { select: ['environmentvariablevalueid'], filter: `schemaname eq '${Settings.PartitionCount.schemaName}'` });
      expect(page.value).toHaveLength(1);
      valueId = String(page.value[0]!.environmentvariablevalueid);
    };
    const countsLive = async (count: number, n: number): Promise<boolean> => (await liveLeases(scope)).filter((l) => l.count === count).length === n;

    try {
      await eventually(async () => countsLive(1, 1), 'one publisher of the whole scope', 20_000, 100);
      await new Promise((r) => setTimeout(r, 1000));
      await setCount(4);
      await eventually(async () => (await countsLive(4, 4)) && !(await countsLive(1, 1)), 'four partitions', 60_000, 100);
      await new Promise((r) => setTimeout(r, 1500));
      await setCount(2);
      await eventually(async () => (await countsLive(2, 2)) && (await liveLeases(scope)).every((l) => l.count === 2), 'two partitions', 60_000, 100);
      await new Promise((r) => setTimeout(r, 1000));
    } catch (e) {
      // Which instance waited for what: the balancer's and the lanes' lines, and the leases as they are now.
      process.stdout.write(`${logLines.filter((l) => !l.includes('"debug"')).join('\n').slice(-20_000)}\nleases: ${JSON.stringify(await new DataverseLeaseStore(admin).listScope(scope))}\n`);
      throw e;
    } finally {
      producing = false;
      await load;
    }
    await eventually(async () => (await pendingCount()) === 0, 'everything published', 60_000, 200);

    const expected = new Map<string, number>();
    for (let k = 0; k < 8; k++) expected.set(`resize-k${k}`, round);
    expect(round).toBeGreaterThan(5);
    const messages = await receiveSessions(RAW_QUEUE, expected);
    // Nothing else is on the queue (every session's messages were expected).
    expect(await drainSessions(serviceBus, RAW_QUEUE)).toEqual([]);
    // No duplicate detection on this queue: a row sent by two partitions would arrive twice and fail this.
    try {
      expectOrderedPerKey(messages, expected);
    } catch (e) {
      process.stdout.write(logLines.filter((l) => !l.includes('"debug"')).join('\n').slice(-20_000));
      throw e;
    }
    expect(a.heldPartitions.length + b.heldPartitions.length).toBe(2);
    // Scopes do not split rows: a publisher left running would publish the next test's rows too.
    await Promise.all([a.close(), b.close()]);
  }, 180_000);

  it('the Functions timer (runFor) shares partitions too: two instances, 2 partitions, one invocation each', async () => {
    // Publishers of an earlier test (scopes do not split rows) would publish these rows too.
    await Promise.all(publishers.splice(0).map((p) => p.close()));
    const scope = 'functions';
    const make = (): PartitionedPublisher => inProcessPublisher(scope, { appSettings: { ...appSettings(RAW_QUEUE), OUTBOX_PARTITION_COUNT: '2' }, leaseDurationInMs: 10_000 });
    await produce(RAW_QUEUE, 'timer', 6, 5);
    const [a, b] = [make(), make()];
    const [ra, rb] = await Promise.all([a.runFor(4000, { untilDeadline: true }), b.runFor(4000, { untilDeadline: true })]);
    expect(ra.outcome).not.toBe('error');
    expect(rb.outcome).not.toBe('error');
    expect(ra.published + rb.published).toBe(30);
    expect(await pendingCount()).toBe(0);
    // Each instance ended its invocation holding one of the two partitions.
    expect([a.heldPartitions.length, b.heldPartitions.length]).toEqual([1, 1]);
    const expected = new Map<string, number>();
    for (let k = 0; k < 6; k++) expected.set(`timer-k${k}`, 5);
    expectOrderedPerKey(await receiveSessions(RAW_QUEUE, expected), expected);
  }, 60_000);
});
