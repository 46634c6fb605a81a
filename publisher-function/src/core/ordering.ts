// Per-key ordering (invariant 4) without blocking other keys (invariant 5). A row waits only for earlier rows of its
// own obx_sessionkey; rows without a key never wait. A key is blocked by the row of it that backs off after a
// transient failure. Its later rows are not written: the publish query leaves blocked keys out (excludedKeys), so
// they neither overtake the head row nor fill every cycle's $top, and a retry costs one write however long the key's
// queue is. Beyond the query's bound (EXCLUSION_LIMITS) a key falls back to holds: its later rows get obx_nextattempton
// pushed to the blocker's, and those held rows block too (the write of a backoff may be lost while the holds land).
import { compareSequence, type OutboxRow } from './row';

export interface KeyBlocker {
  rowId: string;
  sequence: string;
  /** When the blocking row is due again. */
  until: Date;
}

/** Rows of each key that wait (backing off or held). Rebuilt from the store when a publisher takes the lease. */
export class KeyBlockers {
  private readonly byKey = new Map<string, Map<string, KeyBlocker>>();

  /** `limits` bound the keys the publish query leaves out (maxKeys 0: every blocked key falls back to written holds). */
  constructor(private readonly limits: ExclusionLimits = EXCLUSION_LIMITS) {}

  /** From Pending rows with a key and a future obx_nextattempton, in any order: each of them blocks its key. */
  static fromBackingOffRows(rows: readonly OutboxRow[]): KeyBlockers {
    const blockers = new KeyBlockers();
    for (const row of rows) {
      if (row.sessionKey && row.nextAttemptOn) blockers.block(row.sessionKey, { rowId: row.id, sequence: row.sequence, until: row.nextAttemptOn });
    }
    return blockers;
  }

  /** Keys with at least one waiting row. */
  get size(): number {
    return this.byKey.size;
  }

  /** The earliest waiting row of a key. */
  get(key: string): KeyBlocker | undefined {
    let first: KeyBlocker | undefined;
    for (const b of this.byKey.get(key)?.values() ?? []) if (!first || compareSequence(b.sequence, first.sequence) < 0) first = b;
    return first;
  }

  /** Waiting rows of a key, earliest first. */
  waiting(key: string): KeyBlocker[] {
    return [...(this.byKey.get(key)?.values() ?? [])].sort((a, b) => compareSequence(a.sequence, b.sequence));
  }

  /** The row waits until `blocker.until` (a later call for the same row replaces it). */
  block(key: string, blocker: KeyBlocker): void {
    let rows = this.byKey.get(key);
    if (!rows) this.byKey.set(key, (rows = new Map()));
    rows.set(blocker.rowId, blocker);
  }

  /** The row reached a final state, was sent, or turned out not to wait any more: it no longer blocks its key. */
  releaseRow(key: string, rowId: string): void {
    const rows = this.byKey.get(key);
    if (!rows?.delete(rowId)) return;
    if (rows.size === 0) this.byKey.delete(key);
  }

  clear(): void {
    this.byKey.clear();
  }

  /**
   * Keys the publish query may leave out at `now`: every waiting row of the key is still in its wait or in flight (a
   * key with a due row must be read so that row is attempted). Oldest blocked key first, bounded by `limits` in count and in the
   * length the keys add to the query URL (the constructor's limits); the keys beyond the bound are read, and their
   * later rows held (written).
   */
  excludedKeys(now: Date, inFlight?: ReadonlySet<string>): string[] {
    const limits = this.limits;
    const keys: string[] = [];
    let length = 0;
    for (const [key, rows] of this.byKey) {
      if (keys.length >= limits.maxKeys) break;
      // A row whose outcome is still being written is not read anyway; it comes back once the write lands.
      if (![...rows.values()].every((b) => b.until.getTime() > now.getTime() || inFlight?.has(b.rowId))) continue;
      // A lone surrogate cannot be percent-encoded: such a key is read and held instead.
      if (LONE_SURROGATE.test(key)) continue;
      const cost = exclusionLengthOf(key);
      if (length + cost > limits.maxUrlLength) continue;
      length += cost;
      keys.push(key);
    }
    return keys;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface ExclusionLimits {
  /** Keys left out by one publish query. */
  maxKeys: number;
  /** Characters (URL-encoded) the exclusion may add to the query URL. */
  maxUrlLength: number;
}

/**
 * 100 keys and 8,000 URL characters: well inside Dataverse's URL limit (about 32 KB for a GET) and its condition
 * limits, and more blocked keys than a healthy outbox ever has at once (a target outage blocks every key of it: those
 * beyond the bound fall back to holds, the earlier behaviour).
 */
export const EXCLUSION_LIMITS: ExclusionLimits = { maxKeys: 100, maxUrlLength: 8000 };

/**
 * Room one key may take in the query URL, at worst: every UTF-8 byte percent-encoded (3 characters), quotes doubled,
 * and the condition around it. (Never encodeURIComponent here: it throws on a lone surrogate, which a key may hold.)
 */
function exclusionLengthOf(key: string): number {
  const quotes = key.length - key.replace(/'/g, '').length;
  return 3 * (Buffer.byteLength(key, 'utf8') + quotes) + 64;
}

export interface OrderingPlan {
  /** Rows to attempt now, in sequence order. */
  attempt: OutboxRow[];
  /** Rows held behind an earlier row of their key, with the time to look again. */
  held: { row: OutboxRow; until: Date; behind: string }[];
}

export interface OrderingContext {
  now: Date;
  /** Rows whose outcome an earlier cycle is still writing: not read now, yet they may still be waiting. */
  inFlight?: ReadonlySet<string>;
}

/**
 * Splits due rows (already in sequence order) into those to attempt and those held. A waiting row that is itself due
 * is attempted (its turn came), and its later siblings follow it in the same cycle. A waiting row that is overdue yet
 * was not read (and is not in flight) is no longer Pending, or its wait was never written: it is forgotten, since a
 * Pending row that is due always comes back in sequence order ahead of its later siblings.
 */
export function planOrdering(dueRows: readonly OutboxRow[], blockers: KeyBlockers, context: OrderingContext): OrderingPlan {
  const attempt: OutboxRow[] = [];
  const held: OrderingPlan['held'] = [];
  const dueIds = new Set(dueRows.map((r) => r.id));
  const now = context.now.getTime();
  for (const row of dueRows) {
    const key = row.sessionKey;
    const blocker = key ? firstBlockerAhead(blockers, key, row, dueIds, now, context.inFlight) : undefined;
    if (blocker) held.push({ row, until: blocker.until, behind: blocker.rowId });
    else attempt.push(row);
  }
  return { attempt, held };
}

/** Stored datetimes lose their milliseconds: a wait counts as over only this long after it ended. */
const STORED_TIME_SLACK_IN_MS = 1000;

function firstBlockerAhead(blockers: KeyBlockers, key: string, row: OutboxRow, dueIds: ReadonlySet<string>, now: number, inFlight?: ReadonlySet<string>): KeyBlocker | undefined {
  for (const b of blockers.waiting(key)) {
    if (compareSequence(b.sequence, row.sequence) >= 0) return undefined;
    if (dueIds.has(b.rowId)) continue;
    const until = b.until.getTime();
    if (until > now) return b;
    // Overdue yet not read: its outcome is still being written, or it is within the slack; look again shortly.
    if (inFlight?.has(b.rowId) || until + STORED_TIME_SLACK_IN_MS > now) return { ...b, until: new Date(now + STORED_TIME_SLACK_IN_MS) };
    blockers.releaseRow(key, b.rowId);
  }
  return undefined;
}

/** Groups rows by target, groups ordered by their first row so that earlier rows go first. */
export function groupByTarget(rows: readonly OutboxRow[]): { target: string; rows: OutboxRow[] }[] {
  const groups = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const list = groups.get(row.target) ?? [];
    list.push(row);
    groups.set(row.target, list);
  }
  return [...groups.entries()].map(([target, list]) => ({ target, rows: list }));
}
