// The inbox port: what the consumer needs from a database to make a handler's effect happen once per logical message.
// Adapters: inbox/postgres.ts (pg) and inbox/sqlite.ts (better-sqlite3). The consumer core knows nothing of SQL.

/** Options every async operation accepts (Azure SDK style). */
export interface OperationOptions {
  abortSignal?: AbortSignal;
}

/** What is recorded for a message when its effect commits. */
export interface InboxRecord {
  /** The logical id (`outbox-message-id`): the unique key. */
  outboxMessageId: string;
  /** The outbox row id (`outbox-id`), kept so a duplicate can be acknowledged again. */
  outboxId?: string;
  eventType?: string;
  sessionKey?: string;
  /** The Service Bus messageId of the delivery that applied the effect (it carries `#r<n>` for replays). */
  serviceBusMessageId?: string;
}

export interface InboxEntry extends InboxRecord {
  /** When the effect committed (database clock for PostgreSQL, process clock for SQLite). */
  processedAt: Date;
}

export type InboxProcessResult<T> =
  /** The record was inserted and `work` ran in the same transaction, which committed. */
  | { status: 'processed'; entry: InboxEntry; result: T }
  /** The id was already in the inbox: `work` did not run and nothing was written. */
  | { status: 'duplicate'; entry: InboxEntry };

/** One message of a batch: its record and the work to run with the batch's transaction when the record is new. */
export interface InboxBatchItem<TTransaction, T> {
  record: InboxRecord;
  work: (transaction: TTransaction) => T | Promise<T>;
}

export type InboxBatchResult<T> =
  | InboxProcessResult<T>
  /** `work` threw: its writes and its inbox record were rolled back, the others are unaffected. */
  | { status: 'failed'; error: unknown };

export interface PurgeOptions extends OperationOptions {
  /** Delete entries processed before this instant. */
  olderThan: Date;
  /** Rows deleted per statement (short transactions, no long locks). Default 1000. */
  batchSize?: number;
  /** Stop after this many batches (keeps one purge run bounded). Default: until nothing is left. */
  maxBatches?: number;
}

export interface UnacknowledgedQuery {
  /** Only entries processed before this instant (younger ones may still be on their way). */
  processedBefore: Date;
  limit: number;
}

/**
 * An inbox store. `TTransaction` is what your handler receives to do its own writes inside the inbox transaction:
 * a `pg.PoolClient` (PostgreSQL) or the `better-sqlite3` Database (SQLite) while a transaction is open on it.
 */
export interface InboxStore<TTransaction> {
  readonly kind: 'postgres' | 'sqlite';
  /** Applies the versioned migrations that are missing; safe to call many times and from many processes at once. */
  migrate(options?: OperationOptions): Promise<void>;
  /**
   * In ONE transaction: insert `record` (unique on outboxMessageId) and run `work` with the transaction, then commit.
   * When the id is already present (or a concurrent transaction commits it first), `work` does not run.
   * Errors thrown by `work` roll everything back and are rethrown unchanged; the store's own failures are
   * ConsumerError `InboxFailed`.
   */
  processOnce<T>(
    record: InboxRecord,
    work: (transaction: TTransaction) => T | Promise<T>,
    options?: OperationOptions,
  ): Promise<InboxProcessResult<T>>;
  /**
   * processOnce for many messages in ONE transaction: the records are inserted first (one statement, duplicates skipped),
   * then each new record's `work` runs, one after the other, and the batch commits once. A `work` that throws fails
   * alone (result `failed`, with the error unchanged) and leaves nothing behind; the others still commit: the first
   * transaction is rolled back and the others run again in a second one, each under a savepoint of its own (so a work
   * may run twice, but its writes commit once). The store's own failures (begin, insert, commit) throw ConsumerError
   * `InboxFailed` and nothing of the batch is committed. Results are in the order of `items`; the outboxMessageIds of
   * one batch must be distinct. Optional: a store without it is used one message at a time.
   */
  processBatch?<T>(items: readonly InboxBatchItem<TTransaction, T>[], options?: OperationOptions): Promise<InboxBatchResult<T>[]>;
  /** The entry for an id, if it has been processed (and not purged). */
  get(outboxMessageId: string, options?: OperationOptions): Promise<InboxEntry | undefined>;
  count(options?: OperationOptions): Promise<number>;
  /** Deletes old entries in batches; returns how many were deleted. Run it off the hot path (see startInboxRetention). */
  purge(options: PurgeOptions): Promise<number>;
  /**
   * Records that the acknowledgements of these entries reached obx_AckQueue. Entries never recorded are found by
   * listUnacknowledged and acknowledged again, so an acknowledgement lost to a crash after commit is sent later.
   */
  markAcknowledged(outboxMessageIds: readonly string[], options?: OperationOptions): Promise<void>;
  /** Entries processed before `processedBefore` whose acknowledgement is not recorded, oldest first, at most `limit`. */
  listUnacknowledged(query: UnacknowledgedQuery, options?: OperationOptions): Promise<InboxEntry[]>;
  /** Releases the connections this store opened itself (never a pool or database you passed in). */
  close(): Promise<void>;
}

/** Identifiers are interpolated into SQL, so only plain names are accepted. */
export function assertSqlIdentifier(value: string, what: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,47}$/.test(value)) {
    throw new TypeError(`${what} must be a plain SQL identifier (letters, digits, underscore; max 48 chars), got "${value}"`);
  }
}

export function assertBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
}
