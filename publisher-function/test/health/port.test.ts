// Health reads its figures through the core's health port, not the Dataverse store: any store that answers the three
// reads gets the endpoint's report, judged by the contract's rules (the Dataverse store is covered by boundedCost.test).
import type { OutboxHealthPort } from '../../src/core/health';
import { getOutboxHealth } from '../../src/health';

const now = new Date('2025-01-01T08:00:00Z');
const ago = (seconds: number): Date => new Date(now.getTime() - seconds * 1000);

function port(figures: Awaited<ReturnType<OutboxHealthPort['countByStatus']>>, oldest?: Date, lastPublishedOn?: Date): OutboxHealthPort {
  return {
    countByStatus: () => Promise.resolve(figures),
    oldestPending: () => Promise.resolve(oldest ? { createdOn: oldest } : undefined),
    latest: () => Promise.resolve(lastPublishedOn ? { lastPublishedOn } : {}),
  };
}

const held = { read: () => Promise.resolve({ scope: 'default', owner: 'w1', until: new Date(now.getTime() + 30_000) }), listScope: () => Promise.resolve([]) };
const settings = { publisherEnabled: true, healthThresholds: { maxPendingAgeSeconds: 300, maxFailed: 0, maxDeadLettered: 0 } };

it('a first row after a quiet night is not a stall: green, with the real time since the last publish', async () => {
  const h = await getOutboxHealth({ store: port({ counts: { Pending: 1, Acked: 10 }, capped: [] }, ago(2), ago(8 * 3600)), lease: held, scope: 'default', settings, now: () => now });
  expect(h).toMatchObject({ level: 'green', reasons: [], oldestPendingAgeSeconds: 2, secondsSinceLastPublish: 8 * 3600, leaseOwner: 'w1', leaseActive: true });
});

it('switched off with a capped backlog and nobody on the lease: amber, the count shown as a lower bound', async () => {
  const h = await getOutboxHealth({
    store: port({ counts: { Pending: 50_000 }, capped: ['Pending'] }, ago(10)),
    lease: { read: () => Promise.resolve(undefined), listScope: () => Promise.resolve([]) },
    scope: 'default',
    settings: { ...settings, publisherEnabled: false },
    now: () => now,
  });
  expect(h.level).toBe('amber');
  expect(h.countsCapped).toEqual(['Pending']);
  expect(h.secondsSinceLastPublish).toBeNull();
  expect(h.reasons).toEqual(['publisher is disabled (obx_PublisherEnabled) with 50,000+ pending row(s)', 'rows are pending but no publisher holds the lease']);
});

it('asks the port for bounded counts of the judged statuses only, one row past each threshold', async () => {
  const asked: unknown[] = [];
  const store: OutboxHealthPort = {
    countByStatus: (limits) => {
      asked.push(limits);
      return Promise.resolve({ counts: { Failed: 251 }, capped: ['Failed'] });
    },
    oldestPending: () => Promise.resolve(undefined),
    latest: () => Promise.resolve({}),
  };
  const healthThresholds = { maxPendingAgeSeconds: 300, maxFailed: 250, maxDeadLettered: 0 };
  const h = await getOutboxHealth({ store, lease: held, scope: 'default', settings: { publisherEnabled: true, healthThresholds }, now: () => now });
  expect(asked).toEqual([{ Pending: 100, Failed: 251, DeadLettered: 100 }]);
  // A count that reached its limit is over the threshold: judged red, shown as a lower bound.
  expect(h.counts).toEqual({ Pending: 0, Failed: 251, DeadLettered: 0 });
  expect(h.reasons).toEqual(['251+ Failed row(s) (threshold 250)']);
});

it('with several partitions every partition must be held: one without a publisher is named and turns the lease inactive', async () => {
  const live = new Date(now.getTime() + 30_000);
  const leases = [
    { scope: 'default:p0of4', owner: 'w1', until: live },
    { scope: 'default:p1of4', owner: 'w2', until: live },
    { scope: 'default:p2of4', owner: 'w1', until: new Date(now.getTime() - 1) },
    { scope: 'default:p3of4', owner: 'w2', until: live },
    // A lease of the earlier count, a member and the one-partition lease are not partitions of this count.
    { scope: 'default:p0of2', owner: 'old', until: live },
    { scope: 'default:instance:abc', owner: 'w1', until: live },
    { scope: 'default', owner: 'older', until: live },
  ];
  const lease = { read: () => Promise.reject(new Error('not used with partitions')), listScope: () => Promise.resolve(leases) };
  const h = await getOutboxHealth({ store: port({ counts: { Pending: 3 }, capped: [] }, ago(20)), lease, scope: 'default', settings: { ...settings, partitionCount: 4 }, now: () => now });
  expect(h.partitions).toEqual([
    { partition: 0, owner: 'w1', active: true },
    { partition: 1, owner: 'w2', active: true },
    { partition: 2, owner: null, active: false },
    { partition: 3, owner: 'w2', active: true },
  ]);
  expect(h.leaseActive).toBe(false);
  expect(h.leaseOwner).toBe('w1, w2');
  expect(h.reasons).toContain('partition 2 of 4 held by no publisher: the rows of its keys wait');
  const all = await getOutboxHealth({
    store: port({ counts: {}, capped: [] }),
    lease: { ...lease, listScope: () => Promise.resolve(leases.map((l) => (l.scope === 'default:p2of4' ? { ...l, until: live } : l))) },
    scope: 'default',
    settings: { ...settings, partitionCount: 4 },
    now: () => now,
  });
  expect({ level: all.level, leaseActive: all.leaseActive, reasons: all.reasons }).toEqual({ level: 'green', leaseActive: true, reasons: [] });
});
