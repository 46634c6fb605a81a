// Outbox health as the monitor reads it: the obx_HealthThresholds value, the status-count aggregate and the 24-hour
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
import { statusOrder, statusNameOf } from './status';

/**
 * Reads the obx_HealthThresholds JSON with the contract's reader. Missing means the default; anything unusable keeps
 * the default for that field and says why, so a typo in an environment variable never blanks the header.
 */
export function thresholdsFromSetting(json: string | null | undefined): { thresholds: HealthThresholds; problem?: string } {
  const { thresholds, problems } = parseHealthThresholds(json);
  return problems.length > 0 ? { thresholds, problem: `${problems.join('; ')}; using the defaults for what is unusable` } : { thresholds };
}

// ---- status counts (FetchXML aggregate) ----

export const countAliases = { status: 'status', count: 'rowcount' } as const;

/**
 * Counts every row by status on the server: the header never counts only the loaded page. With a status, only that
 * status's rows (same grouped shape, so one parser): the fallback when the table is over the aggregate limit.
 */
export function statusCountFetchXml(status?: number): string {
  const m = OutboxMessage;
  return (
    `<fetch aggregate="true" mapping="logical">` +
    `<entity name="${m.logicalName}">` +
    `<attribute name="${m.columns.status}" alias="${countAliases.status}" groupby="true"/>` +
    `<attribute name="${m.primaryIdAttribute}" alias="${countAliases.count}" aggregate="count"/>` +
    (status === undefined ? '' : `<filter><condition attribute="${m.columns.status}" operator="eq" value="${status}"/></filter>`) +
    `</entity></fetch>`
  );
}

/** Dataverse's AggregateQueryRecordLimit: one aggregate query may cover at most this many rows. */
export const aggregateRecordLimit = 50_000;

const aggregateLimitCode = 0x8004e023;

/** The Web API refused an aggregate over more rows than AggregateQueryRecordLimit (0x8004E023). */
export function isAggregateLimitError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { errorCode, code, message } = error as { errorCode?: unknown; code?: unknown; message?: unknown };
  const codeMatches = (v: unknown): boolean =>
    (typeof v === 'number' && (v === aggregateLimitCode || v === aggregateLimitCode - 0x100000000)) ||
    (typeof v === 'string' && v.toLowerCase() === '0x8004e023');
  return codeMatches(errorCode) || codeMatches(code) || (typeof message === 'string' && /0x8004e023|AggregateQueryRecordLimit/i.test(message));
}

export interface StatusCounts {
  byStatus: Readonly<Record<OutboxStatusName, number>>;
  /** Groups whose status value this version does not know (or that have none): shown, never dropped. */
  unknown: readonly { label: string; count: number }[];
  total: number;
  /** Statuses with more rows than one aggregate may count: their value is a lower bound (shown as "50,000+"). */
  capped: readonly OutboxStatusName[];
}

/** Counts from one aggregate per status (the fallback); `capped` statuses carry the limit as a lower bound. */
export function combineStatusCounts(parts: readonly { name: OutboxStatusName; count: number; capped: boolean }[]): StatusCounts {
  const byStatus = Object.fromEntries(statusOrder.map((name) => [name, 0])) as Record<OutboxStatusName, number>;
  for (const p of parts) byStatus[p.name] = p.count;
  return {
    byStatus,
    unknown: [],
    total: parts.reduce((sum, p) => sum + p.count, 0),
    capped: statusOrder.filter((name) => parts.some((p) => p.name === name && p.capped)),
  };
}

/** Reads the aggregate's rows; throws a specific error when the shape is not what the query asked for. */
export function parseStatusCounts(entities: readonly unknown[]): StatusCounts {
  const byStatus = Object.fromEntries(statusOrder.map((name) => [name, 0])) as Record<OutboxStatusName, number>;
  const unknown: { label: string; count: number }[] = [];
  let total = 0;
  for (const entity of entities) {
    if (!entity || typeof entity !== 'object') throw new Error('the aggregate returned a row that is not an object');
    const row = entity as Record<string, unknown>;
    const rawCount = row[countAliases.count];
    const count = typeof rawCount === 'number' ? rawCount : typeof rawCount === 'string' ? Number(rawCount) : NaN;
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`the aggregate returned no usable "${countAliases.count}" value (got ${JSON.stringify(rawCount)})`);
    }
    const rawStatus = row[countAliases.status];
    const name = typeof rawStatus === 'number' ? statusNameOf(rawStatus) : undefined;
    if (name) byStatus[name] += count;
    else unknown.push({ label: rawStatus === null || rawStatus === undefined ? 'no status' : `status ${JSON.stringify(rawStatus)}`, count });
    total += count;
  }
  return { byStatus, unknown, total, capped: [] };
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
