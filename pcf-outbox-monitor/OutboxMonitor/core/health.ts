// Outbox health as the monitor reads it: the obx_HealthThresholds value, the bounded status counts and the 24-hour
// series. The thresholds, levels and rules are the contract's (@dataverse-outbox/contract, health.ts), the same the
// publisher's health endpoint judges with. Pure functions; the Web API calls live in services.ts.
import {
  evaluateHealth,
  OutboxMessage,
  parseHealthThresholds,
  type HealthEvaluation,
  type HealthFigures,
  type HealthThresholds,
  type OutboxStatusName,
} from '@dataverse-outbox/contract';
import { statusOrder } from './status';

/**
 * Reads the obx_HealthThresholds JSON with the contract's reader. Missing means the default; anything unusable keeps
 * the default for that field and says why, so a typo in an environment variable never blanks the header.
 */
export function thresholdsFromSetting(json: string | null | undefined): { thresholds: HealthThresholds; problem?: string } {
  const { thresholds, problems } = parseHealthThresholds(json);
  return problems.length > 0 ? { thresholds, problem: `${problems.join('; ')}; using the defaults for what is unusable` } : { thresholds };
}

// ---- status counts (bounded reads: the contract's healthCountLimits) ----

/**
 * One status's count on the server, bounded: the ids of its rows in (obx_status, obx_sequence) order, at most `limit`
 * of them, so the read stops after `limit` rows whatever the table holds. A full page means "at least `limit`".
 */
export function statusCountQuery(status: number, limit: number): string {
  const m = OutboxMessage;
  return `?$select=${m.primaryIdAttribute}&$filter=${m.columns.status} eq ${status}&$orderby=${m.columns.sequence} asc&$top=${limit}`;
}

export interface StatusCounts {
  /** Rows per counted status: from the server the statuses health judges; from loaded rows every status. */
  byStatus: Readonly<Partial<Record<OutboxStatusName, number>>>;
  /** Groups whose status value this version does not know (or that have none): shown, never dropped. */
  unknown: readonly { label: string; count: number }[];
  /** Every row counted (loaded rows only); undefined when only some statuses were counted. */
  total?: number;
  /** Statuses whose count reached its limit: a lower bound (shown as "100+"). */
  capped: readonly OutboxStatusName[];
}

/** Counts from one bounded read per status; `capped` statuses carry their limit as a lower bound. */
export function combineStatusCounts(parts: readonly { name: OutboxStatusName; count: number; capped: boolean }[]): StatusCounts {
  const byStatus: Partial<Record<OutboxStatusName, number>> = {};
  for (const p of parts) byStatus[p.name] = p.count;
  return { byStatus, unknown: [], capped: statusOrder.filter((name) => parts.some((p) => p.name === name && p.capped)) };
}

// ---- published vs failed over the last 24 hours ----

export const seriesHours = 24;

export interface HourBucket {
  /** Start of the hour bucket. */
  start: Date;
  published: number;
  failed: number;
}

/** Buckets event times into the 24 hours that end at `now` (oldest first). Events outside the window are ignored. */
export function bucketLast24Hours(published: readonly Date[], failed: readonly Date[], now: Date): HourBucket[] {
  const hourMs = 3_600_000;
  const windowStart = now.getTime() - seriesHours * hourMs;
  const buckets: HourBucket[] = Array.from({ length: seriesHours }, (_, i) => ({
    start: new Date(windowStart + i * hourMs),
    published: 0,
    failed: 0,
  }));
  const place = (date: Date, key: 'published' | 'failed'): void => {
    const index = Math.floor((date.getTime() - windowStart) / hourMs);
    const bucket = buckets[index];
    if (bucket) bucket[key] += 1;
  };
  published.forEach((d) => place(d, 'published'));
  failed.forEach((d) => place(d, 'failed'));
  return buckets;
}

// ---- evaluation (the contract's rules, the same as the publisher's health endpoint) ----

export interface HealthFacts {
  counts: StatusCounts | undefined;
  /** null: nothing is pending; undefined: could not be read. */
  oldestPendingCreatedOn: Date | null | undefined;
  /** null: nothing was ever published; undefined: could not be read. */
  lastPublishedOn: Date | null | undefined;
}

/** The header's facts as the contract's figures. The monitor reads neither obx_PublisherEnabled nor the lease. */
export function evaluateFacts(facts: HealthFacts, thresholds: HealthThresholds, now: Date): HealthEvaluation {
  const figures: HealthFigures = { now, oldestPendingCreatedOn: facts.oldestPendingCreatedOn, lastPublishedOn: facts.lastPublishedOn };
  if (facts.counts) {
    figures.counts = facts.counts.byStatus;
    figures.countsCapped = facts.counts.capped;
  }
  return evaluateHealth(figures, thresholds);
}
