// The chaos schedule: which fault strikes when, all drawn from the run's seed before the run starts (the same seed gives
// the same plan; the system's timing under it still varies, as in any real-process chaos test). Every fault kind of the
// run appears at least once: kinds are dealt in shuffled rounds that contain each kind, kills weighted more (the first
// round deals each kind before any second copy).
import { Random } from './random';

/** The publisher processes' letters (publisher-a, publisher-b, ...): `--publishers` takes the first ones. */
export const publisherLetters = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const;
export type PublisherLetter = (typeof publisherLetters)[number];
export const MAX_PUBLISHERS = publisherLetters.length;

export const faultKinds = [
  'kill-publisher',
  'kill-both-publishers',
  'pause-publisher',
  'kill-partition-holder',
  'kill-consumer',
  'kill-dataverse',
  'kill-servicebus',
  'kill-ct-worker',
  'kill-ct-consumer',
  'dataverse-429',
  'dataverse-503',
  'dataverse-timeout',
  'dataverse-drop',
  'servicebus-drop-connections',
  'servicebus-refuse-attaches',
  'servicebus-delay-sends',
  'poison-rows',
  'poison-acks',
  'poison-dead-letters',
  'deep-nesting',
  'whitespace-targets',
  'blocked-key',
  'dataverse-refuse-reads',
] as const;
export type FaultKind = (typeof faultKinds)[number];

/** What each kind does, for reports and `--help`. */
export const faultDescriptions: Record<FaultKind, string> = {
  'kill-publisher': 'SIGKILL one of the publisher workers, restart it after a pause',
  'kill-both-publishers': 'SIGKILL every publisher worker at once (both, with the default two), restart them',
  'kill-partition-holder':
    'SIGKILL the publisher holding the most partitions (with one partition: the lease holder); its partitions must be taken over by the live publishers within lease + standby poll + 2.5 s; restart it',
  'pause-publisher': 'SIGSTOP a publisher for longer than its lease (a zombie after a GC/VM pause), then SIGCONT',
  'kill-consumer': 'SIGKILL the ERP consumer (erp-sales), restart it; mostly SIGKILL it again while it drains its backlog',
  'kill-dataverse': 'SIGKILL the Dataverse emulator, restart it on the same port and data file',
  'kill-servicebus': 'SIGKILL the Service Bus emulator, restart it on the same ports and data file',
  'kill-ct-worker': 'SIGKILL the change-tracking worker, restart it',
  'kill-ct-consumer': 'SIGKILL the change-tracking consumer, restart it; mostly SIGKILL it again while it drains its backlog',
  'dataverse-429': 'Dataverse answers a share of requests 429 with Retry-After for a while',
  'dataverse-503': 'Dataverse answers the next requests 503',
  'dataverse-timeout': 'Dataverse holds the next requests, then closes the connection (before or after committing)',
  'dataverse-drop': 'Dataverse drops the connection of the next requests (before or after committing)',
  'servicebus-drop-connections': 'Service Bus closes every client connection',
  'servicebus-refuse-attaches': 'Service Bus refuses attaches (server busy) for a while, one entity or all',
  'servicebus-delay-sends': 'Service Bus holds back send acknowledgements for a while',
  'poison-rows': 'insert poison outbox rows (rejected by the consumer, target not allowed, malformed JSON)',
  'poison-acks': 'send poison acknowledgements (malformed JSON, non-GUID outboxId, unknown row id) straight to the ack queue, mixed with good ones',
  'poison-dead-letters': 'dead-letter messages with a non-GUID, unknown or no outbox-id on the target queue (broker TTL expiry)',
  'deep-nesting': 'insert rows whose JSON payload nests 10,000 deep (must end Failed with a depth reason)',
  'whitespace-targets': 'insert rows whose target has leading/trailing spaces or a trailing newline, each with a good row behind it on its key',
  'blocked-key': 'thousands of rows on one session key behind a head row whose target refuses attaches for a while, while other keys flow',
  'dataverse-refuse-reads': 'Dataverse answers every GET of the outbox table 429 for a while, while acknowledgements (and a poison one) arrive',
};

export const killKinds: ReadonlySet<FaultKind> = new Set(['kill-publisher', 'kill-both-publishers', 'kill-partition-holder', 'kill-consumer', 'kill-dataverse', 'kill-servicebus', 'kill-ct-worker', 'kill-ct-consumer']);

/** Dataverse entity sets a fault may be aimed at (undefined = every request). */
const dataverseTargets = [undefined, '$batch', '$batch', '$batch', 'obx_outboxmessages', 'obx_outboxleases'] as const;
const serviceBusEntities = [undefined, 'erp-sales', 'outbox-acks', 'erp-sales-ct'] as const;

export type ChaosAction =
  | { kind: 'kill-publisher'; which: PublisherLetter; downMs: number }
  | { kind: 'kill-both-publishers'; downMs: number }
  | { kind: 'pause-publisher'; which: PublisherLetter | 'holder'; pauseMs: number }
  | { kind: 'kill-partition-holder'; downMs: number }
  | { kind: 'kill-consumer' | 'kill-ct-consumer'; downMs: number; /** Kill again while it drains its backlog (ms after its next processed message). */ busyKillAfterMs?: number }
  | { kind: 'kill-dataverse' | 'kill-servicebus' | 'kill-ct-worker'; downMs: number }
  | { kind: 'dataverse-429'; rate: number; retryAfterSeconds: number; windowMs: number; entitySet?: string }
  | { kind: 'dataverse-503'; count: number; entitySet?: string }
  | { kind: 'dataverse-timeout'; count: number; timeoutMs: number; phase: 'before' | 'after'; entitySet?: string }
  | { kind: 'dataverse-drop'; count: number; phase: 'before' | 'after'; entitySet?: string }
  | { kind: 'servicebus-drop-connections' }
  | { kind: 'servicebus-refuse-attaches'; durationMs: number; entity?: string }
  | { kind: 'servicebus-delay-sends'; delayMs: number; durationMs: number; entity?: string }
  | { kind: 'poison-rows'; consumerRejects: number; targetNotAllowed: number; malformed: number }
  | { kind: 'poison-acks'; malformed: number; nonGuid: number; unknownRow: number; good: number }
  | { kind: 'poison-dead-letters'; noOutboxId: number; nonGuid: number; unknownRow: number }
  | { kind: 'deep-nesting'; rows: number; depth: number }
  | { kind: 'whitespace-targets'; targets: string[] }
  | { kind: 'blocked-key'; rows: number; failForMs: number }
  | { kind: 'dataverse-refuse-reads'; windowMs: number; retryAfterSeconds: number };

export interface ScheduledAction {
  /** Milliseconds after the chaos phase starts. */
  at: number;
  action: ChaosAction;
}

export interface ScheduleOptions {
  seed: number;
  /** Length of the chaos phase. */
  durationMs: number;
  /** Mean time between two actions. */
  meanGapMs: number;
  /** Kinds to use (default all). */
  kinds?: readonly FaultKind[];
  /** Publisher lease duration: a pause outlasts it. */
  leaseDurationMs: number;
  /** Rows behind the failing head row of each blocked-key action (default 1,000). */
  blockedKeyRows?: number;
  /** Publisher processes to pick from (default 2: publisher-a and publisher-b). */
  publishers?: number;
}

/** Whitespace variants of the ERP queue's name a producer may write by mistake (what each must become: the trimmed name). */
export const whitespaceTargetVariants = [' erp-sales', 'erp-sales ', 'erp-sales\n', '\terp-sales', ' erp-sales\r\n'] as const;

/** How many copies of a kind go in each round (kills of the busy components more often). */
const weight: Partial<Record<FaultKind, number>> = {
  'kill-publisher': 3,
  'kill-partition-holder': 2,
  'kill-consumer': 3,
  'kill-ct-consumer': 2,
  'dataverse-429': 2,
  'dataverse-drop': 2,
};

function draw(r: Random, kind: FaultKind, leaseDurationMs: number, blockedKeyRows: number, publishers: number): ChaosAction {
  const down = (): number => r.int(200, 3000);
  const optional = <T>(items: readonly T[]): T | undefined => r.pick(items) ?? undefined;
  const letters = publisherLetters.slice(0, publishers);
  switch (kind) {
    case 'kill-publisher':
      return { kind, which: r.pick(letters), downMs: down() };
    case 'kill-both-publishers':
    case 'kill-partition-holder':
      return { kind, downMs: down() };
    case 'pause-publisher':
      return { kind, which: r.pick([...letters, 'holder', 'holder'] as const), pauseMs: Math.round(leaseDurationMs * r.between(1.2, 2)) };
    case 'kill-consumer':
    case 'kill-ct-consumer':
      // Mostly a second kill while it works through the backlog the first one built: a kill while messages are in flight.
      return { kind, downMs: down(), ...(r.chance(0.75) ? { busyKillAfterMs: r.int(0, 15) } : {}) };
    case 'kill-dataverse':
    case 'kill-servicebus':
    case 'kill-ct-worker':
      return { kind, downMs: down() };
    case 'dataverse-429':
      return { kind, rate: Math.round(r.between(0.1, 0.5) * 100) / 100, retryAfterSeconds: r.int(1, 2), windowMs: r.int(2000, 6000), entitySet: optional(dataverseTargets) };
    case 'dataverse-503':
      return { kind, count: r.int(1, 5), entitySet: optional(dataverseTargets) };
    case 'dataverse-timeout':
      return { kind, count: r.int(1, 3), timeoutMs: r.int(1000, 4000), phase: r.pick(['before', 'after'] as const), entitySet: optional(dataverseTargets) };
    case 'dataverse-drop':
      return { kind, count: r.int(1, 4), phase: r.pick(['before', 'after'] as const), entitySet: optional(dataverseTargets) };
    case 'servicebus-drop-connections':
      return { kind };
    case 'servicebus-refuse-attaches':
      return { kind, durationMs: r.int(1000, 5000), entity: optional(serviceBusEntities) };
    case 'servicebus-delay-sends':
      return { kind, delayMs: r.int(200, 2000), durationMs: r.int(2000, 6000), entity: optional(serviceBusEntities) };
    case 'poison-rows':
      return { kind, consumerRejects: r.int(1, 2), targetNotAllowed: r.int(0, 1), malformed: r.int(0, 1) };
    case 'poison-acks':
      return { kind, malformed: r.int(1, 2), nonGuid: r.int(1, 2), unknownRow: r.int(1, 2), good: r.int(3, 8) };
    case 'poison-dead-letters':
      return { kind, noOutboxId: r.int(0, 1), nonGuid: r.int(1, 2), unknownRow: r.int(1, 2) };
    case 'deep-nesting':
      return { kind, rows: r.int(1, 2), depth: 10_000 };
    case 'whitespace-targets':
      return { kind, targets: r.shuffle(whitespaceTargetVariants).slice(0, r.int(1, 2)) };
    case 'blocked-key':
      return { kind, rows: blockedKeyRows, failForMs: r.int(8000, 20_000) };
    case 'dataverse-refuse-reads':
      return { kind, windowMs: r.int(3000, 8000), retryAfterSeconds: r.int(1, 2) };
  }
}

export function planSchedule(options: ScheduleOptions): ScheduledAction[] {
  if (!(options.durationMs > 0)) throw new RangeError('durationMs must be positive');
  if (!(options.meanGapMs > 0)) throw new RangeError('meanGapMs must be positive');
  const kinds = options.kinds ?? faultKinds;
  if (kinds.length === 0) return [];
  const r = new Random(options.seed).fork('schedule');
  const out: ScheduledAction[] = [];
  const blockedKeyRows = options.blockedKeyRows ?? 1000;
  const publishers = options.publishers ?? 2;
  if (!(Number.isInteger(publishers) && publishers >= 1 && publishers <= MAX_PUBLISHERS)) throw new RangeError(`publishers must be a whole number from 1 to ${MAX_PUBLISHERS}`);
  // The first round deals every kind once before the extra copies of the weighted ones (so even a short run sees each
  // kind); later rounds are shuffled whole.
  const extras = kinds.flatMap((k) => Array.from({ length: (weight[k] ?? 1) - 1 }, () => k));
  let round: FaultKind[] = [...r.shuffle(kinds), ...r.shuffle(extras)];
  // The first action comes after a short settling time; the last one leaves a few seconds before the end.
  let at = Math.min(2000, options.durationMs / 10);
  const end = options.durationMs - Math.min(3000, options.durationMs / 10);
  // Until every kind has been dealt once, a gap is at most an equal share of the time left, so a short phase still
  // sees every kind (gaps of at least 250 ms, so a phase shorter than 250 ms per kind may not).
  let undealt = kinds.length;
  while (at < end) {
    if (round.length === 0) round = r.shuffle(kinds.flatMap((k) => Array.from({ length: weight[k] ?? 1 }, () => k)));
    const kind = round.shift()!;
    out.push({ at: Math.round(at), action: draw(r, kind, options.leaseDurationMs, blockedKeyRows, publishers) });
    undealt = Math.max(0, undealt - 1);
    const gap = r.exponential(options.meanGapMs);
    at += Math.max(250, undealt > 0 ? Math.min(gap, (end - at) / (undealt + 1)) : gap);
  }
  return out;
}

/** One line per action, for logs and reports. */
export function describeAction(a: ChaosAction): string {
  const target = (x?: string): string => (x ? ` on ${x}` : '');
  switch (a.kind) {
    case 'kill-publisher':
      return `SIGKILL publisher-${a.which}, down ${a.downMs} ms`;
    case 'kill-both-publishers':
      return `SIGKILL every publisher, down ${a.downMs} ms`;
    case 'kill-partition-holder':
      return `SIGKILL the publisher holding the most partitions, down ${a.downMs} ms once they moved`;
    case 'pause-publisher':
      return `SIGSTOP publisher ${a.which === 'holder' ? '(the holder of partition 0)' : `-${a.which}`} for ${a.pauseMs} ms`;
    case 'kill-consumer':
    case 'kill-ct-consumer':
      return `SIGKILL ${a.kind.slice(5)}, down ${a.downMs} ms${a.busyKillAfterMs !== undefined ? `, then again ${a.busyKillAfterMs} ms after its next processed message` : ''}`;
    case 'kill-dataverse':
    case 'kill-servicebus':
    case 'kill-ct-worker':
      return `SIGKILL ${a.kind.slice(5)}, down ${a.downMs} ms`;
    case 'dataverse-429':
      return `Dataverse 429 (Retry-After ${a.retryAfterSeconds} s) for ${Math.round(a.rate * 100)}% of requests${target(a.entitySet)} during ${a.windowMs} ms`;
    case 'dataverse-503':
      return `Dataverse 503 for the next ${a.count} requests${target(a.entitySet)}`;
    case 'dataverse-timeout':
      return `Dataverse timeout (${a.timeoutMs} ms, ${a.phase} commit) for the next ${a.count} requests${target(a.entitySet)}`;
    case 'dataverse-drop':
      return `Dataverse drops the connection (${a.phase} commit) of the next ${a.count} requests${target(a.entitySet)}`;
    case 'servicebus-drop-connections':
      return 'Service Bus drops every connection';
    case 'servicebus-refuse-attaches':
      return `Service Bus refuses attaches${target(a.entity)} for ${a.durationMs} ms`;
    case 'servicebus-delay-sends':
      return `Service Bus delays send acknowledgements by ${a.delayMs} ms${target(a.entity)} for ${a.durationMs} ms`;
    case 'poison-rows':
      return `insert poison rows: ${a.consumerRejects} rejected by the consumer, ${a.targetNotAllowed} target not allowed, ${a.malformed} malformed`;
    case 'poison-acks':
      return `poison acknowledgements: ${a.malformed} malformed, ${a.nonGuid} non-GUID outboxId, ${a.unknownRow} unknown row, mixed with ${a.good} good ones`;
    case 'poison-dead-letters':
      return `poison dead letters on erp-sales: ${a.noOutboxId} without outbox-id, ${a.nonGuid} non-GUID, ${a.unknownRow} unknown row`;
    case 'deep-nesting':
      return `insert ${a.rows} row(s) whose payload nests ${a.depth.toLocaleString('en-US')} deep`;
    case 'whitespace-targets':
      return `insert rows with targets ${a.targets.map((t) => JSON.stringify(t)).join(', ')}, each with a good row behind it`;
    case 'blocked-key':
      return `block one key: ${a.rows.toLocaleString('en-US')} rows behind a head row whose target refuses attaches for ${a.failForMs} ms`;
    case 'dataverse-refuse-reads':
      return `Dataverse 429 (Retry-After ${a.retryAfterSeconds} s) on every GET of the outbox table for ${a.windowMs} ms, acknowledgements arriving`;
  }
}
