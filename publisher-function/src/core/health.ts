// Health (invariant 7) as the publisher reports it: the port it reads its figures through, and the JSON of the health
// endpoint and `outbox status`. The thresholds, levels and rules are the contract's (evaluateHealth in
// @dataverse-outbox/contract), the same ones the monitor control judges with.
import { evaluateHealth, OutboxStatus, type HealthLevel, type HealthThresholds, type OutboxStatusName } from '@dataverse-outbox/contract';
import type { OperationOptions } from './ports';

/** Rows per status; a status listed in `capped` has more rows than an aggregate may count, its value is a lower bound. */
export interface StatusCounts {
  counts: Partial<Record<OutboxStatusName, number>>;
  capped: OutboxStatusName[];
}

/** What health reads from the outbox table (the Dataverse store implements it; tests may too). */
export interface OutboxHealthPort {
  /** Rows per status over the whole table; a status too big to count exactly is a lower bound, listed in `capped`. */
  countByStatus(options?: OperationOptions): Promise<StatusCounts>;
  /** The oldest Pending row (FIFO head), or undefined when nothing is Pending. */
  oldestPending(options?: OperationOptions): Promise<{ createdOn?: Date } | undefined>;
  /** The most recent publish time (undefined: none) and the most recent failure's error. */
  latest(options?: OperationOptions): Promise<{ lastPublishedOn?: Date; lastError?: string }>;
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
  lastError?: string;
  publisherEnabled: boolean;
  thresholds: HealthThresholds;
}

export interface OutboxHealth {
  level: HealthLevel;
  reasons: string[];
  counts: Record<OutboxStatusName, number>;
  /** Statuses whose count is a lower bound: at least that many rows (shown as "50,000+"). Usually empty. */
  countsCapped: OutboxStatusName[];
  oldestPendingAgeSeconds: number | null;
  secondsSinceLastPublish: number | null;
  leaseOwner: string | null;
  leaseActive: boolean;
  lastError: string | null;
  checkedAt: string;
}

const statusNames = Object.keys(OutboxStatus) as OutboxStatusName[];

/** The publisher reads every figure (or fails), so the contract's evaluation always has a level to give. */
export function computeHealth(input: HealthInput): OutboxHealth {
  const counts = {} as Record<OutboxStatusName, number>;
  for (const name of statusNames) counts[name] = input.counts[name] ?? 0;
  const countsCapped = statusNames.filter((name) => input.countsCapped?.includes(name));
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
  return {
    // Counts are always read here, so at least the Failed figure is judged: a level is always known.
    level: e.level ?? 'green',
    reasons: e.reasons,
    counts,
    countsCapped,
    oldestPendingAgeSeconds: input.oldestPendingCreatedOn ? (e.oldestPendingAge.value ?? null) : null,
    secondsSinceLastPublish: e.sinceLastPublish.value ?? null,
    leaseOwner: input.leaseOwner ?? null,
    leaseActive,
    lastError: input.lastError ?? null,
    checkedAt: input.now.toISOString(),
  };
}
