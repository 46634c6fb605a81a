// PostgreSQL inbox adapter (pg). The unique key is the primary key on outbox_message_id; INSERT ... ON CONFLICT DO NOTHING
// makes a concurrent second delivery wait for the first transaction and then see the committed row (or take over if
// the first rolled back), so two consumers can never both run the handler for one id.
import pg from 'pg';

import { ConsumerError } from '../errors';
import {
  assertBatchSize,
  assertSqlIdentifier,
  type InboxEntry,
  type InboxProcessResult,
  type InboxRecord,
  type InboxStore,
  type OperationOptions,
  type PurgeOptions,
  type UnacknowledgedQuery,
} from '../inbox';
import { throwIfAborted } from '../internal/abort';
import { postgresInboxMigrations, type PostgresMigration } from './postgresMigrations';

/** What a handler receives with the PostgreSQL inbox: the pool client on which the inbox transaction is open. */
export type PostgresInboxTransaction = pg.PoolClient;

export interface PostgresInboxOptions {
  /** A pool you own (the store never ends it), or ... */
  pool?: pg.Pool;
  /** ... a connection string (`postgres://user@host:5432/db`); the store creates and ends its own pool. */
  connectionString?: string;
  /** Size of the pool the store creates; default 10. Keep it >= the consumer's concurrency. */
  maxConnections?: number;
  /** Schema holding the inbox tables; created by migrate(). Default `public`. */
  schema?: string;
  /** Inbox table name; default `outbox_inbox`. The migrations table is `<tableName>_migrations`. */
  tableName?: string;
}

export interface PostgresInboxStore extends InboxStore<PostgresInboxTransaction> {
  readonly kind: 'postgres';
  /** The pool in use (yours or the store's), for your own queries outside message handling. */
  readonly pool: pg.Pool;
  /** Fully qualified, quoted inbox table name, e.g. `"public"."outbox_inbox"`. */
  readonly qualifiedTableName: string;
}

interface InboxRow {
  outbox_message_id: string;
  outbox_id: string | null;
  event_type: string | null;
  session_key: string | null;
  service_bus_message_id: string | null;
  processed_at: Date;
}

const columns = 'outbox_message_id, outbox_id, event_type, session_key, service_bus_message_id, processed_at';

function toEntry(row: InboxRow): InboxEntry {
  return {
    outboxMessageId: row.outbox_message_id,
    ...(row.outbox_id === null ? {} : { outboxId: row.outbox_id }),
    ...(row.event_type === null ? {} : { eventType: row.event_type }),
    ...(row.session_key === null ? {} : { sessionKey: row.session_key }),
    ...(row.service_bus_message_id === null ? {} : { serviceBusMessageId: row.service_bus_message_id }),
    processedAt: row.processed_at,
  };
}

export function createPostgresInbox(options: PostgresInboxOptions): PostgresInboxStore {
  const schema = options.schema ?? 'public';
  const tableName = options.tableName ?? 'outbox_inbox';
  assertSqlIdentifier(schema, 'schema');
  assertSqlIdentifier(tableName, 'tableName');
  if (!options.pool && !options.connectionString) throw new TypeError('createPostgresInbox needs a pool or a connectionString');
  const ownsPool = !options.pool;
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10 });
  if (ownsPool) {
    // An idle client losing its connection must not crash the process; the next checkout simply reconnects.
    pool.on('error', () => undefined);
  }
  const table = `"${schema}"."${tableName}"`;
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new ConsumerError('ConsumerClosed', 'This PostgreSQL inbox store is closed; create a new one.');
  }

  async function inboxStep<T>(what: string, outboxMessageId: string | undefined, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      throw new ConsumerError('InboxFailed', `PostgreSQL inbox: ${what} failed: ${(error as Error).message}`, {
        cause: error,
        ...(outboxMessageId === undefined ? {} : { outboxMessageId }),
      });
    }
  }

  return {
    kind: 'postgres',
    pool,
    qualifiedTableName: table,

    async migrate(opts: OperationOptions = {}): Promise<void> {
      assertOpen();
      throwIfAborted(opts.abortSignal);
      try {
        await applyPostgresMigrations(pool, schema, tableName, postgresInboxMigrations(table, tableName));
      } catch (error) {
        throw new ConsumerError('MigrationFailed', `PostgreSQL inbox migration failed: ${(error as Error).message}`, { cause: error });
      }
    },

    async processOnce<T>(
      record: InboxRecord,
      work: (transaction: PostgresInboxTransaction) => T | Promise<T>,
      opts: OperationOptions = {},
    ): Promise<InboxProcessResult<T>> {
      assertOpen();
      throwIfAborted(opts.abortSignal);
      const id = record.outboxMessageId;
      const client = await inboxStep('connect', id, () => pool.connect());
      let open = false;
      let broken: Error | undefined;
      try {
        await inboxStep('begin', id, () => client.query('BEGIN'));
        open = true;
        const inserted = await inboxStep('insert', id, () =>
          client.query<InboxRow>(
            `INSERT INTO ${table} (outbox_message_id, outbox_id, event_type, session_key, service_bus_message_id)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (outbox_message_id) DO NOTHING RETURNING ${columns}`,
            [id, record.outboxId ?? null, record.eventType ?? null, record.sessionKey ?? null, record.serviceBusMessageId ?? null],
          ),
        );
        const row = inserted.rows[0];
        if (!row) {
          const existing = await inboxStep('read duplicate', id, () =>
            client.query<InboxRow>(`SELECT ${columns} FROM ${table} WHERE outbox_message_id = $1`, [id]),
          );
          await inboxStep('rollback', id, () => client.query('ROLLBACK'));
          open = false;
          const existingRow = existing.rows[0];
          if (!existingRow) throw new ConsumerError('InboxFailed', `Inbox entry ${id} conflicted but cannot be read`, { outboxMessageId: id });
          return { status: 'duplicate', entry: toEntry(existingRow) };
        }
        const result = await work(client);
        await inboxStep('commit', id, () => client.query('COMMIT'));
        open = false;
        return { status: 'processed', entry: toEntry(row), result };
      } catch (error) {
        if (open) {
          // Leave the connection clean for the next user; if even that fails, the client is destroyed on release.
          await client.query('ROLLBACK').catch((rollbackError: Error) => {
            broken = rollbackError;
          });
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },

    async get(outboxMessageId: string, opts: OperationOptions = {}): Promise<InboxEntry | undefined> {
      assertOpen();
      throwIfAborted(opts.abortSignal);
      const result = await inboxStep('read', outboxMessageId, () =>
        pool.query<InboxRow>(`SELECT ${columns} FROM ${table} WHERE outbox_message_id = $1`, [outboxMessageId]),
      );
      const row = result.rows[0];
      return row ? toEntry(row) : undefined;
    },

    async count(opts: OperationOptions = {}): Promise<number> {
      assertOpen();
      throwIfAborted(opts.abortSignal);
      const result = await inboxStep('count', undefined, () => pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`));
      return Number(result.rows[0]?.n ?? 0);
    },

    async purge(opts: PurgeOptions): Promise<number> {
      assertOpen();
      const batchSize = opts.batchSize ?? 1000;
      assertBatchSize(batchSize);
      let deleted = 0;
      for (let batch = 0; opts.maxBatches === undefined || batch < opts.maxBatches; batch++) {
        throwIfAborted(opts.abortSignal);
        // SKIP LOCKED: a purge never waits behind (or blocks) a consumer's transaction.
        const result = await inboxStep('purge', undefined, () =>
          pool.query(
            `DELETE FROM ${table} WHERE outbox_message_id IN (
               SELECT outbox_message_id FROM ${table} WHERE processed_at < $1
               ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
            [opts.olderThan, batchSize],
          ),
        );
        const n = result.rowCount ?? 0;
        deleted += n;
        if (n < batchSize) break;
      }
      return deleted;
    },

    async markAcknowledged(outboxMessageIds: readonly string[], opts: OperationOptions = {}): Promise<void> {
      assertOpen();
      throwIfAborted(opts.abortSignal);
      if (outboxMessageIds.length === 0) return;
      await inboxStep('record acknowledgements', undefined, () =>
        pool.query(`UPDATE ${table} SET acknowledged_at = clock_timestamp() WHERE outbox_message_id = ANY($1) AND acknowledged_at IS NULL`, [[...outboxMessageIds]]),
      );
    },

    async listUnacknowledged(query: UnacknowledgedQuery, opts: OperationOptions = {}): Promise<InboxEntry[]> {
      assertOpen();
      throwIfAborted(opts.abortSignal);
      assertBatchSize(query.limit);
      const result = await inboxStep('list unacknowledged', undefined, () =>
        pool.query<InboxRow>(`SELECT ${columns} FROM ${table} WHERE acknowledged_at IS NULL AND processed_at < $1 ORDER BY processed_at LIMIT $2`, [query.processedBefore, query.limit]),
      );
      return result.rows.map(toEntry);
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (ownsPool) await pool.end();
    },
  };
}

/**
 * Applies the missing migrations in version order, in one transaction under an advisory lock (so concurrent starters
 * serialise and the second one finds everything applied). Exported for applications that version their own tables the
 * same way (the erp-sales sample does).
 */
export async function applyPostgresMigrations(
  pool: pg.Pool,
  schema: string,
  historyOwner: string,
  migrations: readonly PostgresMigration[],
): Promise<number[]> {
  assertSqlIdentifier(schema, 'schema');
  assertSqlIdentifier(historyOwner, 'historyOwner');
  const history = `"${schema}"."${historyOwner}_migrations"`;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${schema}.${historyOwner}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${history} (version integer PRIMARY KEY, name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = new Set((await client.query<{ version: number }>(`SELECT version FROM ${history}`)).rows.map((r) => r.version));
    const newlyApplied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) await client.query(statement);
      await client.query(`INSERT INTO ${history} (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      newlyApplied.push(migration.version);
    }
    await client.query('COMMIT');
    return newlyApplied;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
