// The two inbox backends behind one test-facing shape: an inbox plus an application "effects" table written by the
// handler inside the inbox transaction, so tests count real committed effects.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type Database from 'better-sqlite3';
import pg from 'pg';

import { createPostgresInbox, createSqliteInbox, openSqliteDatabase, type InboxStore } from '../../src/index';
import { dropSchema, testDatabaseUrl, uniqueSchema } from './postgres';

export interface Effect {
  outboxMessageId: string;
  sessionKey: string | null;
  sequence: number | null;
}

/** One isolated inbox + effects table (a fresh table pair per call). */
export interface InboxFixture<TTx> {
  /** A new store on the same tables (like another consumer process). */
  open(): InboxStore<TTx>;
  /**
   * open(), on a connection that records the transaction-control statements the store sends (BEGIN, SAVEPOINT,
   * ROLLBACK, ROLLBACK TO SAVEPOINT, COMMIT: the first words, in order), to see how a batch was run.
   */
  openRecording(): { store: InboxStore<TTx>; statements: string[] };
  writeEffect(tx: TTx, effect: Effect): Promise<void> | void;
  effects(): Promise<Effect[]>;
  inboxCount(): Promise<number>;
}

export interface InboxKind<TTx> {
  name: 'sqlite' | 'postgres';
  fixture(): Promise<InboxFixture<TTx>>;
  cleanup(): Promise<void>;
}

/** The transaction-control statement `sql` is, as recorded by openRecording (undefined for anything else). */
function transactionControl(sql: string): string | undefined {
  const words = sql.trim().split(/\s+/).slice(0, 3).map((w) => w.toUpperCase());
  if (words[0] === 'ROLLBACK' && words[1] === 'TO') return 'ROLLBACK TO SAVEPOINT';
  return ['BEGIN', 'SAVEPOINT', 'ROLLBACK', 'COMMIT'].includes(words[0] ?? '') ? words[0] : undefined;
}

export function sqliteKind(): InboxKind<Database.Database> {
  const dir = mkdtempSync(path.join(tmpdir(), 'consumer-sb-'));
  let n = 0;
  const opened: InboxStore<Database.Database>[] = [];
  const databases: Database.Database[] = [];
  return {
    name: 'sqlite',
    async fixture() {
      const file = path.join(dir, `inbox-${++n}.sqlite`);
      const first = createSqliteInbox({ filename: file });
      opened.push(first);
      await first.migrate();
      first.database.exec('CREATE TABLE IF NOT EXISTS effects (id INTEGER PRIMARY KEY AUTOINCREMENT, outbox_message_id TEXT, session_key TEXT, seq INTEGER)');
      return {
        open() {
          const store = createSqliteInbox({ filename: file });
          opened.push(store);
          return store;
        },
        openRecording() {
          const statements: string[] = [];
          const database = openSqliteDatabase(file);
          databases.push(database);
          const exec = database.exec.bind(database);
          database.exec = (sql: string) => {
            const statement = transactionControl(sql);
            if (statement) statements.push(statement);
            return exec(sql);
          };
          const store = createSqliteInbox({ database });
          opened.push(store);
          return { store, statements };
        },
        writeEffect(tx, e) {
          tx.prepare('INSERT INTO effects (outbox_message_id, session_key, seq) VALUES (?, ?, ?)').run(e.outboxMessageId, e.sessionKey, e.sequence);
        },
        async effects() {
          return (first.database.prepare('SELECT outbox_message_id, session_key, seq FROM effects ORDER BY id').all() as {
            outbox_message_id: string;
            session_key: string | null;
            seq: number | null;
          }[]).map((r) => ({ outboxMessageId: r.outbox_message_id, sessionKey: r.session_key, sequence: r.seq }));
        },
        inboxCount: () => first.count(),
      };
    },
    async cleanup() {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      for (const database of databases) database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresKind(): InboxKind<pg.PoolClient> {
  const schema = uniqueSchema('consumer_sb');
  const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 3 });
  let n = 0;
  const opened: InboxStore<pg.PoolClient>[] = [];
  const pools: pg.Pool[] = [];
  return {
    name: 'postgres',
    async fixture() {
      const suffix = ++n;
      const tableName = `inbox_${suffix}`;
      const effects = `"${schema}".effects_${suffix}`;
      const open = (): InboxStore<pg.PoolClient> => {
        const store = createPostgresInbox({ connectionString: testDatabaseUrl, schema, tableName, maxConnections: 8 });
        opened.push(store);
        return store;
      };
      const openRecording = (): { store: InboxStore<pg.PoolClient>; statements: string[] } => {
        const statements: string[] = [];
        const recordingPool = new pg.Pool({ connectionString: testDatabaseUrl, max: 4 });
        pools.push(recordingPool);
        recordingPool.on('connect', (client) => {
          const query = client.query.bind(client) as (...args: unknown[]) => unknown;
          client.query = ((...args: unknown[]) => {
            const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
            const statement = text === undefined ? undefined : transactionControl(text);
            if (statement) statements.push(statement);
            return query(...args);
          }) as typeof client.query;
        });
        const store = createPostgresInbox({ pool: recordingPool, schema, tableName });
        opened.push(store);
        return { store, statements };
      };
      await open().migrate();
      await pool.query(`CREATE TABLE ${effects} (id bigserial PRIMARY KEY, outbox_message_id text, session_key text, seq int)`);
      return {
        open,
        openRecording,
        async writeEffect(tx, e) {
          await tx.query(`INSERT INTO ${effects} (outbox_message_id, session_key, seq) VALUES ($1, $2, $3)`, [e.outboxMessageId, e.sessionKey, e.sequence]);
        },
        async effects() {
          const { rows } = await pool.query<{ outbox_message_id: string; session_key: string | null; seq: number | null }>(
            `SELECT outbox_message_id, session_key, seq FROM ${effects} ORDER BY id`,
          );
          return rows.map((r) => ({ outboxMessageId: r.outbox_message_id, sessionKey: r.session_key, sequence: r.seq }));
        },
        async inboxCount() {
          const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${tableName}"`);
          return Number(rows[0]?.n ?? 0);
        },
      };
    },
    async cleanup() {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      await Promise.all(pools.map((p) => p.end()));
      await pool.end();
      await dropSchema(schema);
    },
  };
}
