// The publisher against a naive baseline that follows the reference article literally (poll on a timer, send one
// message, PATCH one row), in the same run, on the emulators with the fixed "realistic" Dataverse profile (50 ms per
// request + 5 ms per record written + 0.2 ms per record read) and Dataverse's service protection limits on.
//   node --conditions=development --import tsx bench/src/publisher.bench.ts
// Writes bench/results/publisher.json and bench/results/publisher.md. Runs in about 3 minutes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { type DataverseRequestInfo } from '@dataverse-outbox/publisher-function';
import { OutboxWriter } from '@dataverse-outbox/producer';
import { OutboxStatus, Settings } from '@dataverse-outbox/contract';
import { userCounters } from './support/emulators';
import { NaivePublisher } from './support/naivePublisher';
import { seedOutbox } from './support/seed';
import { tapServiceBusClient } from './support/sendTap';
import { summarize, type Summary } from './support/stats';
import { PUBLISHER_TOKEN, startWorld, TARGET, type World } from './support/world';

const COMMAND = 'node --conditions=development --import tsx bench/src/publisher.bench.ts';
const THROUGHPUT_ROWS = Number(process.env.PUBLISHER_BENCH_ROWS ?? 6000);
const BASELINE_ROWS = Number(process.env.PUBLISHER_BENCH_BASELINE_ROWS ?? 400);
const OFFERED_PER_SECOND = 200;
const LATENCY_SECONDS = Number(process.env.PUBLISHER_BENCH_LATENCY_SECONDS ?? 20);
const BASELINE_LATENCY_SECONDS = Number(process.env.PUBLISHER_BENCH_BASELINE_LATENCY_SECONDS ?? 10);
// The baseline cannot keep up with the offered load (about 15 msg/s against 200), so its drain is cut: the figure is
// "published within this long after the run", not a full drain.
const BASELINE_DRAIN_SECONDS = Number(process.env.PUBLISHER_BENCH_BASELINE_DRAIN_SECONDS ?? 20);
const IDLE_SECONDS = Number(process.env.PUBLISHER_BENCH_IDLE_SECONDS ?? 30);
/** The publisher's longest idle wait (PollingOptions.maxIntervalInMs, default 5 s): the idle cost is measured at it. */
const IDLE_POLL_MS = 5000;
const PRODUCERS = 16; // producer identities: 200 commits/s stay under each user's 20 requests/s
const NAIVE_TOKEN = 'naive-publisher-app';
const DEFAULT_BATCH = Number(Settings.BatchSize.defaultValue);

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

interface ThroughputResult {
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  dataverseRequests: number;
  requestsPerMessage: number;
  throttled: number;
}

interface LatencyResult {
  offeredPerSecond: number;
  committed: number;
  publishedWithinRun: number;
  latencyMs: Summary;
}

async function counters(world: World, token: string) {
  return userCounters(await world.dv.getRequestCounters(), token);
}

/**
 * Seeding is set-up, not measured: with the realistic profile every seeded row costs 5 ms (30 s for 6,000 rows), so the
 * producer's CreateMultiple runs with latency off and the profile is back on before anything is timed.
 */
async function seedQuickly(world: World, seed: () => Promise<unknown>): Promise<void> {
  await world.dv.setLatency('off');
  try {
    await seed();
  } finally {
    await world.dv.setLatency('realistic');
  }
}

/** Seeds `rows` Pending rows, then times one publisher draining them. */
async function throughputOurs(world: World, rows: number): Promise<ThroughputResult> {
  await seedQuickly(world, () => seedOutbox(world.producerClient, { prefix: 'tp', count: rows, status: () => OutboxStatus.Pending, concurrency: 4 }));
  const sent = new Set<string>();
  let last = 0;
  const serviceBus = tapServiceBusClient(world.serviceBus, (ids, at) => {
    for (const id of ids) sent.add(id);
    last = at;
  });
  const before = await counters(world, PUBLISHER_TOKEN);
  const publisher = world.newPublisher({ serviceBus });
  const started = performance.now();
  await publisher.start();
  await waitFor(() => sent.size >= rows, 240_000, 'publisher drained the seeded rows');
  await publisher.stop(); // waits for the last bulk marks
  const after = await counters(world, PUBLISHER_TOKEN);
  const seconds = (last - started) / 1000;
  const requests = after.requests - before.requests;
  return { messages: rows, seconds: round(seconds, 2), messagesPerSecond: Math.round(rows / seconds), dataverseRequests: requests, requestsPerMessage: round(requests / rows, 4), throttled: after.throttled - before.throttled };
}

async function throughputNaive(world: World, rows: number): Promise<ThroughputResult> {
  await seedQuickly(world, () => seedOutbox(world.producerClient, { prefix: 'naive', count: rows, status: () => OutboxStatus.Pending, concurrency: 2 }));
  const before = await counters(world, NAIVE_TOKEN);
  const naive = new NaivePublisher({ dataverse: world.client(NAIVE_TOKEN), serviceBus: world.serviceBus, pollIntervalInMs: 1000 });
  const started = performance.now();
  naive.start();
  await waitFor(() => naive.published >= rows, 240_000, 'baseline drained the seeded rows');
  const seconds = (performance.now() - started) / 1000;
  await naive.stop();
  const after = await counters(world, NAIVE_TOKEN);
  const requests = after.requests - before.requests;
  return { messages: rows, seconds: round(seconds, 2), messagesPerSecond: round(rows / seconds, 1), dataverseRequests: requests, requestsPerMessage: round(requests / rows, 3), throttled: after.throttled - before.throttled };
}

/** Producers commit single-row transactions at `rate`/s; latency = producer's commit reply -> Service Bus accepted the send. */
async function latency(world: World, which: 'ours' | 'naive', seconds: number, drainMs: number): Promise<LatencyResult> {
  const sentAt = new Map<string, number>();
  const serviceBus = tapServiceBusClient(world.serviceBus, (ids, at) => {
    for (const id of ids) if (!sentAt.has(id)) sentAt.set(id, at);
  });
  const committedAt = new Map<string, number>();
  const writers = Array.from({ length: PRODUCERS }, (_, i) => new OutboxWriter(world.client(`producer-${which}-${i}`)));
  let stopPublisher: () => Promise<void>;
  if (which === 'ours') {
    const p = world.newPublisher({ serviceBus });
    await p.start();
    stopPublisher = () => p.stop();
  } else {
    const naive = new NaivePublisher({ dataverse: world.client(NAIVE_TOKEN), serviceBus, pollIntervalInMs: 1000 });
    naive.start();
    stopPublisher = () => naive.stop();
  }
  await sleep(500);
  const total = OFFERED_PER_SECOND * seconds;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / OFFERED_PER_SECOND;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const messageId = `lat-${which}-${i}`;
    inFlight.push(
      writers[i % PRODUCERS]!.transaction((tx) => void tx.enqueue({ target: TARGET, eventType: 'Bench', payload: { i, at: Date.now() }, messageId })).then(() => {
        committedAt.set(messageId, performance.now());
      }),
    );
  }
  await Promise.all(inFlight);
  const deadline = Date.now() + drainMs;
  while (Date.now() < deadline && [...committedAt.keys()].some((id) => !sentAt.has(id))) await sleep(100);
  await stopPublisher();
  const samples: number[] = [];
  for (const [id, c] of committedAt) {
    const s = sentAt.get(id);
    if (s !== undefined) samples.push(Math.max(0, s - c));
  }
  return { offeredPerSecond: OFFERED_PER_SECOND, committed: committedAt.size, publishedWithinRun: samples.length, latencyMs: summarize(samples) };
}

/**
 * Resolves once the publisher polls at its longest idle wait. An idle wait doubles per empty cycle up to the maximum, and
 * a busy publisher reads again within 100 ms (or as soon as a bulk write frees a slot), so a read that comes at least
 * half the maximum after the previous one is an idle read whose next wait is the maximum. Rows left Pending by an
 * earlier phase are drained first, however long that takes (up to the timeout).
 */
function idleReached(world: World, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let last: number | undefined;
    const done = (error?: Error): void => {
      clearTimeout(timer);
      world.onPublisherRequest.delete(listener);
      if (error) reject(error);
      else resolve();
    };
    const listener = (info: DataverseRequestInfo): void => {
      // A throttled request (its retry waits Retry-After) or a bulk write in the gap means the publisher was not idle.
      if (info.status >= 300 || info.method === 'POST') {
        last = undefined;
        return;
      }
      if (info.method !== 'GET' || !info.path.includes('obx_outboxmessages?')) return;
      const now = performance.now();
      if (last !== undefined && now - last >= IDLE_POLL_MS / 2) done();
      last = now;
    };
    const timer = setTimeout(() => done(new Error(`idle cost: the publisher did not reach its idle poll interval within ${timeoutMs} ms`)), timeoutMs);
    world.onPublisherRequest.add(listener);
  });
}

async function idleCost(world: World, seconds: number): Promise<{ seconds: number; requests: number; requestsPerSecond: number; byOperation: Record<string, number> }> {
  const p = world.newPublisher();
  const idle = idleReached(world, 60_000);
  idle.catch(() => undefined); // awaited below; a failed start() must not leave it unhandled
  await p.start();
  await idle; // past the last activity: the poll interval has grown to its idle value
  const before = await counters(world, PUBLISHER_TOKEN);
  await sleep(seconds * 1000);
  const after = await counters(world, PUBLISHER_TOKEN);
  await p.stop();
  const requests = after.requests - before.requests;
  const byOperation: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byOperation)) if (v - (before.byOperation[k] ?? 0) > 0) byOperation[k] = v - (before.byOperation[k] ?? 0);
  return { seconds, requests, requestsPerSecond: round(requests / seconds, 3), byOperation };
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function main(): Promise<void> {
  const startedAt = new Date();
  log('starting emulators (realistic latency, Dataverse service protection limits)');
  const world = await startWorld({ dataverse: { latency: 'realistic', limits: 'dataverse' } });
  try {
    log(`throughput: publisher, ${THROUGHPUT_ROWS} rows, batch size ${DEFAULT_BATCH}`);
    const ours = await throughputOurs(world, THROUGHPUT_ROWS);
    log(`  ${ours.messagesPerSecond} msg/s, ${ours.requestsPerMessage} requests/message`);
    log(`throughput: naive baseline, ${BASELINE_ROWS} rows`);
    const naive = await throughputNaive(world, BASELINE_ROWS);
    log(`  ${naive.messagesPerSecond} msg/s, ${naive.requestsPerMessage} requests/message`);
    log(`latency: publisher at ${OFFERED_PER_SECOND} msg/s offered for ${LATENCY_SECONDS} s`);
    const latOurs = await latency(world, 'ours', LATENCY_SECONDS, 20_000);
    log(`  p50 ${latOurs.latencyMs.p50} ms, p99 ${latOurs.latencyMs.p99} ms`);
    log(`latency: naive baseline at ${OFFERED_PER_SECOND} msg/s offered for ${BASELINE_LATENCY_SECONDS} s (drain cut at ${BASELINE_DRAIN_SECONDS} s)`);
    const latNaive = await latency(world, 'naive', BASELINE_LATENCY_SECONDS, BASELINE_DRAIN_SECONDS * 1000);
    log(`  published ${latNaive.publishedWithinRun}/${latNaive.committed}, p50 ${latNaive.latencyMs.p50} ms, p99 ${latNaive.latencyMs.p99} ms`);
    log(`idle cost: publisher idle for ${IDLE_SECONDS} s`);
    const idle = await idleCost(world, IDLE_SECONDS);
    log(`  ${idle.requestsPerSecond} requests/s`);

    const ratio = round(ours.messagesPerSecond / naive.messagesPerSecond, 1);
    const targets = {
      throughputRatio: { target: '>= 25x baseline', value: ratio, met: ratio >= 25 },
      requestsPerMessage: { target: '<= 0.05 at the default batch size', value: ours.requestsPerMessage, met: ours.requestsPerMessage <= 0.05 },
      p99LatencyMs: { target: `< 1000 ms at ${OFFERED_PER_SECOND} msg/s offered`, value: latOurs.latencyMs.p99, met: latOurs.latencyMs.p99 < 1000 && latOurs.publishedWithinRun === latOurs.committed },
      idleRequestsPerSecond: { target: '< 1', value: idle.requestsPerSecond, met: idle.requestsPerSecond < 1 },
    };
    const result = {
      command: COMMAND,
      startedAt: startedAt.toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      profile: { latency: 'realistic (50 ms/request + 5 ms/record written + 0.2 ms/record read)', limits: 'dataverse (6,000 requests and 1,200 s execution per 5 min per user, 52 concurrent)', batchSize: DEFAULT_BATCH },
      throughput: { publisher: ours, naiveBaseline: naive, ratio },
      latency: { publisher: latOurs, naiveBaseline: latNaive },
      idle,
      targets,
    };
    const dir = process.env.BENCH_RESULTS_DIR ?? resolve(__dirname, '..', 'results'); // the suite runner may ask for another folder
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'publisher.json'), `${JSON.stringify(result, null, 2)}\n`);
    const yes = (b: boolean): string => (b ? 'met' : '**not met**');
    const md = `## Publisher: throughput, Dataverse requests per message, commit-to-publish latency

Command: \`${COMMAND}\` (${startedAt.toISOString()}, ${cpus().length} CPUs, Node ${process.version}).
Emulators in their own processes; Dataverse with the fixed "realistic" profile (50 ms per request, 5 ms per record written,
0.2 ms per record read) and Dataverse's service protection limits on. The naive baseline follows the reference article
literally (poll on a 1 s timer, send one message, PATCH one row), with the same Dataverse client, in the same run.
Latency = the producer's commit reply to Service Bus accepting the send (the publisher's ServiceBusClient is tapped).

| | publisher (batch ${DEFAULT_BATCH}) | naive baseline | target |
|---|---|---|---|
| throughput, msgs/s | ${ours.messagesPerSecond} (${ours.messages} rows in ${ours.seconds} s) | ${naive.messagesPerSecond} (${naive.messages} rows in ${naive.seconds} s) | >= 25x baseline: ${ratio}x, ${yes(targets.throughputRatio.met)} |
| Dataverse requests per message | ${ours.requestsPerMessage} | ${naive.requestsPerMessage} | <= 0.05: ${yes(targets.requestsPerMessage.met)} |
| latency at ${OFFERED_PER_SECOND} msgs/s offered, p50 / p99 ms | ${latOurs.latencyMs.p50} / ${latOurs.latencyMs.p99} (${latOurs.publishedWithinRun}/${latOurs.committed} published) | ${latNaive.latencyMs.p50} / ${latNaive.latencyMs.p99} (${latNaive.publishedWithinRun}/${latNaive.committed} published within ${BASELINE_DRAIN_SECONDS} s after the ${BASELINE_LATENCY_SECONDS} s run) | p99 < 1 s: ${yes(targets.p99LatencyMs.met)} |
| idle cost, Dataverse requests/s | ${idle.requestsPerSecond} (${Object.entries(idle.byOperation).map(([k, v]) => `${v} ${k}`).join(', ')} in ${idle.seconds} s) | - | well under 1: ${yes(targets.idleRequestsPerSecond.met)} |

429s seen by the publisher during the throughput run: ${ours.throttled}; by the baseline: ${naive.throttled}.
`;
    writeFileSync(join(dir, 'publisher.md'), md);
    log(md);
  } finally {
    await world.close();
  }
}

main().catch((e: unknown) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
