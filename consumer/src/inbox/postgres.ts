// PostgreSQL inbox adapter (pg): only the SQL and the pool; the inbox logic is core.ts. The unique key is the primary
// key on outbox_message_id; INSERT ... ON CONFLICT DO NOTHING makes a concurrent second delivery wait for the first
// transaction and then see the committed row (or take over if the first rolled back), so two consumers can never both
// run the handler for one id.
import pg from 'pg';

import { assertSqlIdentifier, type InboxEntry, type InboxStore } from '../inbox';
import { createInboxCore, inboxKeyColumns, inboxRecordValues, toInboxEntry, type InboxColumns, type InboxDialect, type InboxTransaction } from './core';
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

interface InboxRow extends InboxColumns {
  processed_at: Date;
}

const columns = `${inboxKeyColumns}, processed_at`;

function toEntry(row: InboxRow): InboxEntry {
  return toInboxEntry(row, row.processed_at);
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

  const dialect: InboxDialect<PostgresInboxTransaction> = {
    kind: 'postgres',
    databaseName: 'PostgreSQL',

    async migrate() {
      await applyPostgresMigrations(pool, schema, tableName, postgresInboxMigrations(table, tableName));
    },

    async transaction(id, step, work) {
      const client = await step('connect', id, () => pool.connect());
      let open = false;
      let broken: Error | undefined;
      const end = async (statement: 'COMMIT' | 'ROLLBACK'): Promise<void> => {
        await client.query(statement);
        open = false;
      };
      const transaction: InboxTransaction<PostgresInboxTransaction> = {
        handle: client,
        async insert(record) {
          // ON CONFLICT DO NOTHING waits for a concurrent transaction holding the id, then sees its commit (or takes over).
          const inserted = await client.query<InboxRow>(
            `INSERT INTO ${table} (${inboxKeyColumns}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (outbox_message_id) DO NOTHING RETURNING ${columns}`,
            inboxRecordValues(record),
          );
          const row = inserted.rows[0];
          return row ? toEntry(row) : undefined;
        },
        async read(outboxMessageId) {
          const row = (await client.query<InboxRow>(`SELECT ${columns} FROM ${table} WHERE outbox_message_id = $1`, [outboxMessageId])).rows[0];
          return row ? toEntry(row) : undefined;
        },
        async insertMany(records) {
          // One statement for the batch, in id order (two batches sharing ids lock them in the same order).
          const sorted = [...records].sort((a, b) => (a.outboxMessageId < b.outboxMessageId ? -1 : a.outboxMessageId > b.outboxMessageId ? 1 : 0));
          const values = sorted.map(inboxRecordValues);
          const inserted = await client.query<InboxRow>(
            `INSERT INTO ${table} (${inboxKeyColumns})
               SELECT ${inboxKeyColumns} FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS r(${inboxKeyColumns}, n) ORDER BY n
             ON CONFLICT (outbox_message_id) DO NOTHING RETURNING ${columns}`,
            [0, 1, 2, 3, 4].map((column) => values.map((row) => row[column])),
          );
          return inserted.rows.map(toEntry);
        },
        async readMany(outboxMessageIds) {
          const result = await client.query<InboxRow>(`SELECT ${columns} FROM ${table} WHERE outbox_message_id = ANY($1)`, [[...outboxMessageIds]]);
          return result.rows.map(toEntry);
        },
        async savepoint(name) {
          await client.query(`SAVEPOINT ${name}`);
        },
        async rollbackToSavepoint(name) {
          await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
        },
        async remove(outboxMessageId) {
          await client.query(`DELETE FROM ${table} WHERE outbox_message_id = $1`, [outboxMessageId]);
        },
        commit: () => end('COMMIT'),
        rollback: () => end('ROLLBACK'),
      };
      try {
        await step('begin', id, () => client.query('BEGIN'));
        open = true;
        return await work(transaction);
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

    async read(outboxMessageId) {
      const row = (await pool.query<InboxRow>(`SELECT ${columns} FROM ${table} WHERE outbox_message_id = $1`, [outboxMessageId])).rows[0];
      return row ? toEntry(row) : undefined;
    },

    async count() {
      const result = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      return Number(result.rows[0]?.n ?? 0);
    },

    async purgeBatch(olderThan, limit) {
      // One statement (its own transaction); SKIP LOCKED: a purge never waits behind (or blocks) a consumer's transaction.
      const result = await pool.query(
        `DELETE FROM ${table} WHERE outbox_message_id IN (
           SELECT outbox_message_id FROM ${table} WHERE processed_at < $1
           ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [olderThan, limit],
      );
      return result.rowCount ?? 0;
    },

    async markAcknowledged(ids) {
      await pool.query(`UPDATE ${table} SET acknowledged_at = clock_timestamp() WHERE outbox_message_id = ANY($1) AND acknowledged_at IS NULL`, [[...ids]]);
    },

    async listUnacknowledged(query) {
      const result = await pool.query<InboxRow>(
        `SELECT ${columns} FROM ${table} WHERE acknowledged_at IS NULL AND processed_at < $1 ORDER BY processed_at LIMIT $2`,
        [query.processedBefore, query.limit],
      );
      return result.rows.map(toEntry);
    },

    async close() {
      if (ownsPool) await pool.end();
    },
  };

  return { ...createInboxCore(dialect).store, kind: 'postgres', pool, qualifiedTableName: table };
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
