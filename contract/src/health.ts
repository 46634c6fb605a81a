// Outbox health (spec invariant 7: stalls must be visible, not only counts): the thresholds (obx_HealthThresholds),
// the levels and the one evaluation that turns figures into a level and reasons. The publisher's health endpoint, the
// CLI's `status` and the monitor control's header all judge with this module; each only reads its figures its own way.
import { Settings, type OutboxStatusName } from './generated/names';

export type HealthLevel = 'green' | 'amber' | 'red';

/** Best first. */
export const healthLevels: readonly HealthLevel[] = ['green', 'amber', 'red'];

export interface HealthThresholds {
  /** The oldest Pending row may be this old (and rows may wait this long with no publish): amber above, red above twice. */
  maxPendingAgeSeconds: number;
  /** Failed rows tolerated: red above (each one needs an operator). */
  maxFailed: number;
  /** DeadLettered rows tolerated: red above. */
  maxDeadLettered: number;
}

export const healthThresholdFields: readonly (keyof HealthThresholds)[] = ['maxPendingAgeSeconds', 'maxFailed', 'maxDeadLettered'];

const setting = Settings.HealthThresholds;

export interface HealthThresholdsParse {
  /** Always usable: every field that was missing or bad keeps its default. */
  thresholds: HealthThresholds;
  /** One sentence per problem, each starting with the subject; empty when the value is fine. */
  problems: string[];
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * Reads an obx_HealthThresholds value (JSON text). `subject` names where the value came from in the problems (for
 * example "app setting OUTBOX_HEALTH_THRESHOLDS"). Missing (null, undefined, blank) means the default. Every problem is
 * reported, and the result is still usable, so the caller chooses: the publisher refuses to start, the monitor warns and
 * judges with what it got.
 */
export function parseHealthThresholds(text: string | null | undefined, subject: string = setting.schemaName): HealthThresholdsParse {
  if (text === null || text === undefined || text.trim() === '') return { thresholds: defaults(), problems: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { thresholds: defaults(), problems: [`${subject} is not valid JSON (${why}): ${JSON.stringify(text.slice(0, 200))}`] };
  }
  return healthThresholdsFrom(value, subject);
}

/** Validates an already parsed obx_HealthThresholds value: an object of known fields, each a number >= 0. */
export function healthThresholdsFrom(value: unknown, subject: string = setting.schemaName): HealthThresholdsParse {
  return check(value, subject, { ...defaultHealthThresholds });
}

function check(value: unknown, subject: string, thresholds: HealthThresholds): HealthThresholdsParse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { thresholds, problems: [`${subject} must be a JSON object like ${setting.defaultValue}`] };
  }
  const problems: string[] = [];
  // Own keys checked against the list: `in` would take inherited names (constructor, __proto__, toString) as known fields.
  for (const key of Object.keys(value)) {
    const v: unknown = (value as Record<string, unknown>)[key];
    if (!(healthThresholdFields as readonly string[]).includes(key)) {
      problems.push(`${subject} has an unknown field "${key}" (known: ${healthThresholdFields.join(', ')})`);
    } else if (typeof v !== 'number' || !isFinite(v) || v < 0) {
      problems.push(`${subject}.${key} must be a number >= 0, got ${JSON.stringify(v)}`);
    } else {
      thresholds[key as keyof HealthThresholds] = v;
    }
  }
  return { thresholds, problems };
}

/** The solution's default (the generated Settings.HealthThresholds.defaultValue), checked once when this module loads. */
export const defaultHealthThresholds: Readonly<HealthThresholds> = (() => {
  const generated: unknown = JSON.parse(setting.defaultValue);
  const { thresholds, problems } = check(generated, `${setting.schemaName} default`, { maxPendingAgeSeconds: 0, maxFailed: 0, maxDeadLettered: 0 });
  for (const k of healthThresholdFields) if (!hasOwn(generated as object, k)) problems.push(`no ${k}`);
  if (problems.length > 0) throw new Error(`The generated default of ${setting.schemaName} is unusable: ${problems.join('; ')}`);
  return Object.freeze(thresholds);
})();

function defaults(): HealthThresholds {
  return { ...defaultHealthThresholds };
}

// ---- what health counts, and how far ----

/**
 * The statuses health counts: the ones its rules judge (Pending: is anything waiting; Failed, DeadLettered: the
 * thresholds). Published, Acked and Cancelled rows pile up with history (until the cleanup job deletes them), so health
 * never counts them: that is what keeps a health call's cost independent of the table's size.
 */
export const healthCountedStatuses = ['Pending', 'Failed', 'DeadLettered'] as const satisfies readonly OutboxStatusName[];

export type HealthCountedStatus = (typeof healthCountedStatuses)[number];

/** Rows a health count reads at least (when the thresholds ask for no more): beyond it the count is a lower bound. */
export const healthCountFloor = 100;

/** Rows a health count reads at most: Dataverse's largest page (one request). A threshold above it cannot be judged once reached. */
export const healthCountCeiling = 5000;

/**
 * How many rows each health count reads at most (a `$top`): the count is exact below it and a lower bound ("100+") when
 * it reaches it. Failed and DeadLettered read one more row than their threshold, so a count that reaches its limit is
 * over the threshold and still judged red; thresholds of healthCountCeiling or more cannot be told apart beyond it.
 * The cost of a health call therefore depends on these limits, never on how many rows the table holds.
 */
export function healthCountLimits(thresholds: HealthThresholds): Record<HealthCountedStatus, number> {
  const over = (max: number): number => Math.min(healthCountCeiling, Math.max(healthCountFloor, Math.floor(max) + 1));
  return { Pending: healthCountFloor, Failed: over(thresholds.maxFailed), DeadLettered: over(thresholds.maxDeadLettered) };
}

// ---- evaluation ----

/** The worst of the levels; undefined when none is known. */
export function worstLevel(levels: readonly (HealthLevel | undefined)[]): HealthLevel | undefined {
  let worst: HealthLevel | undefined;
  for (const l of levels) if (l !== undefined && (worst === undefined || healthLevels.indexOf(l) > healthLevels.indexOf(worst))) worst = l;
  return worst;
}

/** A count for people: "1,234", or "50,000+" when it is a lower bound. */
export function formatCount(n: number, atLeast = false): string {
  return `${n.toLocaleString('en-US')}${atLeast ? '+' : ''}`;
}

/** What a health reader could find out. Undefined means "could not be read"; that figure is then not judged. */
export interface HealthFigures {
  now: Date;
  /** Rows per status (a status left out counts 0). */
  counts?: Partial<Record<OutboxStatusName, number>>;
  /**
   * Statuses whose count is only a lower bound: the count read as many rows as it may (healthCountLimits, or an
   * aggregate's AggregateQueryRecordLimit), so the truth is at least that.
   */
  countsCapped?: readonly OutboxStatusName[];
  /** null: nothing is Pending. */
  oldestPendingCreatedOn?: Date | null;
  /** null: nothing was ever published (or retention removed every published row). */
  lastPublishedOn?: Date | null;
  /** obx_PublisherEnabled. */
  publisherEnabled?: boolean;
  /** Whether some publisher holds the lease now (its expiry is in the future). */
  leaseActive?: boolean;
}

export interface HealthIndicator {
  /** The figure shown; undefined when it could not be read (or, for the time since the last publish, there was none). */
  value: number | undefined;
  /** The value is a lower bound ("50,000+"). */
  atLeast: boolean;
  /** Undefined: cannot be judged (figure unknown, or a lower bound that does not reach the threshold). */
  level: HealthLevel | undefined;
}

export interface HealthEvaluation {
  /** The worst known level; undefined when nothing could be judged. */
  level: HealthLevel | undefined;
  /** Why the level is not green, one sentence each, worst rules first. */
  reasons: string[];
  /** Seconds the oldest Pending row has waited (0 when nothing is Pending). */
  oldestPendingAge: HealthIndicator;
  /** Seconds since the last publish; judged only while rows are Pending (see evaluateHealth). */
  sinceLastPublish: HealthIndicator;
  failed: HealthIndicator;
  deadLettered: HealthIndicator;
}

const unknown: HealthIndicator = { value: undefined, atLeast: false, level: undefined };

function secondsFrom(then: Date, now: Date): number {
  return Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
}

/** Where a waiting time turns amber and red, and where a count turns red: for the rules and for people (tooltips). */
export interface HealthLimits {
  pendingAgeSeconds: { amberAbove: number; redAbove: number };
  failed: { redAbove: number };
  deadLettered: { redAbove: number };
}

export function healthLimits(thresholds: HealthThresholds): HealthLimits {
  // Twice the age is a stall, not a slow spell: red. Counts have no amber band: each such row needs an operator.
  const age = thresholds.maxPendingAgeSeconds;
  return {
    pendingAgeSeconds: { amberAbove: age, redAbove: 2 * age },
    failed: { redAbove: thresholds.maxFailed },
    deadLettered: { redAbove: thresholds.maxDeadLettered },
  };
}

/** A waiting time: green up to amberAbove, amber up to redAbove, red beyond (a threshold of 0: red above 0). */
function ageLevel(seconds: number, limits: HealthLimits['pendingAgeSeconds']): HealthLevel {
  if (seconds <= limits.amberAbove) return 'green';
  return seconds <= limits.redAbove ? 'amber' : 'red';
}

/**
 * The one health rule set:
 * - oldest Pending row older than maxPendingAgeSeconds: amber; older than twice that: red (a stall);
 * - while rows are Pending, the time they have waited with no publish (since the later of the last publish and the oldest
 *   Pending row's creation) is judged the same way; a quiet publisher with nothing to do is green, and a first row
 *   committed after a quiet night is not a stall;
 * - more Failed rows than maxFailed, more DeadLettered rows than maxDeadLettered: red (they need an operator); a count
 *   that is only a lower bound is red when the bound is over the threshold, and unknown otherwise;
 * - publisher switched off (obx_PublisherEnabled = no) with rows Pending: amber;
 * - rows Pending and no publisher holds the lease: amber.
 * Figures that are undefined are not judged (the monitor reads neither the setting nor the lease).
 */
export function evaluateHealth(figures: HealthFigures, thresholds: HealthThresholds): HealthEvaluation {
  const { now } = figures;
  const limits = healthLimits(thresholds);
  const capped = figures.countsCapped ?? [];
  const count = (name: OutboxStatusName): number | undefined => (figures.counts ? figures.counts[name] ?? 0 : undefined);
  const shown = (name: OutboxStatusName): string => formatCount(count(name) ?? 0, capped.includes(name));
  const reasons: string[] = [];

  const oldest = figures.oldestPendingCreatedOn;
  const oldestPendingAge: HealthIndicator =
    oldest === undefined
      ? unknown
      : oldest === null
        ? { value: 0, atLeast: false, level: 'green' }
        : { value: secondsFrom(oldest, now), atLeast: false, level: ageLevel(secondsFrom(oldest, now), limits.pendingAgeSeconds) };
  if (oldestPendingAge.level !== 'green' && oldestPendingAge.value !== undefined) {
    reasons.push(`oldest pending row is ${oldestPendingAge.value}s old (threshold ${thresholds.maxPendingAgeSeconds}s)`);
  }

  const pending = count('Pending');
  const last = figures.lastPublishedOn;
  const since = last ? secondsFrom(last, now) : undefined;
  let sinceLastPublish: HealthIndicator;
  if (last === undefined || pending === undefined) sinceLastPublish = { value: since, atLeast: false, level: undefined };
  else if (pending === 0) sinceLastPublish = { value: since, atLeast: false, level: 'green' };
  else {
    // Rows have waited with no publish since the later of the two: before the oldest Pending row existed there was
    // nothing to publish. Without the oldest row's age, and never a publish, nothing says since when: not judged.
    const waitingSince = [last, oldest].filter((d): d is Date => d instanceof Date).map((d) => d.getTime());
    const waited = waitingSince.length === 0 ? undefined : secondsFrom(new Date(Math.max(...waitingSince)), now);
    const level = waited === undefined ? undefined : ageLevel(waited, limits.pendingAgeSeconds);
    sinceLastPublish = { value: since, atLeast: false, level };
    // The oldest row's age already says as much or more (rows waited at most that long): a reason only without it.
    if (level !== undefined && level !== 'green' && oldestPendingAge.level === undefined) {
      reasons.push(`rows are pending and nothing was published for ${waited}s (threshold ${thresholds.maxPendingAgeSeconds}s)`);
    }
  }

  const countIndicator = (name: 'Failed' | 'DeadLettered', max: number): HealthIndicator => {
    const value = count(name);
    if (value === undefined) return unknown;
    const atLeast = capped.includes(name);
    // A lower bound over the threshold is surely over it; under it, the true count may be either side.
    const level: HealthLevel | undefined = value > max ? 'red' : atLeast ? undefined : 'green';
    if (level === 'red') reasons.push(`${shown(name)} ${name} row(s) (threshold ${max})`);
    return { value, atLeast, level };
  };
  const failed = countIndicator('Failed', limits.failed.redAbove);
  const deadLettered = countIndicator('DeadLettered', limits.deadLettered.redAbove);

  const other: HealthLevel[] = [];
  if (pending !== undefined && pending > 0 && figures.publisherEnabled === false) {
    other.push('amber');
    reasons.push(`publisher is disabled (${Settings.PublisherEnabled.schemaName}) with ${shown('Pending')} pending row(s)`);
  }
  if (pending !== undefined && pending > 0 && figures.leaseActive === false) {
    other.push('amber');
    reasons.push('rows are pending but no publisher holds the lease');
  }

  return {
    level: worstLevel([oldestPendingAge.level, sinceLastPublish.level, failed.level, deadLettered.level, ...other]),
    reasons,
    oldestPendingAge,
    sinceLastPublish,
    failed,
    deadLettered,
  };
}
