// Health counts over a table with more rows than one aggregate FetchXML query may cover (0x8004E023,
// AggregateQueryRecordLimit): the grouped aggregate fails, per-status aggregates answer, a big status is a lower bound.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus, type OutboxStatusValue } from '@dataverse-outbox/contract';
import { DataverseClient, DataverseLeaseStore, DataverseOutboxStore, getOutboxHealth, isDataverseError } from '../../src';
import { OutboxWriter } from '@dataverse-outbox/producer';

jest.setTimeout(60_000);

const LIMIT = 50;
let dv: DataverseEmulator;
let client: DataverseClient;
let store: DataverseOutboxStore;

/** Commits `count` rows, then moves them to `status` (UpdateMultiple). */
async function seed(count: number, status: OutboxStatusValue, prefix: string): Promise<void> {
  const writer = new OutboxWriter(client);
  for (let i = 0; i < count; i += 25) {
    await writer.transaction((tx) => {
      for (let j = i; j < Math.min(count, i + 25); j++) tx.enqueue({ target: 'orders', payload: { j }, messageId: `${prefix}-${j}` });
    });
  }
  if (status === OutboxStatus.Pending) return;
  const rows = (await store.query({ statuses: [OutboxStatus.Pending] })).filter((r) => r.messageId.startsWith(`${prefix}-`));
  expect(rows).toHaveLength(count);
  for (let i = 0; i < rows.length; i += 25) {
    await client.updateMultiple(
      OutboxMessage.entitySetName,
      OutboxMessage.logicalName,
      rows.slice(i, i + 25).map((r) => ({ [OutboxMessage.columns.id]: r.id, [OutboxMessage.columns.status]: status })),
    );
  }
}

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0, aggregateQueryRecordLimit: LIMIT });
  client = new DataverseClient(dv.url, { token: 'publisher-app' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 4, timeoutInMs: 15_000 } });
  store = new DataverseOutboxStore(client, { aggregateQueryRecordLimit: LIMIT });
  await seed(3, OutboxStatus.Failed, 'f');
  await seed(LIMIT + 10, OutboxStatus.Acked, 'a');
  await seed(2, OutboxStatus.Pending, 'p');
});

afterAll(async () => {
  await client?.close();
  await dv?.close();
});

it('the single grouped aggregate is refused by the emulator over the limit (the failure being fixed)', async () => {
  const fetch = `<fetch aggregate="true"><entity name="${OutboxMessage.logicalName}"><attribute name="${OutboxMessage.columns.status}" alias="status" groupby="true"/><attribute name="${OutboxMessage.columns.id}" alias="n" aggregate="count"/></entity></fetch>`;
  const err: unknown = await client.fetchXml(OutboxMessage.entitySetName, fetch).catch((e: unknown) => e);
  expect(isDataverseError(err) && err.dataverseCode).toBe('0x8004E023');
});

it('countByStatus falls back to one aggregate per status: exact small counts, the big one capped as a lower bound', async () => {
  const r = await store.countByStatus();
  expect(r.counts).toEqual({ Pending: 2, Failed: 3, Acked: LIMIT });
  expect(r.capped).toEqual(['Acked']);
});

it('health is computed: counts, countsCapped, the level from the thresholds', async () => {
  const h = await getOutboxHealth({
    store,
    lease: new DataverseLeaseStore(client),
    scope: 'default',
    settings: { publisherEnabled: true, healthThresholds: { maxPendingAgeSeconds: 3600, maxFailed: 0, maxDeadLettered: 0 } },
  });
  expect(h.counts).toEqual({ Pending: 2, Published: 0, Acked: LIMIT, Failed: 3, DeadLettered: 0, Cancelled: 0 });
  expect(h.countsCapped).toEqual(['Acked']);
  expect(h.level).toBe('red');
  expect(h.reasons).toContain('3 Failed row(s) (threshold 0)');
});

it('a capped Failed count is over the threshold and shown as a lower bound', async () => {
  await seed(LIMIT + 1, OutboxStatus.Failed, 'f2');
  const r = await store.countByStatus();
  expect(r.capped).toEqual(['Acked', 'Failed']);
  const h = await getOutboxHealth({
    store: new DataverseOutboxStore(client, { aggregateQueryRecordLimit: LIMIT }),
    lease: new DataverseLeaseStore(client),
    scope: 'default',
    settings: { publisherEnabled: true, healthThresholds: { maxPendingAgeSeconds: 3600, maxFailed: 10, maxDeadLettered: 0 } },
  });
  expect(h.counts.Failed).toBe(LIMIT);
  expect(h.level).toBe('red');
  expect(h.reasons).toContain(`${LIMIT}+ Failed row(s) (threshold 10)`);
});

it('errors other than 0x8004E023 still surface', async () => {
  dv.injectFault({ kind: '503', count: 100, entitySet: OutboxMessage.entitySetName });
  await expect(store.countByStatus()).rejects.toMatchObject({ code: 'ServerError' });
  dv.clearFaults();
});
