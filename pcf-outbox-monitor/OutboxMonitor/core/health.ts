// Outbox health: thresholds (obx_HealthThresholds), the status-count aggregate, the 24-hour series and the
// green/amber/red evaluation. Pure functions; the Web API calls live in services.ts.
import { OutboxMessage, Settings, type OutboxStatusName } from '@dataverse-outbox/contract';
import { secondsBetween } from './format';
import { statusOrder, statusNameOf } from './status';

export interface HealthThresholds {
  maxPendingAgeSeconds: number;
  maxFailed: number;
  maxDeadLettered: number;
}

export type HealthLevel = 'green' | 'amber' | 'red';

const thresholdKeys: readonly (keyof HealthThresholds)[] = ['maxPendingAgeSeconds', 'maxFailed', 'maxDeadLettered'];

export const defaultThresholds: HealthThresholds = JSON.parse(Settings.HealthThresholds.defaultValue) as HealthThresholds;

/**
 * Reads the obx_HealthThresholds JSON. Missing keys take their default; anything unusable keeps the defaults and says why,
 * so a typo in an environment variable never blanks the header.
 */
export function parseThresholds(json: string | null | undefined): { thresholds: HealthThresholds; problem?: string } {
  if (json === null || json === undefined || json.trim() === '') return { thresholds: defaultThresholds };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { thresholds: defaultThresholds, problem: `${Settings.HealthThresholds.schemaName} is not valid JSON; using the defaults` };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { thresholds: defaultThresholds, problem: `${Settings.HealthThresholds.schemaName} must be a JSON object; using the defaults` };
  }
  const thresholds = { ...defaultThresholds };
  const bad: string[] = [];
  for (const key of thresholdKeys) {
    const value = (parsed as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) thresholds[key] = value;
    else bad.push(key);
  }
  return bad.length > 0
    ? { thresholds, problem: `${Settings.HealthThresholds.schemaName}: ${bad.join(', ')} must be a number >= 0; using the default` }
    : { thresholds };
}

/** Green up to the threshold, amber up to twice the threshold, red beyond (a threshold of 0 goes straight to red). */
export function levelFor(value: number, max: number): HealthLevel {
  if (value <= max) return 'green';
  if (value <= 2 * max) return 'amber';
  return 'red';
}

export function worstLevel(levels: readonly HealthLevel[]): HealthLevel {
  if (levels.includes('red')) return 'red';
  if (levels.includes('amber')) return 'amber';
  return 'green';
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

// ---- evaluation ----

export interface HealthFacts {
  counts: StatusCounts | undefined;
  oldestPendingCreatedOn: Date | null | undefined;
  lastPublishedOn: Date | null | undefined;
}

export interface Indicator {
  /** Undefined when the fact could not be read (the tile shows why). */
  value: number | undefined;
  /** The value is a lower bound (a capped count). */
  capped?: boolean;
  level: HealthLevel | undefined;
}

export interface HealthEvaluation {
  pendingAgeSeconds: Indicator;
  sinceLastPublishSeconds: Indicator;
  failed: Indicator;
  deadLettered: Indicator;
  overall: HealthLevel | undefined;
}

export function evaluateHealth(facts: HealthFacts, thresholds: HealthThresholds, now: Date): HealthEvaluation {
  const counts = facts.counts;
  const pendingCount = counts?.byStatus.Pending;

  const pendingAge: Indicator =
    facts.oldestPendingCreatedOn === undefined
      ? { value: undefined, level: undefined }
      : facts.oldestPendingCreatedOn === null
        ? { value: 0, level: 'green' } // nothing pending
        : (() => {
            const age = Math.max(0, secondsBetween(facts.oldestPendingCreatedOn, now));
            return { value: age, level: levelFor(age, thresholds.maxPendingAgeSeconds) };
          })();

  // A quiet publisher is only a stall when work is waiting: judge it against the same pending-age threshold.
  const sinceLastPublish: Indicator =
    facts.lastPublishedOn === undefined
      ? { value: undefined, level: undefined }
      : (() => {
          const since = facts.lastPublishedOn === null ? undefined : Math.max(0, secondsBetween(facts.lastPublishedOn, now));
          if (pendingCount === undefined) return { value: since, level: undefined };
          if (pendingCount === 0) return { value: since, level: 'green' };
          return { value: since, level: since === undefined ? 'red' : levelFor(since, thresholds.maxPendingAgeSeconds) };
        })();

  // A capped count is a lower bound: at the aggregate limit it is over any sane threshold.
  const countIndicator = (name: OutboxStatusName, max: number): Indicator => {
    if (!counts) return { value: undefined, level: undefined };
    const value = counts.byStatus[name];
    return counts.capped.includes(name) ? { value, level: levelFor(value, max), capped: true } : { value, level: levelFor(value, max) };
  };
  const failed = countIndicator('Failed', thresholds.maxFailed);
  const deadLettered = countIndicator('DeadLettered', thresholds.maxDeadLettered);

  const levels = [pendingAge, sinceLastPublish, failed, deadLettered].map((i) => i.level);
  const known = levels.filter((l): l is HealthLevel => l !== undefined);
  return {
    pendingAgeSeconds: pendingAge,
    sinceLastPublishSeconds: sinceLastPublish,
    failed,
    deadLettered,
    overall: known.length === 0 ? undefined : worstLevel(known),
  };
}
