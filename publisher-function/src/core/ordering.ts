// Per-key ordering (invariant 4) without blocking other keys (invariant 5). A row waits only for earlier rows of its
// own obx_sessionkey; rows without a key never wait. A key is blocked while one of its rows is backing off after a
// transient failure; the blocker's later siblings are held (their obx_nextattempton pushed to the blocker's), so they
// neither overtake it nor fill every cycle's $top and starve other keys.
import { compareSequence, type OutboxRow } from './row';

export interface KeyBlocker {
  rowId: string;
  sequence: string;
  /** When the blocking row is due again. */
  until: Date;
}

/** Keys currently blocked by a row backing off. Rebuilt from the store when a publisher takes the lease. */
export class KeyBlockers {
  private readonly byKey = new Map<string, KeyBlocker>();

  /** From Pending rows with a key and a future obx_nextattempton, in any order: the earliest per key blocks it. */
  static fromBackingOffRows(rows: readonly OutboxRow[]): KeyBlockers {
    const blockers = new KeyBlockers();
    for (const row of rows) {
      if (!row.sessionKey || !row.nextAttemptOn) continue;
      const current = blockers.byKey.get(row.sessionKey);
      if (!current || compareSequence(row.sequence, current.sequence) < 0) {
        blockers.byKey.set(row.sessionKey, { rowId: row.id, sequence: row.sequence, until: row.nextAttemptOn });
      }
    }
    return blockers;
  }

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): KeyBlocker | undefined {
    return this.byKey.get(key);
  }

  block(key: string, blocker: KeyBlocker): void {
    const current = this.byKey.get(key);
    if (!current || current.rowId === blocker.rowId || compareSequence(blocker.sequence, current.sequence) < 0) this.byKey.set(key, blocker);
  }

  /** The blocking row reached a final state (or is being attempted): its key flows again. */
  releaseRow(key: string, rowId: string): void {
    if (this.byKey.get(key)?.rowId === rowId) this.byKey.delete(key);
  }

  clear(): void {
    this.byKey.clear();
  }
}

export interface OrderingPlan {
  /** Rows to attempt now, in sequence order. */
  attempt: OutboxRow[];
  /** Rows held behind an earlier row of their key, with the time to look again. */
  held: { row: OutboxRow; until: Date; behind: string }[];
}

/**
 * Splits due rows (already in sequence order) into those to attempt and those held. A blocker that is itself due is
 * attempted (its turn came), and its siblings after it follow it in the same cycle.
 */
export function planOrdering(dueRows: readonly OutboxRow[], blockers: KeyBlockers): OrderingPlan {
  const attempt: OutboxRow[] = [];
  const held: OrderingPlan['held'] = [];
  const dueIds = new Set(dueRows.map((r) => r.id));
  for (const row of dueRows) {
    const key = row.sessionKey;
    if (!key) {
      attempt.push(row);
      continue;
    }
    const blocker = blockers.get(key);
    if (blocker && blocker.rowId !== row.id && !dueIds.has(blocker.rowId) && compareSequence(blocker.sequence, row.sequence) < 0) {
      held.push({ row, until: blocker.until, behind: blocker.rowId });
    } else {
      attempt.push(row);
    }
  }
  return { attempt, held };
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
