// Latency distribution: commit-to-publish and commit-to-ack at 50, 200 and 500 messages/s offered load, through the
// whole path: producers commit "change + outbox row" change sets (OutboxWriter), the publisher (default settings,
// worker loop) sends to Service Bus, the idempotent consumer (SQLite inbox) processes and acknowledges, and the
// publisher's ack listener records the acknowledgement in Dataverse. Realistic latency profile, limits on.
import path from 'node:path';
import { createOutboxConsumer, createSqliteInbox, type OutboxConsumer } from '@dataverse-outbox/consumer';
import { AckListener, DataverseOutboxStore, type OutboxStorePort } from '@dataverse-outbox/publisher-function';
import { OutboxWriter } from '@dataverse-outbox/producer';
import { OutboxStatus } from '@dataverse-outbox/contract';
import { lineChart } from '../report/svg';
import { defineBenchmark, type BenchContext } from '../suite/types';
import { round, samplePayload } from '../support/seed';
import { tapServiceBusClient } from '../support/sendTap';
import { cdfPoints, summarize, type Summary } from '../support/stats';
import { ACK_QUEUE, TARGET, startWorld } from '../support/world';

const CONSUMER_CONCURRENCY = 16;

type Sizes = { load1: number; load2: number; load3: number; seconds: number; producers: number };

export interface LatencyLevel {
  offeredPerSecond: number;
  achievedPerSecond: number;
  committed: number;
  received: number;
  acked: number;
  /** Until Service Bus accepted the publisher's send. */
  commitToPublishMs: Summary;
  /** Until the consumer's handler ran. */
  commitToConsumerMs: Summary;
  commitToAckMs: Summary;
  /** The acknowledgement path alone: from the consumer's handler to the ack in Dataverse (absent in older results). */
  consumerToAckMs?: Summary;
  /** The ack listener's batches in this level: acks per batch, and the time of its read by id and of its $batch write. */
  ackBatches?: { count: number; rows: Summary; readMs: Summary; writeMs: Summary };
  producerRetries: number;
  /** Acknowledgements recorded per second while the ack listener had work (first to last ack of the level). */
  ackRecordsPerSecond: number;
  /** Messages sent per second from the first to the last send of the level. */
  sendsPerSecond: number;
  commitMs: Summary;
  publishCdf: [number, number][];
  ackCdf: [number, number][];
}

export interface LatencyData {
  seconds: number;
  producers: number;
  levels: LatencyLevel[];
}

/** Records when each acknowledgement reaches Dataverse (applied, or recorded early before the Published mark). */
function ackRecorder(inner: OutboxStorePort, track: Tracker): OutboxStorePort {
  const onAck = (rowId: string, at: number): void => track.onAck(rowId, at);
  return {
    readDue: (q, o) => inner.readDue(q, o),
    readBackingOff: (n, o) => inner.readBackingOff(n, o),
    async readByIds(ids, o) {
      const t = performance.now();
      const rows = await inner.readByIds(ids, o);
      track.ackReads.push(performance.now() - t);
      return rows;
    },
    async applyUpdates(updates, o) {
      const t = performance.now();
      const r = await inner.applyUpdates(updates, o);
      const at = performance.now();
      track.ackWrites.push({ rows: updates.length, ms: at - t });
      const conflicts = new Set(r.conflicts);
      for (const u of updates) if (!conflicts.has(u.id) && (u.changes.status === OutboxStatus.Acked || u.changes.ackedOn)) onAck(u.id, at);
      return r;
    },
  };
}

async function runLevel(ctx: BenchContext, writers: OutboxWriter[], rate: number, seconds: number, track: Tracker): Promise<LatencyLevel> {
  const total = Math.round(rate * seconds);
  const commits = new Map<string, number>();
  const commitDurations: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const errors: string[] = [];
  track.reset(commits);
  ctx.progress.phase(`latency: ${rate} msg/s offered for ${seconds} s`, total);
  const started = performance.now();
  let issued = 0;
  let retries = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; issued < due; issued++) {
      const id = `lat-${rate}-${issued}`;
      const writer = writers[issued % writers.length]!;
      const t = performance.now();
      const payload = JSON.parse(samplePayload(issued)) as unknown;
      const commit = (): ReturnType<OutboxWriter['transaction']> =>
        writer.transaction((tx) => {
          tx.enqueue({ target: TARGET, eventType: 'SalesOrderWon', payload, messageId: id, sourceEntity: 'opportunity' });
        });
      // A producer retries a failed commit with the same messageId: the writer makes that an upsert, never a second row.
      const p = commit()
        .catch(() => {
          retries++;
          return commit();
        })
        .then(
          () => {
            const now = performance.now();
            commits.set(id, now);
            commitDurations.push(now - t);
          },
          (e: unknown) => {
            const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message}${e.cause.cause instanceof Error ? `: ${e.cause.cause.message}` : ''})` : '';
            errors.push(`${e instanceof Error ? e.message : String(e)}${cause}`);
          },
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    ctx.progress.update(issued);
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all([...inFlight]);
  const loadSeconds = (performance.now() - started) / 1000;
  if (errors.length) throw new Error(`latency: ${errors.length} producer commits failed, first: ${errors[0]}`);
  // Drain: every committed message received and acknowledged (or a deadline).
  ctx.progress.phase(`latency: ${rate} msg/s: waiting for publish and acks`, total);
  const deadline = performance.now() + 90_000;
  let lastLog = performance.now();
  while ((track.sent.size < total || track.received.size < total || track.acked.size < total) && performance.now() < deadline) {
    ctx.progress.update(Math.min(track.received.size, track.acked.size));
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      ctx.progress.log(`latency: ${rate} msg/s: ${track.sent.size} sent, ${track.received.size} received, ${track.acked.size} acked of ${total}; consumer: ${JSON.stringify(Object.fromEntries(track.settlements))}${track.lastProblem ? `, last problem: ${track.lastProblem}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const publish: number[] = [];
  const consumed: number[] = [];
  const ack: number[] = [];
  const consumerToAck: number[] = [];
  for (const [id, at] of track.sent) {
    const c = commits.get(id);
    if (c !== undefined) publish.push(Math.max(0, at - c));
  }
  for (const [id, at] of track.received) {
    const c = commits.get(id);
    if (c !== undefined) consumed.push(Math.max(0, at - c));
  }
  for (const [id, at] of track.acked) {
    const c = commits.get(id);
    if (c !== undefined) ack.push(Math.max(0, at - c));
    const r = track.received.get(id);
    if (c !== undefined && r !== undefined) consumerToAck.push(Math.max(0, at - r));
  }
  return {
    offeredPerSecond: rate,
    achievedPerSecond: round(total / loadSeconds, 1),
    committed: commits.size,
    received: track.received.size,
    acked: track.acked.size,
    commitToPublishMs: summarize(publish),
    commitToConsumerMs: summarize(consumed),
    commitToAckMs: summarize(ack),
    consumerToAckMs: summarize(consumerToAck),
    ackBatches: { count: track.ackWrites.length, rows: summarize(track.ackWrites.map((w) => w.rows)), readMs: summarize(track.ackReads), writeMs: summarize(track.ackWrites.map((w) => w.ms)) },
    producerRetries: retries,
    ackRecordsPerSecond: rateOf([...track.acked.values()]),
    sendsPerSecond: rateOf([...track.sent.values()]),
    commitMs: summarize(commitDurations),
    publishCdf: cdfPoints(publish, 150),
    ackCdf: cdfPoints(ack, 150),
  };
}

/** Events per second between the first and the last timestamp. */
function rateOf(times: number[]): number {
  if (times.length < 2) return 0;
  const span = (Math.max(...times) - Math.min(...times)) / 1000;
  return span > 0 ? round(times.length / span, 1) : 0;
}

class Tracker {
  sent = new Map<string, number>();
  received = new Map<string, number>();
  acked = new Map<string, number>();
  ackReads: number[] = [];
  ackWrites: { rows: number; ms: number }[] = [];
  private rowToMessage = new Map<string, string>();
  private commits = new Map<string, number>();
  reset(commits: Map<string, number>): void {
    this.sent = new Map();
    this.received = new Map();
    this.acked = new Map();
    this.ackReads = [];
    this.ackWrites = [];
    this.commits = commits;
  }
  settlements = new Map<string, number>();
  lastProblem?: string;
  onSettled(outcome: string, reason?: string, description?: string): void {
    const key = reason ? `${outcome}:${reason}` : outcome;
    this.settlements.set(key, (this.settlements.get(key) ?? 0) + 1);
    if (outcome !== 'processed') this.lastProblem = `${key} ${description ?? ''}`.slice(0, 300);
  }
  onSent(messageIds: string[], at: number): void {
    for (const id of messageIds) if (!this.sent.has(id)) this.sent.set(id, at);
  }
  onReceived(messageId: string, rowId: string | undefined): void {
    if (!this.received.has(messageId)) this.received.set(messageId, performance.now());
    if (rowId) this.rowToMessage.set(rowId.toLowerCase(), messageId);
  }
  onAck(rowId: string, at: number): void {
    const m = this.rowToMessage.get(rowId.toLowerCase());
    if (m && this.commits.has(m) && !this.acked.has(m)) this.acked.set(m, at);
  }
}

export const latencyBenchmark = defineBenchmark<LatencyData, Sizes>({
  name: 'latency',
  title: 'Latency: commit-to-publish and commit-to-ack at 50, 200 and 500 messages/s',
  summary:
    "End-to-end latency distributions at three offered loads: producers commit change sets with the OutboxWriter, the publisher worker (default settings) sends to Service Bus, the idempotent consumer (SQLite inbox, concurrency 16) handles and acknowledges, and the publisher's ack listener records the acknowledgement in Dataverse. Commit-to-publish ends when Service Bus has accepted the publisher's send (the message is available); commit-to-ack when Dataverse has the acknowledgement.",
  sizes: {
    quick: { load1: 50, load2: 200, load3: 500, seconds: 0.5, producers: 16 },
    full: { load1: 50, load2: 200, load3: 500, seconds: 10, producers: 16 },
  },
  expectedSeconds: { quick: 17, full: 90 },
  async run(ctx, sizes) {
    const world = await startWorld({ dataverse: { latency: 'realistic', limits: 'dataverse' } });
    const track = new Tracker();
    const writers = Array.from({ length: sizes.producers }, (_, i) => new OutboxWriter(world.client(`producer-${i}`)));
    const inbox = createSqliteInbox({ filename: path.join(ctx.tmpDir, 'inbox.sqlite') });
    let consumer: OutboxConsumer | undefined;
    let listener: AckListener | undefined;
    const publisher = world.newPublisher({ serviceBus: tapServiceBusClient(world.serviceBus, (ids, at) => track.onSent(ids, at)) });
    try {
      consumer = createOutboxConsumer({
        // Its own connection, as a downstream service would have.
        serviceBus: { connectionString: world.sb.connectionString },
        entity: TARGET,
        inbox,
        concurrency: CONSUMER_CONCURRENCY,
        retention: false,
        acknowledge: { queue: ACK_QUEUE },
        onSettled: (st) => track.onSettled(st.outcome, st.reason, st.description),
        onError: (e) => track.onSettled('error', e.code, e.message),
        handler: {
          SalesOrderWon: {
            schemaVersions: [1],
            handle: (event) => {
              track.onReceived(event.outboxMessageId, event.outboxId);
            },
          },
        },
      });
      await consumer.start();
      listener = new AckListener(world.serviceBus, ackRecorder(new DataverseOutboxStore(world.publisherClient), track), ACK_QUEUE);
      listener.start();
      await publisher.start();
      const levels: LatencyLevel[] = [];
      for (const rate of [sizes.load1, sizes.load2, sizes.load3]) {
        const level = await runLevel(ctx, writers, rate, sizes.seconds, track);
        levels.push(level);
        ctx.progress.log(
          `latency: ${rate} msg/s offered (${level.achievedPerSecond} achieved): commit-to-publish p50 ${level.commitToPublishMs.p50} ms p99 ${level.commitToPublishMs.p99} ms; to consumer p50 ${level.commitToConsumerMs.p50} ms; commit-to-ack p50 ${level.commitToAckMs.p50} ms p99 ${level.commitToAckMs.p99} ms; consumer-to-ack p50 ${level.consumerToAckMs?.p50} ms p99 ${level.consumerToAckMs?.p99} ms (${level.ackBatches?.count} ack batches, p50 ${level.ackBatches?.rows.p50} acks, read p50 ${level.ackBatches?.readMs.p50} ms, write p50 ${level.ackBatches?.writeMs.p50} ms); ${level.received}/${level.committed} received, ${level.acked} acked`,
        );
      }
      return { seconds: sizes.seconds, producers: sizes.producers, levels };
    } finally {
      await publisher.close().catch(() => undefined);
      await listener?.close().catch(() => undefined);
      await consumer?.close({ timeoutInMs: 5000 }).catch(() => undefined);
      await inbox.close();
      await world.close();
    }
  },
  render(result, assets) {
    const d = result.data;
    const fmt = (s: Summary): string => `${s.p50} / ${s.p90} / ${s.p99} / ${s.max}`;
    const chart = (key: 'publishCdf' | 'ackCdf', title: string, name: string): string =>
      assets.svg(
        name,
        lineChart({
          title,
          x: { label: 'milliseconds after the producer\'s commit (log scale)', log: true },
          y: { label: 'fraction of messages', min: 0, max: 1 },
          series: d.levels.map((l) => ({ name: `${l.offeredPerSecond} msg/s offered`, points: l[key].map(([x, y]) => [Math.max(1, x), y] as const), markers: false })),
        }),
      );
    const publishPlot = chart('publishCdf', 'Commit to publish (accepted by Service Bus): distribution', 'publish-cdf');
    const ackPlot = chart('ackCdf', 'Commit to acknowledgement recorded in Dataverse: distribution', 'ack-cdf');
    return [
      `Each load runs ${d.seconds} s; ${d.producers} producer identities commit one outbox row per change set (\`OutboxWriter.transaction\`), open loop. Latencies in ms as p50 / p90 / p99 / max.`,
      '',
      '| offered msg/s | achieved | committed (producer retries) | received | acked | commit (change set) | commit to publish | commit to consumer | commit to ack |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...d.levels.map((l) => `| ${l.offeredPerSecond} | ${l.achievedPerSecond} | ${l.committed} (${l.producerRetries}) | ${l.received} | ${l.acked} | ${fmt(l.commitMs)} | ${fmt(l.commitToPublishMs)} | ${fmt(l.commitToConsumerMs)} | ${fmt(l.commitToAckMs)} |`),
      '',
      'Where the acknowledgement time goes (from the consumer\'s handler to the ack in Dataverse; the ack listener\'s batches of the level: acks per batch, the read by id and the $batch write, p50 / p99):',
      '',
      '| offered msg/s | consumer to ack (p50 / p90 / p99 / max) | ack batches | acks per batch | read by id ms | $batch write ms |',
      '|---:|---:|---:|---:|---:|---:|',
      ...d.levels.map((l) =>
        l.consumerToAckMs && l.ackBatches
          ? `| ${l.offeredPerSecond} | ${fmt(l.consumerToAckMs)} | ${l.ackBatches.count} | ${l.ackBatches.rows.p50} / ${l.ackBatches.rows.p99} | ${l.ackBatches.readMs.p50} / ${l.ackBatches.readMs.p99} | ${l.ackBatches.writeMs.p50} / ${l.ackBatches.writeMs.p99} |`
          : `| ${l.offeredPerSecond} | not measured | | | | |`,
      ),
      '',
      `![Commit to publish](${publishPlot})`,
      '',
      `![Commit to ack](${ackPlot})`,
      '',
      ...(() => {
        const top = d.levels[d.levels.length - 1]!;
        const behind = top.ackRecordsPerSecond > 0 && top.ackRecordsPerSecond < top.offeredPerSecond * 0.9;
        return behind
          ? [
              `**Finding (publisher, acknowledgements):** at ${top.offeredPerSecond} msg/s offered the publisher sent ${top.sendsPerSecond} msg/s but the ack listener recorded only ${top.ackRecordsPerSecond} acks/s, so commit-to-ack grows with the backlog (p50 ${top.commitToAckMs.p50} ms against ${top.commitToPublishMs.p50} ms to publish). The listener writes a batch when it holds 250 acks or 100 ms after its first ack, up to 4 batches at once, each read by id (50 ids a request) and written with one $batch of updates (50 ms + 5 ms per row with the realistic profile); past that, the acks share the application user's service protection budget with the publisher: run the ack listener under its own application user (budget section).`,
              '',
            ]
          : [];
      })(),
      'Commit-to-publish includes the publisher\'s adaptive poll (100 ms after activity), one read (50 ms + 0.2 ms per row) and the send. Commit-to-ack adds the consumer\'s inbox transaction, its acknowledgement message, and the ack listener\'s batch (written when it holds 250 acks or 100 ms after its first ack, up to 4 batches being written at once) and bulk write (reads by id, 50 ids a request, and one $batch: 50 ms + 5 ms per row). Ratios between loads in the same run show how latency grows with load.',
    ].join('\n');
  },
});
