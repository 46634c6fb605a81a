// An independent observer of the Dataverse emulator's SQLite file (read-only, its own connection): exact counts per
// status at any size (the Web API caps $count at 5,000 and aggregates at 50,000 rows, as Dataverse does) and SQLite's
// query plan for the publish query. Used for assertions and explanations, never by the product under test.
import Database from 'better-sqlite3';
import { OutboxMessage, OutboxStatus, partitionSlotRange } from '@dataverse-outbox/contract';

const C = OutboxMessage.columns;
const T = OutboxMessage.logicalName;

export class StoreObserver {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
  }

  countsByStatus(): Record<string, number> {
    const names = new Map(Object.entries(OutboxStatus).map(([k, v]) => [v as number, k]));
    const rows = this.db.prepare(`SELECT ${C.status} AS s, COUNT(*) AS n FROM ${T} GROUP BY ${C.status}`).all() as { s: number; n: number }[];
    return Object.fromEntries(rows.map((r) => [names.get(r.s) ?? String(r.s), r.n]));
  }

  total(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM ${T}`).get() as { n: number }).n;
  }

  /** Rows in one status per partition of `count` (by obx_partitionslot's range; rows without a slot are partition 0's). */
  countByPartition(status: number, count: number): number[] {
    const slot = C.partitionSlot;
    const cases = Array.from({ length: count - 1 }, (_, p) => `WHEN ${slot} < ${partitionSlotRange(p, count).to} THEN ${p}`).join(' ');
    const partition = `CASE WHEN ${slot} IS NULL THEN 0 ${cases} ELSE ${count - 1} END`;
    const rows = this.db.prepare(`SELECT ${partition} AS p, COUNT(*) AS n FROM ${T} WHERE ${C.status} = ? GROUP BY p`).all(status) as { p: number; n: number }[];
    const out = new Array<number>(count).fill(0);
    for (const r of rows) out[r.p] = r.n;
    return out;
  }

  /** Ids of rows in one status. */
  idsWithStatus(status: number): string[] {
    return (this.db.prepare(`SELECT ${C.id} AS id FROM ${T} WHERE ${C.status} = ?`).all(status) as { id: string }[]).map((r) => r.id);
  }

  countIds(ids: readonly string[]): number {
    let n = 0;
    const stmt = this.db.prepare(`SELECT COUNT(*) AS n FROM ${T} WHERE ${C.id} = ?`);
    for (const id of ids) n += (stmt.get(id) as { n: number }).n;
    return n;
  }

  /** Rows the cleanup job's criteria select (finished statuses, modifiedon before the cutoff). */
  countFinishedBefore(statuses: readonly number[], cutoffIso: string): number {
    return (
      this.db.prepare(`SELECT COUNT(*) AS n FROM ${T} WHERE ${C.status} IN (${statuses.map(() => '?').join(',')}) AND ${C.modifiedOn} < ?`).get(...statuses, cutoffIso) as { n: number }
    ).n;
  }

  /** SQLite's plan for the publish query (same shape as the emulator's translation of the publisher's $filter/$orderby/$top). */
  publishQueryPlan(): string[] {
    const sql = `SELECT * FROM ${T} WHERE ${C.status} = ? AND (${C.nextAttemptOn} IS NULL OR ${C.nextAttemptOn} <= ?) ORDER BY ${C.sequence} ASC, ${C.id} ASC LIMIT 100`;
    return (this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(OutboxStatus.Pending, new Date().toISOString()) as { detail: string }[]).map((r) => r.detail);
  }

  indexes(): string[] {
    return (this.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`).all(T) as { name: string }[]).map((r) => r.name);
  }

  close(): void {
    this.db.close();
  }
}
