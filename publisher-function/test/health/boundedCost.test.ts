// Health at constant cost: the health call counts only Pending, Failed and DeadLettered rows, each with a `$top`-bounded
// read (the contract's healthCountLimits), so a status that reaches its limit is a lower bound ("100+") and the rows a
// health call reads do not grow with the table. Measured with the Dataverse emulator's request counters.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { defaultHealthThresholds, healthCountLimits, OutboxMessage, OutboxStatus, type OutboxStatusValue } from '@dataverse-outbox/contract';
import { DataverseClient, DataverseLeaseStore, DataverseOutboxStore, getOutboxHealth, type EntityRecord } from '../../src';

jest.setTimeout(120_000);

const C = OutboxMessage.columns;

interface World {
  dv: DataverseEmulator;
  client: DataverseClient;
  store: DataverseOutboxStore;
  seeded: number;
}

async function startWorld(): Promise<World> {
  const dv = await startDataverseEmulator({ port: 0 });
  const client = new DataverseClient(dv.url, { token: 'publisher-app' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 4, timeoutInMs: 30_000 } });
  return { dv, client, store: new DataverseOutboxStore(client), seeded: 0 };
}

async function stopWorld(w: World | undefined): Promise<void> {
  await w?.client.close();
  await w?.dv.close();
}

/** Creates `count` rows (CreateMultiple, 1,000 per request) with the status `statusOf(i)` gives. */
async function seed(w: World, count: number, statusOf: (i: number) => OutboxStatusValue, extra: (i: number) => EntityRecord = () => ({})): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    const records: EntityRecord[] = [];
    for (let i = from; i < Math.min(count, from + 1000); i++) {
      const n = w.seeded++;
      records.push({
        [C.name]: `row ${n}`,
        [C.messageId]: `m-${n}`,
        [C.target]: 'orders',
        [C.eventType]: 'Test',
        [C.payload]: '{}',
        [C.contentType]: 'application/json',
        [C.status]: statusOf(i),
        ...extra(i),
      });
    }
    await w.client.createMultiple(OutboxMessage.entitySetName, OutboxMessage.logicalName, records);
  }
}

const health = (w: World, thresholds = { ...defaultHealthThresholds }) =>
  getOutboxHealth({ store: w.store, lease: new DataverseLeaseStore(w.client), scope: 'default', settings: { publisherEnabled: true, healthThresholds: thresholds } });

describe('bounded counts', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
    await seed(w, 3, () => OutboxStatus.Pending);
    await seed(w, 2, () => OutboxStatus.Failed, (i) => ({ [C.lastError]: `failed ${i}` }));
    await seed(w, 50, () => OutboxStatus.Acked);
  });
  afterAll(() => stopWorld(w));

  it('exact under the limit; a status that reaches its limit is the limit, listed as a lower bound', async () => {
    expect(await w.store.countByStatus({ Pending: 100, Failed: 100, DeadLettered: 100 })).toEqual({ counts: { Pending: 3, Failed: 2, DeadLettered: 0 }, capped: [] });
    expect(await w.store.countByStatus({ Pending: 2, Acked: 10 })).toEqual({ counts: { Pending: 2, Acked: 10 }, capped: ['Pending', 'Acked'] });
  });

  it('health counts only what it judges, exactly here; the most recent error is the retrying row that failed last', async () => {
    // Dataverse keeps modifiedon to the second: the retrying row fails a minute after the Failed rows.
    w.dv.setClockOffset(60_000);
    const retryAt = new Date(Date.now() + 120_000).toISOString();
    try {
      await seed(w, 1, () => OutboxStatus.Pending, () => ({ [C.lastError]: 'Attempt 1 failed: retrying', [C.nextAttemptOn]: retryAt, [C.attempts]: 1 }));
    } finally {
      w.dv.setClockOffset(0);
    }
    const h = await health(w, { maxPendingAgeSeconds: 3600, maxFailed: 1, maxDeadLettered: 0 });
    expect(h.counts).toEqual({ Pending: 4, Failed: 2, DeadLettered: 0 });
    expect(h.countsCapped).toEqual([]);
    expect(h.level).toBe('red');
    expect(h.reasons).toEqual(['2 Failed row(s) (threshold 1)', 'rows are pending but no publisher holds the lease']);
    expect(h.lastError).toBe('Attempt 1 failed: retrying');
  });

  it('errors still surface', async () => {
    w.dv.injectFault({ kind: '503', count: 100, entitySet: OutboxMessage.entitySetName });
    try {
      await expect(w.store.countByStatus({ Failed: 100 })).rejects.toMatchObject({ code: 'ServerError' });
    } finally {
      w.dv.clearFaults();
    }
  });
});

describe('cost of a health call', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
  });
  afterAll(() => stopWorld(w));

  /** Grows the table to `total` rows: 15% each Pending, Failed, DeadLettered, the rest finished (the bulk of a real table). */
  async function growTo(total: number): Promise<void> {
    const add = total - w.seeded;
    const statuses: OutboxStatusValue[] = [OutboxStatus.Pending, OutboxStatus.Failed, OutboxStatus.DeadLettered, OutboxStatus.Acked, OutboxStatus.Published, OutboxStatus.Cancelled];
    const weights = [15, 15, 15, 45, 5, 5];
    const cycle = statuses.flatMap((s, k) => Array.from({ length: weights[k] as number }, () => s));
    await seed(w, add, (i) => cycle[i % cycle.length] as OutboxStatusValue);
  }

  /** Requests and records read charged to one health call. */
  async function oneCall() {
    w.dv.resetRequestCounters();
    const h = await health(w);
    const { requests, recordsRead } = w.dv.getRequestCounters().total;
    return { h, requests, recordsRead };
  }

  it('reads the same number of rows at 1,000 and at 20,000 rows in the table, bounded by the count limits', async () => {
    const limits = healthCountLimits(defaultHealthThresholds);
    await growTo(1_000);
    const small = await oneCall();
    await growTo(20_000);
    const large = await oneCall();

    // Every counted status is over its limit at both sizes: the same lower bounds, still judged.
    for (const r of [small, large]) {
      expect(r.h.counts).toEqual(limits);
      expect(r.h.countsCapped).toEqual(['Pending', 'Failed', 'DeadLettered']);
      expect(r.h.level).toBe('red');
      expect(r.h.reasons).toContain(`${limits.Failed}+ Failed row(s) (threshold 0)`);
    }
    expect(large.requests).toBe(small.requests);
    expect(large.recordsRead).toBe(small.recordsRead);
    // The counts' pages plus a handful of one-row reads (oldest pending, latest publish, latest errors, lease).
    expect(small.recordsRead).toBeLessThanOrEqual(limits.Pending + limits.Failed + limits.DeadLettered + 10);
  });
});
