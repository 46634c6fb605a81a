// Invariant 7 (stalls are visible) for alerting: every running publisher measures the age of the oldest Pending row and
// reports it to its metrics (the OpenTelemetry gauge outbox.pending.oldest_age the Bicep alert reads), lease or not.
import { OutboxStatus } from '@dataverse-outbox/contract';
import { noMetrics, type PublisherMetrics } from '../../src';
import { countByStatus, drainQueue, eventually, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

function recordingMetrics(): PublisherMetrics & { ages: number[] } {
  const ages: number[] = [];
  return { ...noMetrics, ages, pendingAge: (seconds) => void ages.push(seconds) };
}

it('a switched-off publisher keeps reporting the growing age of the oldest Pending row; 0 once nothing is Pending', async () => {
  await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { a: 1 }, messageId: 'stall-1' }));
  const metrics = recordingMetrics();
  const off = h.newPublisher({ metrics, pendingAgeIntervalInMs: 250, appSettings: { ...h.appSettings, OUTBOX_PUBLISHER_ENABLED: 'no' } });
  await off.start();
  try {
    // createdon has whole seconds: wait until the reported age has clearly grown.
    await eventually(async () => (metrics.ages.at(-1) ?? 0) >= 2 && true, 'a pending age of 2 s or more reported', 15_000, 100);
  } finally {
    await off.close();
  }
  expect(await countByStatus(h, OutboxStatus.Pending)).toBe(1);
  expect(metrics.ages.length).toBeGreaterThan(2);

  const on = h.newPublisher({ metrics: recordingMetrics(), pendingAgeIntervalInMs: 0 });
  await on.start();
  try {
    await eventually(async () => (await countByStatus(h, OutboxStatus.Pending)) === 0 && true, 'published', 15_000, 100);
    expect(await on.measurePendingAge()).toBe(0);
  } finally {
    await on.close();
  }
  await drainQueue(h, 'orders', 1);
});

it('reports nothing (rather than a made-up age) when Dataverse cannot be read', async () => {
  const metrics = recordingMetrics();
  const p = h.newPublisher({ metrics, pendingAgeIntervalInMs: 0 });
  h.dv.injectFault({ kind: '503', rate: 1, entitySet: 'obx_outboxmessages' });
  expect(await p.measurePendingAge()).toBeUndefined();
  expect(metrics.ages).toEqual([]);
  await p.close();
});
