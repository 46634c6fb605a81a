// The inbox logic both databases share: dedup-then-work in one transaction (and for a batch: one commit, savepoints
// only after a failure), the InboxFailed / MigrationFailed /
// ConsumerClosed errors, purge batching and the acknowledgement ledger's argument checks. An adapter (postgres.ts,
// sqlite.ts) only supplies the SQL and its connection handling through InboxDialect.
import { ConsumerError } from '../errors';
import {
  assertBatchSize,
  type InboxBatchItem,
  type InboxBatchResult,
  type InboxEntry,
  type InboxProcessResult,
  type InboxRecord,
  type InboxStore,
  type OperationOptions,
  type PurgeOptions,
  type UnacknowledgedQuery,
} from '../inbox';
import { throwIfAborted } from '../internal/abort';

/** One open inbox transaction, as the core drives it. */
export interface InboxTransaction<THandle> {
  /** What the handler receives to do its own writes in this transaction. */
  readonly handle: THandle;
  /** Inserts the record unless its id is present (or a concurrent transaction commits it first): the entry, or undefined. */
  insert(record: InboxRecord): Promise<InboxEntry | undefined>;
  /** The entry for an id, read in this transaction. */
  read(outboxMessageId: string): Promise<InboxEntry | undefined>;
  /** insert for many records in one statement where the database allows it (in id order): the entries inserted. */
  insertMany(records: readonly InboxRecord[]): Promise<InboxEntry[]>;
  /** The entries present for these ids, read in this transaction. */
  readMany(outboxMessageIds: readonly string[]): Promise<InboxEntry[]>;
  savepoint(name: string): Promise<void>;
  /** Undoes everything since the savepoint; the transaction stays usable. */
  rollbackToSavepoint(name: string): Promise<void>;
  /** Deletes an entry inserted in this transaction (a batch member whose work failed). */
  remove(outboxMessageId: string): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Runs one inbox step, turning the database's failure into ConsumerError InboxFailed (a ConsumerError passes as is). */
export type InboxStep = <T>(what: string, outboxMessageId: string | undefined, step: () => T | Promise<T>) => Promise<T>;

/** What an adapter supplies: SQL and connections, no inbox rules. */
export interface InboxDialect<THandle> {
  readonly kind: InboxStore<THandle>['kind'];
  /** For messages: `PostgreSQL`, `SQLite`. */
  readonly databaseName: string;
  /** Applies the missing migrations (the core reports a failure as MigrationFailed). */
  migrate(): Promise<void>;
  /**
   * Opens a transaction (begin failures through `step`), runs `work`, and rolls back whatever `work` left open (it
   * threw, or ended neither with commit nor rollback) before the connection goes back.
   */
  transaction<T>(outboxMessageId: string | undefined, step: InboxStep, work: (transaction: InboxTransaction<THandle>) => Promise<T>): Promise<T>;
  read(outboxMessageId: string): Promise<InboxEntry | undefined>;
  count(): Promise<number>;
  /** Deletes at most `limit` entries processed before `olderThan`, oldest first, atomically; returns how many. */
  purgeBatch(olderThan: Date, limit: number): Promise<number>;
  /** Records the acknowledgements as sent (entries already recorded keep their time); `ids` is never empty. */
  markAcknowledged(ids: readonly string[]): Promise<void>;
  listUnacknowledged(query: UnacknowledgedQuery): Promise<InboxEntry[]>;
  /** Releases what the adapter opened itself (the core calls it once). */
  close(): Promise<void>;
}

/** The inbox columns both schemas share (they differ only in how processed_at is stored). */
export interface InboxColumns {
  outbox_message_id: string;
  outbox_id: string | null;
  event_type: string | null;
  session_key: string | null;
  service_bus_message_id: string | null;
}

export const inboxKeyColumns = 'outbox_message_id, outbox_id, event_type, session_key, service_bus_message_id';

/** The record's values in the order of inboxKeyColumns (NULL for what it lacks). */
export function inboxRecordValues(record: InboxRecord): [string, string | null, string | null, string | null, string | null] {
  return [record.outboxMessageId, record.outboxId ?? null, record.eventType ?? null, record.sessionKey ?? null, record.serviceBusMessageId ?? null];
}

export function toInboxEntry(row: InboxColumns, processedAt: Date): InboxEntry {
  return {
    outboxMessageId: row.outbox_message_id,
    ...(row.outbox_id === null ? {} : { outboxId: row.outbox_id }),
    ...(row.event_type === null ? {} : { eventType: row.event_type }),
    ...(row.session_key === null ? {} : { sessionKey: row.session_key }),
    ...(row.service_bus_message_id === null ? {} : { serviceBusMessageId: row.service_bus_message_id }),
    processedAt,
  };
}

export function inboxStep(databaseName: string): InboxStep {
  return async (what, outboxMessageId, step) => {
    try {
      return await step();
    } catch (error) {
      if (error instanceof ConsumerError) throw error;
      throw new ConsumerError('InboxFailed', `${databaseName} inbox: ${what} failed: ${(error as Error).message}`, {
        cause: error,
        ...(outboxMessageId === undefined ? {} : { outboxMessageId }),
      });
    }
  };
}

/** How one batch transaction ended: committed with a result per item, or rolled back by the work at `index`. */
type BatchOutcome<T> =
  | { status: 'committed'; results: InboxBatchResult<T>[] }
  /** `unclaimed`: the results known without running a work (duplicates), undefined for the records that were new. */
  | { status: 'rolled back'; index: number; error: unknown; unclaimed: (InboxBatchResult<T> | undefined)[] };

/** An inbox store over a dialect, and `runInTransaction` for adapters that offer transactions of their own. */
export interface InboxCore<THandle> {
  store: InboxStore<THandle>;
  /** `work` in one inbox transaction, committed when it returns (throws ConsumerClosed once closed). */
  runInTransaction<T>(work: (handle: THandle) => T | Promise<T>): Promise<T>;
}

export function createInboxCore<THandle>(dialect: InboxDialect<THandle>): InboxCore<THandle> {
  const step = inboxStep(dialect.databaseName);
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new ConsumerError('ConsumerClosed', `This ${dialect.databaseName} inbox store is closed; create a new one.`);
  }

  function ready(opts: OperationOptions): void {
    assertOpen();
    throwIfAborted(opts.abortSignal);
  }

  async function runInTransaction<T>(work: (handle: THandle) => T | Promise<T>): Promise<T> {
    assertOpen();
    return dialect.transaction(undefined, step, async (tx) => {
      const result = await work(tx.handle);
      await step('commit', undefined, () => tx.commit());
      return result;
    });
  }

  /**
   * One batch transaction: every record first (one statement: duplicates are known before any work runs), then the work
   * of each new record, one after the other, then one commit. `optimistic`: no savepoints; the first work that throws
   * rolls the whole transaction back and is reported, with the results already known without running anything
   * (duplicates). `savepoints`: each work under a savepoint of its own; one that throws rolls back only its own writes
   * and record, and the batch commits.
   */
  async function runBatch<T>(tx: InboxTransaction<THandle>, items: readonly InboxBatchItem<THandle, T>[], mode: 'optimistic' | 'savepoints'): Promise<BatchOutcome<T>> {
    const ids = items.map((item) => item.record.outboxMessageId);
    const inserted = new Map((await step('insert batch', undefined, () => tx.insertMany(items.map((i) => i.record)))).map((e) => [e.outboxMessageId, e]));
    const duplicateIds = ids.filter((id) => !inserted.has(id));
    const existing =
      duplicateIds.length === 0 ? new Map<string, InboxEntry>() : new Map((await step('read duplicates', undefined, () => tx.readMany(duplicateIds))).map((e) => [e.outboxMessageId, e]));
    const results: (InboxBatchResult<T> | undefined)[] = ids.map((id) => {
      if (inserted.has(id)) return undefined;
      const duplicate = existing.get(id);
      return duplicate
        ? { status: 'duplicate', entry: duplicate }
        : { status: 'failed', error: new ConsumerError('InboxFailed', `Inbox entry ${id} conflicted but cannot be read`, { outboxMessageId: id }) };
    });
    for (const [index, item] of items.entries()) {
      const entry = inserted.get(item.record.outboxMessageId);
      if (!entry) continue;
      const id = entry.outboxMessageId;
      if (mode === 'optimistic') {
        try {
          results[index] = { status: 'processed', entry, result: await item.work(tx.handle) };
        } catch (error) {
          await step('rollback', id, () => tx.rollback());
          return { status: 'rolled back', index, error, unclaimed: results.map((r) => (r?.status === 'processed' ? undefined : r)) };
        }
        continue;
      }
      // Savepoints stay unreleased (one round trip less each): rolling back to one keeps the work before it.
      const savepoint = `obx_item_${index}`;
      await step('savepoint', id, () => tx.savepoint(savepoint));
      try {
        results[index] = { status: 'processed', entry, result: await item.work(tx.handle) };
      } catch (error) {
        // Only this message's writes and record go; the handler's error passes unchanged.
        await step('rollback to savepoint', id, () => tx.rollbackToSavepoint(savepoint));
        await step('remove failed entry', id, () => tx.remove(id));
        results[index] = { status: 'failed', error };
      }
    }
    await step('commit', undefined, () => tx.commit());
    return { status: 'committed', results: results as InboxBatchResult<T>[] };
  }

  const store: InboxStore<THandle> = {
    kind: dialect.kind,

    async migrate(opts: OperationOptions = {}): Promise<void> {
      ready(opts);
      try {
        await dialect.migrate();
      } catch (error) {
        throw new ConsumerError('MigrationFailed', `${dialect.databaseName} inbox migration failed: ${(error as Error).message}`, { cause: error });
      }
    },

    async processOnce<T>(record: InboxRecord, work: (transaction: THandle) => T | Promise<T>, opts: OperationOptions = {}): Promise<InboxProcessResult<T>> {
      ready(opts);
      const id = record.outboxMessageId;
      return dialect.transaction(id, step, async (tx): Promise<InboxProcessResult<T>> => {
        const entry = await step('insert', id, () => tx.insert(record));
        if (!entry) {
          // Already processed (or committed meanwhile by a concurrent delivery): nothing is written, work does not run.
          const existing = await step('read duplicate', id, () => tx.read(id));
          await step('rollback', id, () => tx.rollback());
          if (!existing) throw new ConsumerError('InboxFailed', `Inbox entry ${id} conflicted but cannot be read`, { outboxMessageId: id });
          return { status: 'duplicate', entry: existing };
        }
        // The handler's own errors pass unchanged (the dialect rolls back).
        const result = await work(tx.handle);
        await step('commit', id, () => tx.commit());
        return { status: 'processed', entry, result };
      });
    },

    async processBatch<T>(items: readonly InboxBatchItem<THandle, T>[], opts: OperationOptions = {}): Promise<InboxBatchResult<T>[]> {
      ready(opts);
      const ids = items.map((item) => item.record.outboxMessageId);
      if (new Set(ids).size !== ids.length) throw new RangeError('processBatch: the outboxMessageIds of one batch must be distinct');
      if (items.length === 0) return [];
      // First try: no savepoints (a SAVEPOINT per message was a round trip and a subtransaction each, for a failure that
      // rarely comes). When a work throws, the whole transaction is rolled back: that message fails, and the others run
      // again in a second transaction, a savepoint each, so whatever fails there rolls back only its own message.
      const first = await dialect.transaction(undefined, step, (tx) => runBatch(tx, items, 'optimistic'));
      if (first.status === 'committed') return first.results;
      // Duplicates (and unreadable conflicts) stay what the first try found; the failed work is not run again.
      const results = first.unclaimed.slice();
      results[first.index] = { status: 'failed', error: first.error };
      const again = items.flatMap((item, index) => (results[index] === undefined ? [{ item, index }] : []));
      if (again.length > 0) {
        const second = await dialect.transaction(undefined, step, (tx) => runBatch(tx, again.map((a) => a.item), 'savepoints'));
        // With savepoints a failing work is its own result and the batch commits; anything else is the store's failure.
        if (second.status !== 'committed') throw new ConsumerError('InboxFailed', `${dialect.databaseName} inbox: a batch with savepoints was rolled back`);
        again.forEach((a, i) => (results[a.index] = second.results[i]));
      }
      return results as InboxBatchResult<T>[];
    },

    async get(outboxMessageId: string, opts: OperationOptions = {}): Promise<InboxEntry | undefined> {
      ready(opts);
      return step('read', outboxMessageId, () => dialect.read(outboxMessageId));
    },

    async count(opts: OperationOptions = {}): Promise<number> {
      ready(opts);
      return step('count', undefined, () => dialect.count());
    },

    async purge(opts: PurgeOptions): Promise<number> {
      assertOpen();
      const batchSize = opts.batchSize ?? 1000;
      assertBatchSize(batchSize);
      let deleted = 0;
      for (let batch = 0; opts.maxBatches === undefined || batch < opts.maxBatches; batch++) {
        throwIfAborted(opts.abortSignal);
        // One short transaction per batch, so message processing takes turns with the purge.
        const n = await step('purge', undefined, () => dialect.purgeBatch(opts.olderThan, batchSize));
        deleted += n;
        if (n < batchSize) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return deleted;
    },

    async markAcknowledged(outboxMessageIds: readonly string[], opts: OperationOptions = {}): Promise<void> {
      ready(opts);
      if (outboxMessageIds.length === 0) return;
      await step('record acknowledgements', undefined, () => dialect.markAcknowledged(outboxMessageIds));
    },

    async listUnacknowledged(query: UnacknowledgedQuery, opts: OperationOptions = {}): Promise<InboxEntry[]> {
      ready(opts);
      assertBatchSize(query.limit);
      return step('list unacknowledged', undefined, () => dialect.listUnacknowledged(query));
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await dialect.close();
    },
  };
  return { store, runInTransaction };
}
