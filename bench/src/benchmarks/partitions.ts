// Partition scaling (issue #20): sustained publish throughput with 1, 2 and 4 partitions, each partition under its own
// application user, in one run, on the emulators with the realistic latency profile and per-user service protection
// limits; acknowledgements flow during the run under their own application users. Every message of the run is
// consumed from a session queue and checked: per key the payload counters arrive 0, 1, 2, ... with no gap and no repeat.
// Each user's requests and execution time are set against its budget (is Dataverse still the bound?), and every
// process's CPU is sampled (is the 2-core machine the bound instead?). The publishers run in the benchmark's process
// (one instance holding every partition) and, as a second series, as worker processes (one partition each).
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { OutboxMessage, OutboxStatus, partitionSlotOfKey, partitionSlotRange, Settings } from '@dataverse-outbox/contract';
import { DATAVERSE_LIMITS, REALISTIC_LATENCY, scaledDataverseLimits, type ServiceProtectionLimits } from '@dataverse-outbox/emulators/dataverse';
import type { RequestCounters } from '@dataverse-outbox/emulators/admin';
import { buildEmulatorConfig } from '@dataverse-outbox/emulators/servicebus';
import { AckListener, createPartitionedPublisher, DataverseClient, DataverseOutboxStore, type EntityRecord } from '@dataverse-outbox/publisher-function';
import { barChart } from '../report/svg';
import { defineBenchmark, type BenchContext } from '../suite/types';
import { cpuBetween, CpuSampler, waitForQuiet, type CpuSample, type CpuUse } from '../support/cpu';
import { HostedDataverse, HostedServiceBus, userCounters } from '../support/emulators';
import { StoreObserver } from '../support/observer';
import { repoRoot, spawnTs, stopChild, tail } from '../support/processes';
import { outboxRecord, round, samplePayload, SEED_BATCH } from '../support/seed';
import { tapServiceBusClient } from '../support/sendTap';
import { batchedCost, ceilingOf } from '../support/ceiling';
import { VerifyingSessionConsumer, type KeyCheck } from '../support/sessionConsumer';

type Sizes = {
  /** Backlog per partition at the start of each step (the publisher is the bound while it lasts). */
  rowsPerPartition: number;
  /** Ordering keys per partition (sessions), all with the same number of rows. */
  keysPerPartition: number;
  /** Service protection window scale (1 = Dataverse's 5 minutes; smaller: the same rates over a shorter window). */
  windowFactor: number;
  /** 1: also run the series with one worker process per partition. */
  workerSeries: number;
  /** Longest wait before each step for other work on the machine to calm down (0: no wait). */
  quietWaitSeconds: number;
  /** Runs of a step at most: one disturbed by other work (over QUIET_MAX_OTHERS cores in its window) is run again. */
  attempts: number;
};

export type Hosting = 'one process' | 'worker processes';

const PARTITION_COUNTS = [1, 2, 4] as const;
const MAX_PARTITIONS = 4;
const QUEUE = 'orders-by-key';
const ACK_QUEUE = 'outbox-acks';
/** Instance identity (settings, leases, membership) of the in-process publisher. */
const INSTANCE_TOKEN = 'outbox-instance-app';
const partitionToken = (i: number): string => `outbox-partition-${i}-app`;
const ackToken = (i: number): string => `outbox-acks-${i}-app`;
const PRODUCER_TOKEN = 'producer-app';
/** Short leases so a partition that loses a start-up race is retried within seconds (as the acceptance test does). */
const LEASE_SECONDS = 10;
const STANDBY_POLL_SECONDS = 1;
/** The steady window: from when every partition has published this share of its backlog until the first has this much left. */
const WINDOW_EDGE = 0.05;
const TARGET_RATIO = 0.85;
/** A step starts once other work on the machine used at most this many cores over QUIET_SLICE_MS (or the wait ran out). */
const QUIET_MAX_OTHERS = 0.3;
const QUIET_SLICE_MS = 2000;

export interface UserUse {
  user: string;
  role: 'partition' | 'acknowledgements' | 'instance';
  requests: number;
  executionMs: number;
  /** Over the steady window. */
  requestsPerSecond: number;
  executionMsPerSecond: number;
  /** Share of the sustained budget (requests: maxRequests per window; execution: maxExecutionMs per window). */
  requestShare: number;
  executionShare: number;
  /** 429s over the whole step. */
  throttled: number;
}

export interface PartitionStep {
  hosting: Hosting;
  partitions: number;
  rows: number;
  keys: number;
  /** 'steady': every partition publishing; 'whole run': too short for a steady window (quick sizes). */
  windowKind: 'steady' | 'whole run';
  windowSeconds: number;
  publishedInWindow: number;
  messagesPerSecond: number;
  /** Each partition's rate over the window. */
  perPartition: number[];
  /** From the publisher's start until every partition had published something / until everything was published. */
  firstPublishSeconds: number;
  drainSeconds: number;
  /** Until every acknowledgement was recorded in Dataverse (from the publisher's start). */
  ackedSeconds: number;
  /** Earlier runs of this step set aside because other work on the machine disturbed them (their msg/s and its cores). */
  discarded: { messagesPerSecond: number; others?: number }[];
  /** Before the step: how long it waited for a quiet machine, and the other work's cores when it started. */
  quiet: { waitedSeconds: number; othersAtStart?: number };
  /** Messages the in-process publisher handed to Service Bus (a row sent twice would show here; worker series: n/a). */
  sends?: number;
  users: UserUse[];
  cpu: CpuUse;
  check: KeyCheck;
  /** messagesPerSecond / (partitions x the single partition's messagesPerSecond), same series, same run. */
  ratio: number;
}

export interface PartitionsData {
  latency: typeof REALISTIC_LATENCY;
  limits: ServiceProtectionLimits;
  windowFactor: number;
  batchSize: number;
  cores: number;
  /** The latency model's cost of a message to its partition's user, and what one user's limits allow (support/ceiling). */
  model: { executionMsPerMessage: number; requestsPerMessage: number; ceilingPerUser: number; binding: string };
  steps: PartitionStep[];
  /** Every message of every step: order per key and each exactly once. */
  allChecked: { messages: number; keys: number; ok: boolean };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `perPartition` keys whose slots fall in each quarter of the slot space: balanced for 1, 2 and 4 partitions alike. */
export function balancedKeys(prefix: string, perPartition: number): string[] {
  const buckets: string[][] = Array.from({ length: MAX_PARTITIONS }, () => []);
  for (let j = 0; buckets.some((b) => b.length < perPartition); j++) {
    const key = `${prefix}-k${j}`;
    const slot = partitionSlotOfKey(key);
    const q = Array.from({ length: MAX_PARTITIONS }, (_, p) => p).find((p) => slot < partitionSlotRange(p, MAX_PARTITIONS).to)!;
    if (buckets[q]!.length < perPartition) buckets[q]!.push(key);
  }
  return buckets.flat();
}

/** Rows round by round (every key's counter n, then n + 1), one CreateMultiple at a time: each key's rows in order. */
async function seedKeyed(client: DataverseClient, keys: readonly string[], perKey: number): Promise<void> {
  let records: EntityRecord[] = [];
  const flush = async (): Promise<void> => {
    if (records.length === 0) return;
    await client.createMultiple(OutboxMessage.entitySetName, OutboxMessage.logicalName, records);
    records = [];
  };
  let i = 0;
  for (let n = 0; n < perKey; n++) {
    for (const key of keys) {
      const rec = outboxRecord(key, n, OutboxStatus.Pending);
      rec[OutboxMessage.columns.sessionKey] = key;
      rec[OutboxMessage.columns.partitionSlot] = partitionSlotOfKey(key);
      rec[OutboxMessage.columns.target] = QUEUE;
      rec[OutboxMessage.columns.payload] = JSON.stringify({ key, n, order: JSON.parse(samplePayload(i++)) as unknown });
      records.push(rec);
      if (records.length >= SEED_BATCH) await flush();
    }
  }
  await flush();
}

interface Sample {
  at: number;
  published: number[];
  acked: number;
  counters: RequestCounters;
  cpu: CpuSample;
}

interface Running {
  stop(): Promise<void>;
  sends?: () => number;
}

function baseEnv(dv: HostedDataverse, sb: HostedServiceBus, scope: string, partitions: number): Record<string, string> {
  return {
    DATAVERSE_URL: dv.url,
    SERVICEBUS_CONNECTION_STRING: sb.connectionString,
    OUTBOX_SCOPE: scope,
    [Settings.AllowedTargets.appSetting]: JSON.stringify([QUEUE]),
    [Settings.AckQueue.appSetting]: ACK_QUEUE,
    [Settings.PartitionCount.appSetting]: String(partitions),
    OUTBOX_LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
    OUTBOX_STANDBY_POLL_SECONDS: String(STANDBY_POLL_SECONDS),
    DATAVERSE_PARTITION_TOKENS: Array.from({ length: partitions }, (_, i) => partitionToken(i)).join(','),
  };
}

/** One publisher instance in this process holding every partition, and one acknowledgement listener per partition. */
async function startInProcess(dv: HostedDataverse, sb: HostedServiceBus, scope: string, partitions: number): Promise<Running> {
  const env = baseEnv(dv, sb, scope, partitions);
  const serviceBus = new ServiceBusClient(sb.connectionString);
  const sent = { n: 0 };
  const tapped = tapServiceBusClient(serviceBus, (ids) => void (sent.n += ids.length));
  const instance = new DataverseClient(dv.url, { token: INSTANCE_TOKEN });
  const clients = Array.from({ length: partitions }, (_, i) => new DataverseClient(dv.url, { token: partitionToken(i) }));
  const publisher = createPartitionedPublisher({
    dataverse: instance,
    serviceBus: tapped,
    scope,
    appSettings: env,
    partitionClients: { forPartition: (i) => clients[i % partitions]!, close: async () => void (await Promise.all(clients.map((c) => c.close()))) },
    leaseDurationInMs: LEASE_SECONDS * 1000,
    standbyPollInMs: STANDBY_POLL_SECONDS * 1000,
    // Acknowledgements run below under their own users, one listener per partition (the worker series does the same).
    ackListener: false,
  });
  const ackClients = Array.from({ length: partitions }, (_, i) => new DataverseClient(dv.url, { token: ackToken(i) }));
  const listeners = ackClients.map((c) => new AckListener(serviceBus, new DataverseOutboxStore(c), ACK_QUEUE));
  for (const l of listeners) l.start();
  await publisher.start();
  return {
    sends: () => sent.n,
    async stop() {
      // Together: each listener's close waits for its receive in hand.
      await Promise.all([publisher.close(), ...listeners.map((l) => l.close())]);
      for (const c of [instance, ...ackClients]) await c.close();
      await serviceBus.close();
    },
  };
}

/** One worker process (publisher-function/src/worker.ts, configured by app settings) per partition; each worker's own
 * identity (settings, leases, its acknowledgement listener) is an acknowledgement user. */
async function startWorkers(dv: HostedDataverse, sb: HostedServiceBus, scope: string, partitions: number, cpu: CpuSampler, log: (l: string) => void): Promise<Running> {
  const script = path.join(repoRoot, 'publisher-function', 'src', 'worker.ts');
  const children: { child: ChildProcess; name: string; stderr: ReturnType<typeof tail> }[] = [];
  const started: Promise<void>[] = [];
  for (let w = 0; w < partitions; w++) {
    const stderr = tail(40);
    let onStarted: () => void = () => undefined;
    started.push(new Promise<void>((resolve) => (onStarted = resolve)));
    const child = spawnTs(script, [], {
      env: { ...baseEnv(dv, sb, scope, partitions), DATAVERSE_TOKEN: ackToken(w), OUTBOX_MAX_PARTITIONS_PER_INSTANCE: '1' },
      onStderr: (l) => {
        stderr.push(l);
        if (l.includes('"publisher started"')) onStarted();
        if (process.env['BENCH_DEBUG']) log(`[worker ${w}] ${l}`);
      },
      onStdout: (l) => stderr.push(l),
    });
    const name = `worker ${w}`;
    children.push({ child, name, stderr });
    cpu.watch(name, child.pid);
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) log(`${name} exited with ${code}:\n${stderr.lines().join('\n')}`);
    });
  }
  const timeout = sleep(60_000).then(() => {
    throw new Error(`worker processes not started within 60 s:\n${children.map((c) => `${c.name}: ${c.stderr.lines().slice(-5).join('\n')}`).join('\n')}`);
  });
  await Promise.race([Promise.all(started), timeout]);
  return {
    async stop() {
      // SIGTERM: each finishes its batch in hand, gives its lease back and exits.
      await Promise.all(children.map((c) => stopChild(c.child, 30_000)));
      for (const c of children) cpu.forget(c.name);
    },
  };
}

function firstIndex(samples: readonly Sample[], test: (s: Sample) => boolean): number {
  return samples.findIndex(test);
}

function usersBetween(from: RequestCounters, to: RequestCounters, whole: RequestCounters, seconds: number, partitions: number, hosting: Hosting, limits: ServiceProtectionLimits): UserUse[] {
  const perSecondRequests = limits.maxRequests / (limits.windowMs / 1000);
  const perSecondExecution = limits.maxExecutionMs / (limits.windowMs / 1000);
  const users: { user: string; role: UserUse['role'] }[] = [
    ...Array.from({ length: partitions }, (_, i) => ({ user: partitionToken(i), role: 'partition' as const })),
    ...Array.from({ length: partitions }, (_, i) => ({ user: ackToken(i), role: 'acknowledgements' as const })),
    ...(hosting === 'one process' ? [{ user: INSTANCE_TOKEN, role: 'instance' as const }] : []),
  ];
  return users.map(({ user, role }) => {
    const a = userCounters(from, user);
    const b = userCounters(to, user);
    const requests = b.requests - a.requests;
    const executionMs = b.executionMs - a.executionMs;
    return {
      user,
      role,
      requests,
      executionMs: Math.round(executionMs),
      requestsPerSecond: round(requests / seconds, 2),
      executionMsPerSecond: Math.round(executionMs / seconds),
      requestShare: round(requests / seconds / perSecondRequests, 3),
      executionShare: round(executionMs / seconds / perSecondExecution, 3),
      throttled: userCounters(whole, user).throttled,
    };
  });
}

interface StepEnv {
  ctx: BenchContext;
  dv: HostedDataverse;
  sb: HostedServiceBus;
  observer: StoreObserver;
  producer: DataverseClient;
  consumer: VerifyingSessionConsumer;
  cpu: CpuSampler;
  limits: ServiceProtectionLimits;
  sizes: Sizes;
  pollMs: number;
}

async function runStep(e: StepEnv, hosting: Hosting, partitions: number, attempt: number): Promise<Omit<PartitionStep, 'ratio' | 'discarded'>> {
  const { ctx, dv, observer, sizes } = e;
  const tag = `${hosting === 'one process' ? 'inproc' : 'workers'}${attempt > 1 ? `-a${attempt}` : ''}`;
  // The same work per partition at every count: keysPerPartition keys of rowsPerPartition / keysPerPartition rows each.
  const stepKeys = balancedKeys(`${tag}-p${partitions}`, Math.max(1, Math.round((sizes.keysPerPartition * partitions) / MAX_PARTITIONS)));
  const perKey = Math.ceil((sizes.rowsPerPartition * partitions) / stepKeys.length);
  const rows = perKey * stepKeys.length;

  ctx.progress.phase(`partitions (${hosting}): ${partitions} partition(s), seeding ${rows.toLocaleString('en-US')} rows`, rows);
  // Seeding is set-up: latency and limits off, then both on (a fresh window per user) before anything is timed.
  await dv.setLimits('off');
  await dv.setLatency('off');
  await seedKeyed(e.producer, stepKeys, perKey);
  for (const k of stepKeys) e.consumer.expect(k, perKey);
  const perPartitionRows = new Array<number>(partitions).fill(0);
  for (const k of stepKeys) {
    const slot = partitionSlotOfKey(k);
    const p = Array.from({ length: partitions }, (_, i) => i).find((i) => slot < partitionSlotRange(i, partitions).to)!;
    perPartitionRows[p]! += perKey;
  }
  const ackedBefore = observer.countsByStatus()['Acked'] ?? 0;
  let quiet: PartitionStep['quiet'] = { waitedSeconds: 0 };
  if (sizes.quietWaitSeconds > 0) {
    ctx.progress.phase(`partitions (${hosting}): ${partitions} partition(s), waiting for a quiet machine (at most ${sizes.quietWaitSeconds} s)`, 1);
    const q = await waitForQuiet(e.cpu, { maxOthers: QUIET_MAX_OTHERS, sliceMs: QUIET_SLICE_MS, timeoutMs: sizes.quietWaitSeconds * 1000, cores: os.cpus().length });
    quiet = { waitedSeconds: round(q.waitedMs / 1000, 1), othersAtStart: q.others };
  }
  await dv.setLatency('realistic');
  await dv.setLimits(e.limits);
  await dv.resetRequestCounters();

  const scope = `bench-${tag}-p${partitions}`;
  const samples: Sample[] = [];
  const sample = async (): Promise<Sample> => {
    const pending = observer.countByPartition(OutboxStatus.Pending, partitions);
    const acked = (observer.countsByStatus()['Acked'] ?? 0) - ackedBefore;
    const counters = await dv.getRequestCounters();
    const s: Sample = { at: performance.now(), published: pending.map((n, p) => perPartitionRows[p]! - n), acked, counters, cpu: e.cpu.sample() };
    samples.push(s);
    return s;
  };
  const started = performance.now();
  await sample();
  ctx.progress.phase(`partitions (${hosting}): ${partitions} partition(s), publishing ${rows.toLocaleString('en-US')} rows`, rows);
  const running = hosting === 'one process' ? await startInProcess(dv, e.sb, scope, partitions) : await startWorkers(dv, e.sb, scope, partitions, e.cpu, (l) => ctx.progress.log(l));
  let stopped = false;
  try {
    const deadline = started + 60_000 + (rows / 100) * 1000;
    for (;;) {
      const s = await sample();
      const published = s.published.reduce((a, b) => a + b, 0);
      ctx.progress.update(published);
      if (published >= rows) break;
      if (performance.now() > deadline) throw new Error(`${hosting}, ${partitions} partition(s): ${published} of ${rows} published in ${Math.round((performance.now() - started) / 1000)} s`);
      await sleep(e.pollMs);
    }
    const drained = samples[samples.length - 1]!;
    ctx.progress.phase(`partitions (${hosting}): ${partitions} partition(s), waiting for consumers and acknowledgements`, rows);
    const ackDeadline = performance.now() + 60_000 + (rows / 100) * 1000;
    for (;;) {
      const s = await sample();
      ctx.progress.update(s.acked);
      if (s.acked >= rows && e.consumer.receivedFor(stepKeys) >= rows) break;
      if (performance.now() > ackDeadline) break; // reported below: check() names what is missing
      await sleep(Math.max(e.pollMs, 250));
    }
    const ackedAt = samples[samples.length - 1]!;
    const sends = running.sends?.();
    const stopping = performance.now();
    await running.stop();
    stopped = true;
    ctx.progress.log(`partitions (${hosting}): ${partitions} partition(s) stopped in ${Math.round(performance.now() - stopping)} ms`);

    // The steady window: every partition has started (WINDOW_EDGE of its rows published) and none has finished.
    const startIdx = Math.max(...perPartitionRows.map((n, p) => firstIndex(samples, (s) => s.published[p]! >= n * WINDOW_EDGE)));
    const endIdx = Math.min(...perPartitionRows.map((n, p) => firstIndex(samples, (s) => s.published[p]! >= n * (1 - WINDOW_EDGE))));
    const steady = startIdx >= 0 && endIdx > startIdx;
    const from = steady ? samples[startIdx]! : samples[0]!;
    const to = steady ? samples[endIdx]! : drained;
    const seconds = (to.at - from.at) / 1000;
    const perPartition = from.published.map((n, p) => round((to.published[p]! - n) / seconds, 1));
    const publishedInWindow = to.published.reduce((a, b) => a + b, 0) - from.published.reduce((a, b) => a + b, 0);
    const firstAll = firstIndex(samples, (s) => s.published.every((n) => n > 0));
    const check = e.consumer.check(stepKeys);
    return {
      hosting,
      partitions,
      rows,
      keys: stepKeys.length,
      windowKind: steady ? 'steady' : 'whole run',
      windowSeconds: round(seconds, 2),
      publishedInWindow,
      messagesPerSecond: round(publishedInWindow / seconds, 1),
      perPartition,
      firstPublishSeconds: round(((firstAll >= 0 ? samples[firstAll]!.at : drained.at) - started) / 1000, 2),
      drainSeconds: round((drained.at - started) / 1000, 2),
      ackedSeconds: round((ackedAt.at - started) / 1000, 2),
      quiet,
      sends,
      users: usersBetween(from.counters, to.counters, ackedAt.counters, seconds, partitions, hosting, e.limits),
      cpu: cpuBetween(from.cpu, to.cpu, os.cpus().length),
      check,
    };
  } finally {
    if (!stopped) await running.stop().catch(() => undefined);
  }
}

export const partitionsBenchmark = defineBenchmark<PartitionsData, Sizes>({
  name: 'partitions',
  title: 'Partitions: publish throughput with 1, 2 and 4 partitions, one application user each',
  summary:
    'Sustained publish throughput of a backlog with 1, 2 and 4 publisher partitions, each under its own application user, in one run (realistic latency, per-user service protection limits, acknowledgements on their own users): the ratio to P x one partition (target >= 0.85 x P), each user\'s requests and execution time against its budget, every process\'s CPU, and order per key and exactly-once delivery checked on every message.',
  sizes: {
    quick: { rowsPerPartition: 400, keysPerPartition: 4, windowFactor: 0.05, workerSeries: 0, quietWaitSeconds: 0, attempts: 1 },
    full: { rowsPerPartition: 8000, keysPerPartition: 16, windowFactor: 0.05, workerSeries: 1, quietWaitSeconds: 60, attempts: 3 },
  },
  expectedSeconds: { quick: 15, full: 330 },
  async run(ctx, sizes) {
    const limits = sizes.windowFactor >= 1 ? { ...DATAVERSE_LIMITS } : scaledDataverseLimits(sizes.windowFactor);
    // The emulator's file on tmpfs where there is one: the observer reads it, and disk writes are not what is measured.
    const dir = existsSync('/dev/shm') ? mkdtempSync(path.join('/dev/shm', 'bench-partitions-')) : ctx.tmpDir;
    const dataFile = path.join(dir, 'outbox.sqlite');
    const [dv, sb] = await Promise.all([
      HostedDataverse.start({ dataFile, latency: 'off', limits: 'off' }),
      HostedServiceBus.start({
        config: buildEmulatorConfig({
          queues: [
            { name: QUEUE, requiresSession: true, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 600_000, lockDurationInMs: 30_000 },
            { name: ACK_QUEUE, lockDurationInMs: 30_000 },
          ],
        }),
      }),
    ]);
    const observer = new StoreObserver(dataFile);
    const producer = new DataverseClient(dv.url, { token: PRODUCER_TOKEN }, { retryOptions: { maxRetries: 10, retryDelayInMs: 200, timeoutInMs: 120_000 } });
    // A short operation timeout: an idle session loop waits that long for the next session (see VerifyingSessionConsumer).
    const consumerClient = new ServiceBusClient(sb.connectionString, { retryOptions: { timeoutInMs: 2000, maxRetries: 1 } });
    const consumer = new VerifyingSessionConsumer(consumerClient, QUEUE, { ackQueue: ACK_QUEUE, concurrency: 16 });
    const cpu = new CpuSampler();
    cpu.watch('benchmark process', process.pid);
    cpu.watch('Dataverse emulator', dv.pid);
    cpu.watch('Service Bus emulator', sb.pid);
    consumer.start();
    const steps: PartitionStep[] = [];
    try {
      const env: StepEnv = { ctx, dv, sb, observer, producer, consumer, cpu, limits, sizes, pollMs: sizes.rowsPerPartition >= 4000 ? 250 : 100 };
      const series: Hosting[] = sizes.workerSeries ? ['one process', 'worker processes'] : ['one process'];
      for (const hosting of series) {
        // Each count runs once; then a run that other work on the shared machine disturbed (over QUIET_MAX_OTHERS
        // cores in its window) is run again, in later passes so that the retries are spread over time, at most
        // `attempts` runs per count. The least disturbed run of each count is kept; the others are reported.
        type Run = Awaited<ReturnType<typeof runStep>>;
        const runs = new Map<number, Run[]>(PARTITION_COUNTS.map((p) => [p, []]));
        const least = (list: readonly Run[]): Run => list.reduce((a, b) => ((b.cpu.others ?? 0) < (a.cpu.others ?? 0) ? b : a));
        const disturbed = (r: Run): boolean => (r.cpu.others ?? 0) > QUIET_MAX_OTHERS;
        for (let attempt = 1; attempt <= Math.max(1, sizes.attempts); attempt++) {
          for (const partitions of PARTITION_COUNTS) {
            const list = runs.get(partitions)!;
            if (list.length > 0 && !disturbed(least(list))) continue;
            const run = await runStep(env, hosting, partitions, attempt);
            list.push(run);
            ctx.progress.log(
              `partitions (${hosting}): ${partitions} partition(s), run ${attempt}: ${run.messagesPerSecond} msg/s (per partition ${run.perPartition.join('/')}), partition users' execution budget ${run.users.filter((u) => u.role === 'partition').map((u) => `${Math.round(u.executionShare * 100)}%`).join('/')}, CPU ours ${run.cpu.ours} + other work ${run.cpu.others ?? '?'} of ${run.cpu.cores} cores, check ${run.check.ok ? 'ok' : `FAILED: ${run.check.problems.slice(0, 5).join('; ')}`}${run.check.receiveErrors ? `, ${run.check.receiveErrors} consumer receive errors so far` : ''}`,
            );
          }
        }
        let single: number | undefined;
        for (const partitions of PARTITION_COUNTS) {
          const list = runs.get(partitions)!;
          const kept = least(list);
          single ??= kept.messagesPerSecond;
          const ratio = round(kept.messagesPerSecond / (partitions * single), 3);
          steps.push({ ...kept, ratio, discarded: list.filter((r) => r !== kept).map((r) => ({ messagesPerSecond: r.messagesPerSecond, others: r.cpu.others })) });
          ctx.progress.log(`partitions (${hosting}): ${partitions} partition(s) kept: ${kept.messagesPerSecond} msg/s, ${ratio}x of ${partitions} x one partition (other work ${kept.cpu.others ?? '?'} cores)`);
        }
      }
    } finally {
      let t = performance.now();
      const lap = (what: string): void => {
        ctx.progress.log(`teardown: ${what} ${Math.round(performance.now() - t)} ms`);
        t = performance.now();
      };
      await consumer.stop();
      lap('consumer');
      await consumerClient.close().catch(() => undefined);
      lap('consumer client');
      await producer.close().catch(() => undefined);
      observer.close();
      await Promise.all([dv.close(), sb.close()]);
      lap('emulators');
      if (dir !== ctx.tmpDir) rmSync(dir, { recursive: true, force: true });
    }
    const all = consumer.check();
    const failed = steps.filter((s) => !s.check.ok);
    if (failed.length > 0 || !all.ok) {
      throw new Error(`order per key / exactly-once check failed: ${[...all.problems].slice(0, 10).join('; ')}`);
    }
    return {
      latency: { ...REALISTIC_LATENCY },
      limits,
      windowFactor: sizes.windowFactor,
      batchSize: Number(Settings.BatchSize.defaultValue),
      cores: os.cpus().length,
      model: (() => {
        const cost = batchedCost(REALISTIC_LATENCY, { batchSize: Number(Settings.BatchSize.defaultValue), acksOnSameUser: false });
        const c = ceilingOf(limits, cost);
        return { executionMsPerMessage: round(cost.executionMsPerMessage, 2), requestsPerMessage: round(cost.requestsPerMessage, 4), ceilingPerUser: round(c.messagesPerSecond, 1), binding: c.binding };
      })(),
      steps,
      allChecked: { messages: all.received, keys: all.keys, ok: all.ok },
    };
  },
  render(result, assets) {
    const d = result.data;
    const pct = (x: number): string => `${Math.round(x * 100)}%`;
    const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
    const plot = assets.svg(
      'scaling',
      barChart({
        title: 'Messages/s by partition count (one application user per partition)',
        categories: d.steps.map((s) => `${s.partitions}p ${s.hosting === 'one process' ? 'in-proc' : 'workers'}`),
        series: [
          { name: 'measured', values: d.steps.map((s) => s.messagesPerSecond) },
          { name: `${TARGET_RATIO} x P x one partition`, values: d.steps.map((s) => round((s.messagesPerSecond / s.ratio) * TARGET_RATIO, 1)) },
        ],
        y: { label: 'messages per second', min: 0 },
      }),
    );
    const reqBudget = d.limits.maxRequests / (d.limits.windowMs / 1000);
    const execBudget = d.limits.maxExecutionMs / (d.limits.windowMs / 1000);
    const series = [...new Set(d.steps.map((s) => s.hosting))];
    const verdicts = series.map((h) => {
      const steps = d.steps.filter((s) => s.hosting === h);
      const last = steps[steps.length - 1]!;
      const parts = last.users.filter((u) => u.role === 'partition');
      const maxExec = Math.max(...parts.map((u) => u.executionShare));
      const maxReq = Math.max(...parts.map((u) => u.requestShare));
      const throttled = parts.reduce((a, u) => a + u.throttled, 0);
      const cores = last.cpu.cores ?? d.cores;
      const busy = last.cpu.machineBusy ?? last.cpu.ours;
      const dataverseBound = throttled > 0 || maxExec >= 0.9 || maxReq >= 0.9;
      const machineBound = busy >= 0.9 * cores;
      const execPerMsg = round(parts.reduce((a, u) => a + u.executionMsPerSecond, 0) / Math.max(1, last.messagesPerSecond), 2);
      const inflation = `Dataverse charged the partitions ${execPerMsg} ms of execution time per message against the latency model's ${d.model.executionMsPerMessage} ms: the rest is the emulator's own processing and queueing (one thread, sharing the cores)`;
      const why = dataverseBound
        ? `Dataverse's limits bind (busiest partition user: ${pct(maxExec)} of its execution time, ${pct(maxReq)} of its requests, ${throttled} 429s)`
        : `Dataverse is not the bound: the busiest partition user used ${pct(maxExec)} of its execution time and ${pct(maxReq)} of its requests, with ${throttled} 429s`;
      const cpu = machineBound
        ? `the machine is: ${busy} of ${cores} cores were busy over the window (${last.cpu.ours} ours: ${Object.entries(last.cpu.processes).map(([k, v]) => `${k} ${v}`).join(', ')}; ${last.cpu.others ?? '?'} other work), ${round((last.cpu.ours * 1000) / last.messagesPerSecond, 2)} ms of CPU per message`
        : `the machine was not fully busy (${busy} of ${cores} cores, ${last.cpu.others ?? '?'} of them other work)`;
      const single = steps[0]!.messagesPerSecond;
      const needed = TARGET_RATIO * last.partitions * single;
      const cpuPerMsg = last.cpu.ours / Math.max(1, last.messagesPerSecond);
      const target = `The target needs ${TARGET_RATIO} x ${last.partitions} x ${n0(single)} = ${n0(needed)} msg/s; at the ${round(cpuPerMsg * 1000, 2)} ms of CPU per message measured here (publishers, both emulators, consumer and ack listeners together) that is ${round(needed * cpuPerMsg, 2)} of the ${cores} cores`;
      // Every process here is one Node thread (workers: one each): the busiest one is where requests queue first.
      const [busiestName, busiestCores] = Object.entries(last.cpu.processes).reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0]);
      const busiest = `The busiest process was the ${busiestName} at ${busiestCores} of a core (one Node thread: its requests queue as it nears a full core); at the target rate it would need ${round((busiestCores / Math.max(1, last.messagesPerSecond)) * needed, 2)} of one`;
      // Worker processes run nothing but the publisher (and their ack listener): their CPU is the publisher's own cost.
      const workerCores = Object.entries(last.cpu.processes).filter(([k]) => k.startsWith('worker')).reduce((a, [, v]) => a + v, 0);
      const own = workerCores > 0 ? ` The worker processes themselves used ${round(workerCores, 2)} cores together, ${round((workerCores * 1000) / last.messagesPerSecond, 2)} ms of CPU per message (publishing and their ack listeners): the publisher is not what fills the cores.` : '';
      return `- **${h}, ${last.partitions} partitions: ${n0(last.messagesPerSecond)} msg/s, ${last.ratio}x of ${last.partitions} x one partition (${last.ratio >= TARGET_RATIO ? 'target met' : 'target not met'}).** ${why}; ${cpu}. ${inflation}. ${target}. ${busiest}. Dataverse's limits would allow ${last.partitions} x ${n0(d.model.ceilingPerUser)} = ${n0(last.partitions * d.model.ceilingPerUser)} msg/s.${own}`;
    });
    return [
      `Each step seeds a backlog (${n0(result.sizes['rowsPerPartition']!)} rows per partition, ${result.sizes['keysPerPartition']} ordering keys per partition with the same number of rows each, keys chosen so that every partition gets the same share at 1, 2 and 4 partitions), then starts the publisher with \`OUTBOX_PARTITION_COUNT\` = P and \`DATAVERSE_PARTITION_TOKENS\` = one token per partition: the Dataverse emulator makes each token its own application user with its own service protection limits. Batch size ${d.batchSize} (the default), lease ${LEASE_SECONDS} s. Dataverse runs the realistic latency profile (${d.latency.perRequestMs} ms per request + ${d.latency.perRecordWrittenMs} ms per record written + ${d.latency.perRecordReadMs} ms per record read, counted as execution time) and per-user limits of ${d.limits.maxRequests.toLocaleString('en-US')} requests and ${d.limits.maxExecutionMs / 1000} s of execution per ${d.limits.windowMs / 1000} s${d.windowFactor < 1 ? ` (Dataverse's 5-minute window scaled by ${d.windowFactor}, so that the limits bind within a step: the same ${reqBudget} requests/s and ${execBudget / 1000} s of execution per second)` : ''}, ${d.limits.maxConcurrent} concurrent. The target is a session queue with duplicate detection on the Service Bus emulator.`,
      '',
      `While it publishes, a consumer (16 session loops, SDK \`receiveAndDelete\`) takes every message, checks its key's payload counter (0, 1, 2, ... with no gap and no repeat) and acknowledges it as the consumer toolkit does; one ack listener per partition records the acknowledgements, each under an application user of its own (never a partition's). Throughput is taken over the steady window: from when every partition has published ${pct(WINDOW_EDGE)} of its backlog until the first one has ${pct(WINDOW_EDGE)} left (rows counted per partition in the emulator's SQLite file every 250 ms), so start-up and tail do not count. Ratio = msg/s at P partitions / (P x msg/s at 1 partition), same series, same run; target >= ${TARGET_RATIO}.`,
      '',
      `Two hostings: **one process**, one publisher instance in the benchmark's process holds every partition (the consumer and the ack listeners share that process); **worker processes**, one \`publisher-function/src/worker.ts\` per partition (\`OUTBOX_MAX_PARTITIONS_PER_INSTANCE\` = 1), configured by app settings as deployed, each worker's own identity running its ack listener. Everything shares the machine's ${d.cores} cores with both emulators${result.sizes['quietWaitSeconds'] ? `; before each step the benchmark waits (at most ${result.sizes['quietWaitSeconds']} s) until other work on the machine uses under ${QUIET_MAX_OTHERS} cores, and a step whose window other work still disturbed (over ${QUIET_MAX_OTHERS} cores) is run again, at most ${result.sizes['attempts']} runs, keeping the least disturbed (the others are listed with the CPU figures)` : ''}.`,
      '',
      '| hosting | P | msg/s (steady window) | per partition | ratio to P x one | >= 0.85 | window | every partition publishing / drained / all acked (s after start) | sends / rows | order per key, exactly once |',
      '|---|---:|---:|---|---:|---|---|---|---|---|',
      ...d.steps.map(
        (s) =>
          `| ${s.hosting} | ${s.partitions} | **${n0(s.messagesPerSecond)}** | ${s.perPartition.map(n0).join(' / ')} | ${s.ratio} | ${s.partitions === 1 ? '(baseline)' : s.ratio >= TARGET_RATIO ? 'met' : '**not met**'} | ${s.windowSeconds} s, ${n0(s.publishedInWindow)} msgs${s.windowKind === 'steady' ? '' : ' (whole run: too short for a steady window)'} | ${s.firstPublishSeconds} / ${s.drainSeconds} / ${s.ackedSeconds} | ${s.sends !== undefined ? n0(s.sends) : 'n/a'} / ${n0(s.rows)} | ${s.check.ok ? `ok: ${n0(s.check.received)} msgs, ${s.check.keys} keys` : `**FAILED**: ${s.check.problems.slice(0, 3).join('; ')}`} |`,
      ),
      '',
      `Every message of the run was consumed and checked: ${n0(d.allChecked.messages)} messages over ${d.allChecked.keys} keys, ${d.allChecked.ok ? 'each key in order, each message exactly once' : '**check failed**'}${(() => {
        const lost = Math.max(0, ...d.steps.map((s) => s.check.receiveErrors ?? 0));
        return lost > 0 ? ` (the consumer had ${lost} receives fail on a session link the SDK reported lost, and took those sessions again: nothing went missing or arrived twice)` : '';
      })()}. "Sends" counts what the in-process publisher handed to Service Bus (a row sent twice would show there even though duplicate detection drops the copy); worker processes are not tapped.`,
      '',
      `![Messages/s by partition count](${plot})`,
      '',
      '### What bounds it',
      '',
      ...verdicts,
      ...(() => {
        const top = Math.max(...d.steps.map((s) => s.partitions));
        const one = d.steps.find((s) => s.hosting === 'one process' && s.partitions === top);
        const workers = d.steps.find((s) => s.hosting === 'worker processes' && s.partitions === top);
        if (!one || !workers) return [];
        return [
          `- **Publishers in separate processes** at ${top} partitions: ${n0(workers.messagesPerSecond)} msg/s against ${n0(one.messagesPerSecond)} in one process (${round(workers.messagesPerSecond / one.messagesPerSecond, 2)}x). On ${d.cores} cores the workers add processes that compete for the same cores as both emulators; the work they take off the benchmark's process was not what held it back.`,
        ];
      })(),
      '',
      `**Each user against its budget** over the steady window. Budget per user: ${reqBudget} requests/s and ${n0(execBudget)} ms of execution time per second (the limits per window divided by the window), ${d.limits.maxConcurrent} requests at once (a partition has at most 4 bulk writes and one read in flight). A share near 100% or any 429 means that user's limits are what holds it back. 429s are counted over the whole step.`,
      '',
      '| hosting | P | user | role | requests/s | of budget | execution ms/s | of budget | 429s |',
      '|---|---:|---|---|---:|---:|---:|---:|---:|',
      ...d.steps.flatMap((s) => s.users.map((u) => `| ${s.hosting} | ${s.partitions} | ${u.user} | ${u.role} | ${u.requestsPerSecond} | ${pct(u.requestShare)} | ${n0(u.executionMsPerSecond)} | ${pct(u.executionShare)} | ${u.throttled} |`)),
      '',
      `**CPU over the steady window**, in cores (1 = one core busy the whole window), from /proc: each process of the run, their sum, other work on the machine, and our CPU per message. The emulators are single-threaded Node processes: one of them at 1 core is saturated. The execution time Dataverse charges is the emulator's wall time per request, so a starved emulator also charges more per message.`,
      '',
      '| hosting | P | processes (cores) | ours | other work | machine busy | our CPU ms per message | waited for quiet; earlier runs |',
      '|---|---:|---|---:|---:|---:|---:|---|',
      ...d.steps.map(
        (s) =>
          `| ${s.hosting} | ${s.partitions} | ${Object.entries(s.cpu.processes).map(([k, v]) => `${k} ${v}`).join(', ')} | ${s.cpu.ours} | ${s.cpu.others ?? 'n/a'} | ${s.cpu.machineBusy ?? 'n/a'} of ${s.cpu.cores ?? d.cores} | ${round((s.cpu.ours * 1000) / Math.max(1, s.messagesPerSecond), 2)} | ${s.quiet.waitedSeconds} s${s.quiet.othersAtStart !== undefined ? ` (then ${s.quiet.othersAtStart} cores of other work)` : ''}${s.discarded.length ? `; runs set aside (other work in their window): ${s.discarded.map((r) => `${n0(r.messagesPerSecond)} msg/s with ${r.others ?? '?'} cores`).join(', ')}` : ''} |`,
      ),
    ].join('\n');
  },
});
