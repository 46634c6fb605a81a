// Two publishers on one scope, 429 storms with Retry-After, Service Bus unavailable for a while.
import { OutboxStatus } from '@dataverse-outbox/contract';
import { countByStatus, drainQueue, enqueueMany, eventually, type Harness, useHarness } from '../support/harness';
import type { PublisherMetrics } from '../../src';

let h: Harness;
useHarness((started) => (h = started));

function countingMetrics(): PublisherMetrics & { count: number } {
  const m = { count: 0, published: (n: number) => void (m.count += n), failed: () => {}, retried: () => {}, publishLatency: () => {}, backlog: () => {} };
  return m;
}

it('two publishers on one scope: only the lease holder publishes; on takeover nothing is lost or duplicated', async () => {
  const a = countingMetrics();
  const b = countingMetrics();
  const pa = h.newPublisher({ owner: 'publisher-a', metrics: a, leaseDurationInMs: 3000 });
  const pb = h.newPublisher({ owner: 'publisher-b', metrics: b, leaseDurationInMs: 3000 });
  await pa.start();
  await eventually(async () => pa.holdsLease, 'a holds the lease');
  await pb.start();
  const first = await enqueueMany(h, 200, (i) => ({ target: 'orders', payload: { i }, messageId: `two-a-${i}` }));
  await eventually(async () => (await countByStatus(h, OutboxStatus.Published)) === 200, 'first 200 published', 60_000, 200);
  expect(a.count).toBe(200);
  expect(b.count).toBe(0);
  expect(pb.holdsLease).toBe(false);
  // A stops gracefully (releases the lease); B takes over and publishes everything committed after.
  await pa.stop();
  const second = await enqueueMany(h, 200, (i) => ({ target: 'orders', payload: { i }, messageId: `two-b-${i}` }));
  await eventually(async () => (await countByStatus(h, OutboxStatus.Published)) === 400, 'next 200 published', 60_000, 200);
  expect(b.count).toBe(200);
  expect(pb.holdsLease).toBe(true);
  await pb.stop();
  const received = (await drainQueue(h, 'orders', 400)).map((m) => String(m.messageId));
  expect(received.sort()).toEqual([...first, ...second].sort());
}, 120_000);

it('429 storms with Retry-After: everything is published, the client waits as told', async () => {
  let throttled = 0;
  const ids = await enqueueMany(h, 300, (i) => ({ target: 'invoices', payload: { i }, messageId: `storm-${i}` }));
  // Service protection limits on (scaled: 40 requests per 2 s window for the publisher's user) plus injected 429s.
  h.dv.setLimits({ windowMs: 2000, maxRequests: 40, maxExecutionMs: 2000 * 4 });
  h.dv.injectFault({ kind: '429', rate: 0.3, retryAfterSeconds: 1 });
  const p = h.newPublisher();
  const c0 = h.dv.getRequestCounters().total;
  const before = c0.throttled + c0.faulted;
  await p.start();
  await eventually(async () => (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('storm-')).length === 300, 'storm rows published', 90_000, 500);
  await p.stop();
  const c1 = h.dv.getRequestCounters().total;
  throttled = c1.throttled + c1.faulted - before; // limit 429s and injected 429s
  expect(throttled).toBeGreaterThan(0);
  const rows = (await h.store.query({})).filter((r) => r.messageId.startsWith('storm-'));
  expect(rows.every((r) => r.status === OutboxStatus.Published)).toBe(true);
  const received = (await drainQueue(h, 'invoices', 300)).map((m) => String(m.messageId));
  expect(received.sort()).toEqual([...ids].sort());
}, 120_000);

it('Service Bus unavailable for a while: rows back off and retry, then all are published; none fail', async () => {
  const ids = await enqueueMany(h, 100, (i) => ({ target: 'orders', sessionKey: `sb-down-${i % 5}`, payload: { i }, messageId: `sb-down-${i}` }));
  h.sb.refuseAttaches({ durationInMs: 4000 });
  h.sb.dropAllConnections();
  const p = h.newPublisher({ backoff: { baseDelayInMs: 300, maxDelayInMs: 1500 } });
  await p.start();
  await eventually(async () => {
    const rows = (await h.store.query({})).filter((r) => r.messageId.startsWith('sb-down-'));
    return rows.every((r) => r.status === OutboxStatus.Published) && rows;
  }, 'published after the outage', 90_000, 500);
  await p.stop();
  const rows = (await h.store.query({})).filter((r) => r.messageId.startsWith('sb-down-'));
  expect(rows.some((r) => r.attempts > 1)).toBe(true);
  expect(rows.filter((r) => r.status === OutboxStatus.Failed)).toHaveLength(0);
  const received = (await drainQueue(h, 'orders', 100)).map((m) => String(m.messageId));
  expect(received.sort()).toEqual([...ids].sort());
}, 120_000);
