// SQLite inbox adapter (better-sqlite3, the embedded default): only the SQL and the connection; the inbox logic is
// core.ts. One connection per store: transactions of concurrent messages are serialised by a mutex (SQLite has a single
// writer anyway). BEGIN IMMEDIATE takes the write lock up front, and waiting for another connection's lock is an async retry loop rather than SQLite's busy_timeout, which would block
// the event loop (and deadlock two connections of one process, as the lock holder could never reach COMMIT).
import Database from 'better-sqlite3';

import { assertSqlIdentifier, type InboxEntry, type InboxStore } from '../inbox';
import { sleep } from '../internal/abort';
import { Mutex } from '../internal/mutex';
import { createInboxCore, inboxKeyColumns, inboxRecordValues, toInboxEntry, type InboxColumns, type InboxCore, type InboxDialect } from './core';

/**
 * What a handler receives with the SQLite inbox: the database, with the inbox transaction open on it. Use it synchronously
 * (better-sqlite3 is synchronous); the transaction commits after your handler returns.
 */
export type SqliteInboxTransaction = Database.Database;

export interface SqliteInboxOptions {
  /** A database you own (the store never closes it), or ... */
  database?: Database.Database;
  /** ... a file path (created if missing; `:memory:` for tests); the store opens and closes it. */
  filename?: string;
  /** Inbox table name; default `outbox_inbox`. The migrations table is `<tableName>_migrations`. */
  tableName?: string;
  /** How long to wait for another connection's write lock before failing with InboxFailed, default 10000. */
  busyTimeoutInMs?: number;
}

export interface SqliteInboxStore extends InboxStore<SqliteInboxTransaction> {
  readonly kind: 'sqlite';
  readonly database: Database.Database;
  readonly tableName: string;
  /**
   * Runs `work` in a transaction serialised with message processing (for application writes outside handlers,
   * and for consistent multi-statement reads).
   */
  withTransaction<T>(work: (database: SqliteInboxTransaction) => T | Promise<T>): Promise<T>;
}

export interface SqliteMigration {
  version: number;
  name: string;
  statements: readonly string[];
}

interface InboxRow extends InboxColumns {
  processed_at_ms: number;
}

function toEntry(row: InboxRow): InboxEntry {
  return toInboxEntry(row, new Date(row.processed_at_ms));
}

export function sqliteInboxMigrations(tableName: string): SqliteMigration[] {
  return [
    {
      version: 1,
      name: 'create inbox',
      statements: [
        `CREATE TABLE "${tableName}" (
           outbox_message_id TEXT PRIMARY KEY NOT NULL,
           outbox_id TEXT,
           event_type TEXT,
           session_key TEXT,
           service_bus_message_id TEXT,
           processed_at_ms INTEGER NOT NULL)`,
        `CREATE INDEX "${tableName}_processed_at_idx" ON "${tableName}" (processed_at_ms)`,
      ],
    },
    {
      version: 2,
      name: 'record acknowledgements',
      statements: [
        `ALTER TABLE "${tableName}" ADD COLUMN acknowledged_at_ms INTEGER`,
        // Entries from before this version were acknowledged when processed (or their acknowledgement is long gone).
        `UPDATE "${tableName}" SET acknowledged_at_ms = processed_at_ms`,
        `CREATE INDEX "${tableName}_unacknowledged_idx" ON "${tableName}" (processed_at_ms) WHERE acknowledged_at_ms IS NULL`,
      ],
    },
  ];
}

/** Opens a database the way the inbox needs it (WAL, a short busy timeout, foreign keys). */
export function openSqliteDatabase(filename: string): Database.Database {
  const database = new Database(filename);
  // Short: long waits happen in beginImmediate's async loop, never blocking the event loop.
  database.pragma('busy_timeout = 25');
  if (filename !== ':memory:') database.pragma('journal_mode = WAL');
  database.pragma('foreign_keys = ON');
  return database;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY'));
}

/** BEGIN IMMEDIATE, retried asynchronously (with jitter) while another connection holds the write lock. */
export async function beginImmediate(database: Database.Database, busyTimeoutInMs = 10_000): Promise<void> {
  const deadline = Date.now() + busyTimeoutInMs;
  for (let attempt = 0; ; attempt++) {
    try {
      database.exec('BEGIN IMMEDIATE');
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      await sleep(Math.min(5 * 2 ** Math.min(attempt, 4), 80) * (0.5 + Math.random()));
    }
  }
}

/**
 * Applies missing migrations in one IMMEDIATE transaction (the write lock serialises concurrent processes).
 * Exported for applications that version their own tables the same way.
 */
export async function applySqliteMigrations(
  database: Database.Database,
  historyOwner: string,
  migrations: readonly SqliteMigration[],
  busyTimeoutInMs = 10_000,
): Promise<number[]> {
  assertSqlIdentifier(historyOwner, 'historyOwner');
  const history = `"${historyOwner}_migrations"`;
  await beginImmediate(database, busyTimeoutInMs);
  try {
    database.exec(`CREATE TABLE IF NOT EXISTS ${history} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const applied = new Set(
      (database.prepare(`SELECT version FROM ${history}`).all() as { version: number }[]).map((r) => r.version),
    );
    const newlyApplied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) database.exec(statement);
      database
        .prepare(`INSERT INTO ${history} (version, name, applied_at) VALUES (?, ?, ?)`)
        .run(migration.version, migration.name, new Date().toISOString());
      newlyApplied.push(migration.version);
    }
    database.exec('COMMIT');
    return newlyApplied;
  } catch (error) {
    if (database.inTransaction) database.exec('ROLLBACK');
    throw error;
  }
}

export function createSqliteInbox(options: SqliteInboxOptions = {}): SqliteInboxStore {
  const tableName = options.tableName ?? 'outbox_inbox';
  assertSqlIdentifier(tableName, 'tableName');
  if (options.database && options.filename) throw new TypeError('Pass either database or filename to createSqliteInbox, not both');
  const ownsDatabase = !options.database;
  const database = options.database ?? openSqliteDatabase(options.filename ?? 'inbox.sqlite');
  const busyTimeoutInMs = options.busyTimeoutInMs ?? 10_000;
  const table = `"${tableName}"`;
  const columns = `${inboxKeyColumns}, processed_at_ms`;
  const mutex = new Mutex();

  function rollbackQuietly(): void {
    if (database.inTransaction) {
      try {
        database.exec('ROLLBACK');
      } catch {
        // The transaction is already gone (SQLite rolls back by itself on some errors).
      }
    }
  }

  const readRow = (outboxMessageId: string): InboxEntry | undefined => {
    const row = database.prepare(`SELECT ${columns} FROM ${table} WHERE outbox_message_id = ?`).get(outboxMessageId) as InboxRow | undefined;
    return row ? toEntry(row) : undefined;
  };

  const dialect: InboxDialect<SqliteInboxTransaction> = {
    kind: 'sqlite',
    databaseName: 'SQLite',

    migrate: async () => {
      await mutex.run(() => applySqliteMigrations(database, tableName, sqliteInboxMigrations(tableName), busyTimeoutInMs));
    },

    // One transaction at a time on the one connection (the mutex); BEGIN IMMEDIATE takes the write lock up front.
    transaction: (id, step, work) =>
      mutex.run(async () => {
        await step('begin', id, () => beginImmediate(database, busyTimeoutInMs));
        try {
          return await work({
            handle: database,
            insert: async (record) => {
              const row = database
                .prepare(`INSERT INTO ${table} (${columns}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (outbox_message_id) DO NOTHING RETURNING ${columns}`)
                .get(...inboxRecordValues(record), Date.now()) as InboxRow | undefined;
              return row ? toEntry(row) : undefined;
            },
            read: async (outboxMessageId) => readRow(outboxMessageId),
            insertMany: async (records) => {
              const insert = database.prepare(
                `INSERT INTO ${table} (${columns}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (outbox_message_id) DO NOTHING RETURNING ${columns}`,
              );
              const now = Date.now();
              return records.flatMap((record) => {
                const row = insert.get(...inboxRecordValues(record), now) as InboxRow | undefined;
                return row ? [toEntry(row)] : [];
              });
            },
            readMany: async (outboxMessageIds) => outboxMessageIds.flatMap((id) => readRow(id) ?? []),
            savepoint: async (name) => {
              database.exec(`SAVEPOINT ${name}`);
            },
            rollbackToSavepoint: async (name) => {
              database.exec(`ROLLBACK TO SAVEPOINT ${name}`);
            },
            remove: async (outboxMessageId) => {
              database.prepare(`DELETE FROM ${table} WHERE outbox_message_id = ?`).run(outboxMessageId);
            },
            commit: async () => {
              database.exec('COMMIT');
            },
            rollback: async () => rollbackQuietly(),
          });
        } finally {
          rollbackQuietly();
        }
      }),

    read: async (outboxMessageId) => readRow(outboxMessageId),

    count: async () => (database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,

    purgeBatch: (olderThan, limit) => {
      const statement = database.prepare(
        `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE processed_at_ms < ? ORDER BY processed_at_ms LIMIT ?)`,
      );
      // A short transaction of its own, taking turns with message processing.
      return core.runInTransaction(() => statement.run(olderThan.getTime(), limit).changes);
    },

    markAcknowledged: (ids) => {
      const statement = database.prepare(`UPDATE ${table} SET acknowledged_at_ms = ? WHERE outbox_message_id = ? AND acknowledged_at_ms IS NULL`);
      const now = Date.now();
      return core.runInTransaction(() => {
        for (const id of ids) statement.run(now, id);
      });
    },

    listUnacknowledged: async (query) => {
      const rows = database
        .prepare(`SELECT ${columns} FROM ${table} WHERE acknowledged_at_ms IS NULL AND processed_at_ms < ? ORDER BY processed_at_ms LIMIT ?`)
        .all(query.processedBefore.getTime(), query.limit) as InboxRow[];
      return rows.map(toEntry);
    },

    // Waits for the transaction in progress, then closes.
    close: () =>
      mutex.run(async () => {
        if (ownsDatabase) database.close();
      }),
  };

  const core: InboxCore<SqliteInboxTransaction> = createInboxCore(dialect);
  return { ...core.store, kind: 'sqlite', database, tableName, withTransaction: core.runInTransaction };
}
