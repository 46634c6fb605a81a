// Background retention: old inbox entries are purged in batches by a timer, newer ones stay.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { createPostgresInbox, createSqliteInbox, startInboxRetention, type InboxStore } from '../src/index';
import { describePostgres, dropSchema, testDatabaseUrl, uniqueSchema } from './support/postgres';
import { waitFor } from './support/serviceBus';

const day = 24 * 3600_000;

async function retentionScenario<TTx>(store: InboxStore<TTx>, age: (id: string, at: Date) => Promise<void>): Promise<void> {
  await store.migrate();
  for (let i = 0; i < 30; i++) await store.processOnce({ outboxMessageId: `old-${i}` }, () => undefined);
  for (let i = 0; i < 30; i++) await age(`old-${i}`, new Date(Date.now() - 10 * day));
  await store.processOnce({ outboxMessageId: 'recent' }, () => undefined);
  const purged: number[] = [];
  const retention = startInboxRetention(store as InboxStore<unknown>, {
    retentionInMs: 7 * day,
    intervalInMs: 50,
    batchSize: 7,
    pauseBetweenBatchesInMs: 1,
    onPurged: (n) => purged.push(n),
  });
  try {
    await waitFor('old entries purged', async () => (await store.count()) === 1, 30_000);
  } finally {
    await retention.stop();
  }
  expect(await store.get('recent')).toBeDefined();
  expect(purged.reduce((a, b) => a + b, 0)).toBe(30);
  expect(await retention.runOnce()).toBe(0);
}

describe('inbox retention (SQLite)', () => {
  it('purges entries older than the retention in batches, off the processing path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'consumer-retention-'));
    const store = createSqliteInbox({ filename: path.join(dir, 'inbox.sqlite') });
    try {
      await retentionScenario(store, async (id, at) => {
        store.database.prepare('UPDATE outbox_inbox SET processed_at_ms = ? WHERE outbox_message_id = ?').run(at.getTime(), id);
      });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a non-positive retention', () => {
    const store = createSqliteInbox({ filename: ':memory:' });
    expect(() => startInboxRetention(store as InboxStore<unknown>, { retentionInMs: 0 })).toThrow(RangeError);
    return store.close();
  });
});

describePostgres('inbox retention (PostgreSQL)', () => {
  it('purges entries older than the retention in batches, off the processing path', async () => {
    const schema = uniqueSchema('consumer_retention');
    const store = createPostgresInbox({ connectionString: testDatabaseUrl, schema });
    try {
      await retentionScenario(store, async (id, at) => {
        await store.pool.query(`UPDATE ${store.qualifiedTableName} SET processed_at = $1 WHERE outbox_message_id = $2`, [at, id]);
      });
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });
});
