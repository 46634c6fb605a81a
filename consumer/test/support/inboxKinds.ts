// The two inbox backends behind one test-facing shape: an inbox plus an application "effects" table written by the
// handler inside the inbox transaction, so tests count real committed effects.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type Database from 'better-sqlite3';
import pg from 'pg';

import { createPostgresInbox, createSqliteInbox, type InboxStore } from '../../src/index';
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
  writeEffect(tx: TTx, effect: Effect): Promise<void> | void;
  effects(): Promise<Effect[]>;
  inboxCount(): Promise<number>;
}

export interface InboxKind<TTx> {
  name: 'sqlite' | 'postgres';
  fixture(): Promise<InboxFixture<TTx>>;
  cleanup(): Promise<void>;
}

export function sqliteKind(): InboxKind<Database.Database> {
  const dir = mkdtempSync(path.join(tmpdir(), 'consumer-sb-'));
  let n = 0;
  const opened: InboxStore<Database.Database>[] = [];
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
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postgresKind(): InboxKind<pg.PoolClient> {
  const schema = uniqueSchema('consumer_sb');
  const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 3 });
  let n = 0;
  const opened: InboxStore<pg.PoolClient>[] = [];
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
      await open().migrate();
      await pool.query(`CREATE TABLE ${effects} (id bigserial PRIMARY KEY, outbox_message_id text, session_key text, seq int)`);
      return {
        open,
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
      await pool.end();
      await dropSchema(schema);
    },
  };
}
