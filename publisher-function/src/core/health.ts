// Health (invariant 7) as the publisher reports it: the port it reads its figures through, and the JSON of the health
// endpoint and `outbox status`. The thresholds, levels and rules are the contract's (evaluateHealth in
// @dataverse-outbox/contract), the same ones the monitor control judges with.
import { canaryProgress, evaluateHealth, healthCountedStatuses, type CanaryLeg, type CanaryRowView, type HealthCountedStatus, type HealthLevel, type HealthThresholds, type OutboxStatusName } from '@dataverse-outbox/contract';
import type { OperationOptions } from './ports';

/** Rows per status; a status listed in `capped` reached its limit: its value is a lower bound. */
export interface StatusCounts {
  counts: Partial<Record<OutboxStatusName, number>>;
  capped: OutboxStatusName[];
}

/** Rows to read at most, per status to count (the contract's healthCountLimits). */
export type StatusCountLimits = Readonly<Partial<Record<OutboxStatusName, number>>>;

/** What health reads from the outbox table (the Dataverse store implements it; tests may too). */
export interface OutboxHealthPort {
  /**
   * Rows of each status in `limits`, reading at most that many rows of it: a status that reaches its limit is reported
   * with the limit and listed in `capped` (a lower bound). Bounded reads keep a health call's cost independent of the
   * table's size.
   */
  countByStatus(limits: StatusCountLimits, options?: OperationOptions): Promise<StatusCounts>;
  /** The oldest Pending row (FIFO head), or undefined when nothing is Pending. */
  oldestPending(options?: OperationOptions): Promise<{ createdOn?: Date } | undefined>;
  /** The most recent publish time (undefined: none) and the most recent failure's error. */
  latest(options?: OperationOptions): Promise<{ lastPublishedOn?: Date; lastError?: string }>;
  /** The most recently Acked canary row (issue 21), one `$top` 1 read; undefined when none. Optional for older ports. */
  lastCanary?(options?: OperationOptions): Promise<CanaryRowView | undefined>;
}

export interface HealthInput {
  now: Date;
  counts: Partial<Record<OutboxStatusName, number>>;
  /** Statuses whose count is a lower bound (more rows than one aggregate query may count). */
  countsCapped?: readonly OutboxStatusName[];
  /** Undefined: nothing is Pending. */
  oldestPendingCreatedOn?: Date;
  /** Undefined: nothing was ever published. */
  lastPublishedOn?: Date;
  leaseOwner?: string;
  leaseUntil?: Date;
  /** With several partitions: who holds each (the lease is active only while all are held). */
  partitions?: readonly PartitionHealth[];
  lastError?: string;
  /** The last Acked canary row (issue 21). */
  lastCanary?: CanaryRowView;
  publisherEnabled: boolean;
  thresholds: HealthThresholds;
}

/** One partition's lease in the health report. */
export interface PartitionHealth {
  partition: number;
  owner: string | null;
  active: boolean;
}

export interface OutboxHealth {
  level: HealthLevel;
  reasons: string[];
  /**
   * Rows of the statuses health judges (Pending, Failed, DeadLettered). Finished rows (Published, Acked, Cancelled) are
   * not counted: counting them would read the whole history on every call.
   */
  counts: Record<HealthCountedStatus, number>;
  /** Statuses whose count is a lower bound: at least that many rows (shown as "100+"). */
  countsCapped: HealthCountedStatus[];
  oldestPendingAgeSeconds: number | null;
  secondsSinceLastPublish: number | null;
  leaseOwner: string | null;
  leaseActive: boolean;
  /** Present with more than one partition: each partition's holder. */
  partitions?: PartitionHealth[];
  lastError: string | null;
  /** The last canary that came back (Acked), with each leg's time: present once one has (issue 21). */
  lastCanary?: { lastCanaryAt: string; lastCanaryLegs: { leg: CanaryLeg; at: string | null; durationMs: number | null }[] };
  checkedAt: string;
}

/** The publisher reads every figure (or fails), so the contract's evaluation always has a level to give. */
export function computeHealth(input: HealthInput): OutboxHealth {
  const counts = {} as Record<HealthCountedStatus, number>;
  for (const name of healthCountedStatuses) counts[name] = input.counts[name] ?? 0;
  const countsCapped = healthCountedStatuses.filter((name) => input.countsCapped?.includes(name));
  const leaseActive = !!input.leaseUntil && input.leaseUntil.getTime() > input.now.getTime();
  const e = evaluateHealth(
    {
      now: input.now,
      counts,
      countsCapped,
      oldestPendingCreatedOn: input.oldestPendingCreatedOn ?? null,
      lastPublishedOn: input.lastPublishedOn ?? null,
      publisherEnabled: input.publisherEnabled,
      leaseActive,
    },
    input.thresholds,
  );
  const unheld = input.partitions?.filter((p) => !p.active).map((p) => p.partition) ?? [];
  return {
    // Counts are always read here, so at least the Failed figure is judged: a level is always known.
    level: e.level ?? 'green',
    reasons: unheld.length > 0 ? [...e.reasons, `partition${unheld.length > 1 ? 's' : ''} ${unheld.join(', ')} of ${input.partitions!.length} held by no publisher: the rows of ${unheld.length > 1 ? 'their' : 'its'} keys wait`] : e.reasons,
    counts,
    countsCapped,
    oldestPendingAgeSeconds: input.oldestPendingCreatedOn ? (e.oldestPendingAge.value ?? null) : null,
    secondsSinceLastPublish: e.sinceLastPublish.value ?? null,
    leaseOwner: input.leaseOwner ?? null,
    leaseActive,
    ...(input.partitions ? { partitions: input.partitions.map((p) => ({ ...p })) } : {}),
    lastError: input.lastError ?? null,
    ...(input.lastCanary ? { lastCanary: lastCanaryOf(input.lastCanary) } : {}),
    checkedAt: input.now.toISOString(),
  };
}

/** The health figures of the last Acked canary: its ack time and each leg's (the contract's reading of the row). */
function lastCanaryOf(row: CanaryRowView): NonNullable<OutboxHealth['lastCanary']> {
  const p = canaryProgress(row);
  return {
    lastCanaryAt: (row.ackedOn ?? row.publishedOn ?? row.createdOn ?? new Date(0)).toISOString(),
    lastCanaryLegs: p.legs.map((l) => ({ leg: l.leg, at: l.at?.toISOString() ?? null, durationMs: l.durationMs ?? null })),
  };
}
