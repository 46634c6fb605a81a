// Contract tests of the inbox port, run against both adapters: real PostgreSQL and SQLite files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type Database from 'better-sqlite3';
import pg from 'pg';

import {
  applyPostgresMigrations,
  createPostgresInbox,
  createSqliteInbox,
  isConsumerError,
  type InboxStore,
  type PostgresInboxStore,
  type SqliteInboxStore,
} from '../src/index';
import { postgresInboxMigrations } from '../src/inbox/postgresMigrations';
import { describePostgres, dropSchema, testDatabaseUrl, uniqueSchema } from './support/postgres';

/** What the contract needs from each adapter beyond the port itself: an application table written inside the transaction. */
interface Harness<TTx> {
  open(): Promise<InboxStore<TTx>>;
  writeEffect(tx: TTx, value: string): Promise<void> | void;
  effects(): Promise<string[]>;
  /** Sets an entry's processed time, to test retention without waiting. */
  age(outboxMessageId: string, processedAt: Date): Promise<void>;
  cleanup(): Promise<void>;
}

function inboxContract<TTx>(harness: () => Harness<TTx>): void {
  let h: Harness<TTx>;
  let store: InboxStore<TTx>;

  beforeAll(async () => {
    h = harness();
    store = await h.open();
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await h?.cleanup();
  });

  it('migrate is idempotent and safe when several stores migrate at once', async () => {
    const others = await Promise.all([h.open(), h.open(), h.open()]);
    await Promise.all(others.map((s) => s.migrate()));
    await store.migrate();
    await Promise.all(others.map((s) => s.close()));
    expect(await store.count()).toBeGreaterThanOrEqual(0);
  });

  it('records the id and runs the work with the transaction, committing both together', async () => {
    const result = await store.processOnce({ outboxMessageId: 'm-1', outboxId: 'row-1', eventType: 'SalesOrderWon', sessionKey: 'opp-1' }, async (tx) => {
      await h.writeEffect(tx, 'effect-1');
      return 42;
    });
    expect(result.status).toBe('processed');
    expect(result.status === 'processed' && result.result).toBe(42);
    expect(await h.effects()).toContain('effect-1');
    const entry = await store.get('m-1');
    expect(entry).toMatchObject({ outboxMessageId: 'm-1', outboxId: 'row-1', eventType: 'SalesOrderWon', sessionKey: 'opp-1' });
    expect(entry?.processedAt).toBeInstanceOf(Date);
  });

  it('does not run the work again for an id already in the inbox, and returns the original entry', async () => {
    const first = await store.get('m-1');
    let ran = false;
    const result = await store.processOnce({ outboxMessageId: 'm-1', outboxId: 'row-1' }, (tx) => {
      ran = true;
      return h.writeEffect(tx, 'effect-1-again');
    });
    expect(result.status).toBe('duplicate');
    expect(ran).toBe(false);
    expect(result.entry.processedAt.getTime()).toBe(first?.processedAt.getTime());
    expect((await h.effects()).filter((e) => e.startsWith('effect-1'))).toEqual(['effect-1']);
  });

  it('rolls back the inbox row and the effect when the work throws, and rethrows the error unchanged', async () => {
    const boom = new Error('handler failed');
    await expect(
      store.processOnce({ outboxMessageId: 'm-2' }, async (tx) => {
        await h.writeEffect(tx, 'effect-2');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.get('m-2')).toBeUndefined();
    expect(await h.effects()).not.toContain('effect-2');
    // The id is free again: the redelivery runs the work.
    const retry = await store.processOnce({ outboxMessageId: 'm-2' }, (tx) => h.writeEffect(tx, 'effect-2'));
    expect(retry.status).toBe('processed');
    expect((await h.effects()).filter((e) => e === 'effect-2')).toHaveLength(1);
  });

  it('runs the work once when two stores process the same id concurrently', async () => {
    const other = await h.open();
    let runs = 0;
    const work = async (tx: TTx): Promise<void> => {
      runs += 1;
      await h.writeEffect(tx, 'effect-3');
      // Hold the transaction open so the second one really overlaps.
      await new Promise((resolve) => setTimeout(resolve, 200));
    };
    const results = await Promise.all([
      store.processOnce({ outboxMessageId: 'm-3' }, work),
      other.processOnce({ outboxMessageId: 'm-3' }, work),
    ]);
    await other.close();
    expect(results.map((r) => r.status).sort()).toEqual(['duplicate', 'processed']);
    expect(runs).toBe(1);
    expect((await h.effects()).filter((e) => e === 'effect-3')).toHaveLength(1);
  });

  it('purges entries older than the cut-off in batches and keeps newer ones', async () => {
    for (let i = 0; i < 25; i++) await store.processOnce({ outboxMessageId: `old-${i}` }, () => undefined);
    for (let i = 0; i < 25; i++) await h.age(`old-${i}`, new Date(Date.now() - 40 * 24 * 3600_000));
    await store.processOnce({ outboxMessageId: 'fresh' }, () => undefined);
    const before = await store.count();
    const oneBatch = await store.purge({ olderThan: new Date(Date.now() - 30 * 24 * 3600_000), batchSize: 10, maxBatches: 1 });
    expect(oneBatch).toBe(10);
    const rest = await store.purge({ olderThan: new Date(Date.now() - 30 * 24 * 3600_000), batchSize: 10 });
    expect(rest).toBe(15);
    expect(await store.count()).toBe(before - 25);
    expect(await store.get('fresh')).toBeDefined();
    expect(await store.get('old-0')).toBeUndefined();
  });

  it('lists entries whose acknowledgement is not recorded, oldest first, until they are marked acknowledged', async () => {
    for (const id of ['ack-a', 'ack-b', 'ack-c']) await store.processOnce({ outboxMessageId: id, outboxId: `row-${id}` }, () => undefined);
    await h.age('ack-a', new Date(Date.now() - 3000));
    await h.age('ack-b', new Date(Date.now() - 2000));
    const cutOff = new Date(Date.now() - 1000);
    const ids = async () => (await store.listUnacknowledged({ processedBefore: cutOff, limit: 1000 })).map((e) => e.outboxMessageId).filter((id) => id.startsWith('ack-'));
    // 'ack-c' is younger than the cut-off: its acknowledgement may still be on its way.
    expect(await ids()).toEqual(['ack-a', 'ack-b']);
    expect((await store.listUnacknowledged({ processedBefore: cutOff, limit: 1000 })).find((e) => e.outboxMessageId === 'ack-a')?.outboxId).toBe('row-ack-a');
    await store.markAcknowledged(['ack-a', 'unknown-id']);
    expect(await ids()).toEqual(['ack-b']);
    await store.markAcknowledged([]);
    await expect(store.listUnacknowledged({ processedBefore: cutOff, limit: 0 })).rejects.toBeInstanceOf(RangeError);
  });

  it('rejects bad purge arguments and is unusable once closed, with a ConsumerClosed error', async () => {
    await expect(store.purge({ olderThan: new Date(), batchSize: 0 })).rejects.toBeInstanceOf(RangeError);
    const other = await h.open();
    await other.close();
    await expect(other.get('m-1')).rejects.toMatchObject({ name: 'ConsumerError', code: 'ConsumerClosed' });
  });
}

describe('SQLite inbox', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'consumer-inbox-'));
  const file = path.join(dir, 'inbox.sqlite');
  const stores: SqliteInboxStore[] = [];

  inboxContract<Database.Database>(() => ({
    async open() {
      const store = createSqliteInbox({ filename: file, tableName: 'inbox_test' });
      stores.push(store);
      store.database.exec('CREATE TABLE IF NOT EXISTS effects (value TEXT NOT NULL)');
      return store;
    },
    writeEffect(tx, value) {
      tx.prepare('INSERT INTO effects (value) VALUES (?)').run(value);
    },
    async effects() {
      return (stores[0]!.database.prepare('SELECT value FROM effects').all() as { value: string }[]).map((r) => r.value);
    },
    async age(id, processedAt) {
      stores[0]!.database.prepare('UPDATE inbox_test SET processed_at_ms = ? WHERE outbox_message_id = ?').run(processedAt.getTime(), id);
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  }));

  it('rejects identifiers that are not plain SQL names', () => {
    expect(() => createSqliteInbox({ filename: ':memory:', tableName: 'x"; DROP TABLE y; --' })).toThrow(TypeError);
  });
});

describePostgres('PostgreSQL inbox', () => {
  const schema = uniqueSchema('consumer_inbox');
  const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 4 });
  const stores: PostgresInboxStore[] = [];

  inboxContract<pg.PoolClient>(() => ({
    async open() {
      // Each store owns its own pool, like separate consumer processes would.
      const store = createPostgresInbox({ connectionString: testDatabaseUrl, schema, maxConnections: 3 });
      stores.push(store);
      return store;
    },
    async writeEffect(tx, value) {
      await tx.query(`CREATE TABLE IF NOT EXISTS "${schema}".effects (value text NOT NULL)`);
      await tx.query(`INSERT INTO "${schema}".effects (value) VALUES ($1)`, [value]);
    },
    async effects() {
      const exists = await pool.query(`SELECT to_regclass($1) AS t`, [`"${schema}".effects`]);
      if (!exists.rows[0].t) return [];
      return (await pool.query<{ value: string }>(`SELECT value FROM "${schema}".effects`)).rows.map((r) => r.value);
    },
    async age(id, processedAt) {
      await pool.query(`UPDATE "${schema}".outbox_inbox SET processed_at = $1 WHERE outbox_message_id = $2`, [processedAt, id]);
    },
    async cleanup() {
      await pool.end();
      await dropSchema(schema);
    },
  }));

  it('reports database failures as ConsumerError InboxFailed (transient), not as handler errors', async () => {
    const unreachable = createPostgresInbox({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema });
    try {
      const error = await unreachable.processOnce({ outboxMessageId: 'x' }, () => undefined).catch((e: unknown) => e);
      expect(isConsumerError(error) && error.code).toBe('InboxFailed');
    } finally {
      await unreachable.close();
    }
  });

  it('records each migration version once in the history table', async () => {
    const { rows } = await pool.query(`SELECT version, name FROM "${schema}".outbox_inbox_migrations ORDER BY version`);
    expect(rows).toEqual([
      { version: 1, name: 'create inbox' },
      { version: 2, name: 'record acknowledgements' },
    ]);
  });

  it('upgrading an inbox from version 1 counts its existing entries as acknowledged (nothing is sent again)', async () => {
    const oldSchema = uniqueSchema('consumer_inbox_v1');
    const table = `"${oldSchema}"."outbox_inbox"`;
    try {
      await pool.query(`CREATE SCHEMA "${oldSchema}"`);
      await applyPostgresMigrations(pool, oldSchema, 'outbox_inbox', postgresInboxMigrations(table, 'outbox_inbox').filter((m) => m.version === 1));
      await pool.query(`INSERT INTO ${table} (outbox_message_id, processed_at) VALUES ('before-upgrade', now() - interval '1 day')`);
      const upgraded = createPostgresInbox({ connectionString: testDatabaseUrl, schema: oldSchema, maxConnections: 2 });
      try {
        await upgraded.migrate();
        await upgraded.processOnce({ outboxMessageId: 'after-upgrade' }, () => undefined);
        const listed = await upgraded.listUnacknowledged({ processedBefore: new Date(Date.now() + 60_000), limit: 10 });
        expect(listed.map((e) => e.outboxMessageId)).toEqual(['after-upgrade']);
      } finally {
        await upgraded.close();
      }
    } finally {
      await dropSchema(oldSchema);
    }
  });
});
