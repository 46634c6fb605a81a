// An in-memory stand-in for the outbox table with ETags, for the command unit tests (the Web API version is tested
// against the Dataverse emulator). `beforeUpdate` lets a test play the publisher changing a row mid-command.
import { OutboxMessage } from '@dataverse-outbox/contract';
import type { OutboxRowState, OutboxRowStore, UpdateOutcome } from '../../src/commands/row-store';

export interface MemoryRow {
  status: number;
  replayCount: number;
  version: number;
  [column: string]: unknown;
}

export class MemoryRowStore implements OutboxRowStore {
  readonly rows = new Map<string, MemoryRow>();
  readonly updates: Array<{ id: string; patch: Record<string, unknown> }> = [];
  failOn = new Set<string>();
  beforeUpdate: ((id: string, row: MemoryRow) => void) | undefined;
  /** The ETag `get` reports for a row (default W/"<version>"); a test passes hostile or missing ones. */
  etagOf: (id: string, row: MemoryRow) => string | undefined = (_id, row) => `W/"${row.version}"`;

  add(id: string, status: number, replayCount = 0): this {
    this.rows.set(id, { status, replayCount, version: 1 });
    return this;
  }

  async get(id: string): Promise<OutboxRowState | undefined> {
    if (this.failOn.has(id)) throw new Error(`network error reading ${id}`);
    const row = this.rows.get(id);
    return row ? { id, status: row.status, replayCount: row.replayCount, etag: this.etagOf(id, row) } : undefined;
  }

  async statuses(ids: readonly string[]): Promise<Map<string, number | null>> {
    const result = new Map<string, number | null>();
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row) result.set(id, row.status);
    }
    return result;
  }

  async update(id: string, patch: Record<string, unknown>, etag: string): Promise<UpdateOutcome> {
    const row = this.rows.get(id);
    if (row && this.beforeUpdate) this.beforeUpdate(id, row);
    if (!row) return 'missing';
    if (etag !== `W/"${row.version}"`) return 'changed';
    this.updates.push({ id, patch });
    const next = { ...row, ...patch, version: row.version + 1 } as MemoryRow;
    next.status = patch[OutboxMessage.columns.status] as number;
    const replayCount = patch[OutboxMessage.columns.replayCount];
    if (typeof replayCount === 'number') next.replayCount = replayCount;
    this.rows.set(id, next);
    return 'updated';
  }
}
