// The worker's ack listener: acknowledgements are applied in batches while the next ones are received (several batches
// in flight), every ack message is completed only once Dataverse has it, and a Dataverse outage pauses receiving
// instead of burning the messages' delivery count.
import { OutboxStatus } from '@dataverse-outbox/contract';
import { AckListener, type OutboxStorePort } from '../../src';
import { ACK_QUEUE, countByStatus, drainQueue, enqueueMany, eventually, storeWithApplyUpdates, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

/** Rows enqueued and published (no ack listener), then one `processed` ack each sent to the ack queue. */
async function publishedRowsWithAcks(prefix: string, count: number): Promise<void> {
  await enqueueMany(h, count, (i) => ({ target: 'orders', payload: { i }, messageId: `${prefix}-${i}` }), 100);
  const publisher = h.newPublisher();
  await eventually(async () => (await publisher.runOnce()).read === 0 && true, 'all published', 60_000, 0);
  await publisher.close();
  const rows = (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith(`${prefix}-`));
  expect(rows).toHaveLength(count);
  const sender = h.serviceBus.createSender(ACK_QUEUE);
  for (let i = 0; i < rows.length; i += 100) {
    await sender.sendMessages(
      rows.slice(i, i + 100).map((r) => ({ body: { outboxId: r.id, messageId: r.messageId, outcome: 'processed', processedAt: new Date().toISOString() } })),
    );
  }
  await sender.close();
  await drainQueue(h, 'orders', count);
}

/** The real store, counting how many bulk writes run at once. */
function countingStore(): { store: OutboxStorePort; maxConcurrentWrites: () => number } {
  let running = 0;
  let max = 0;
  const store = storeWithApplyUpdates(h, async (updates, options) => {
    max = Math.max(max, ++running);
    try {
      return await h.store.applyUpdates(updates, options);
    } finally {
      running--;
    }
  });
  return { store, maxConcurrentWrites: () => max };
}

it('applies acknowledgements with several batches in flight and completes every ack message', async () => {
  await publishedRowsWithAcks('ackl', 600);
  // Dataverse's per-request latency is what makes one batch at a time slow.
  h.dv.setLatency({ perRequestMs: 40, perRecordWrittenMs: 1, perRecordReadMs: 0 });
  const { store, maxConcurrentWrites } = countingStore();
  const listener = new AckListener(h.serviceBus, store, ACK_QUEUE, { maxMessageCount: 50, maxConcurrentBatches: 4, maxWaitTimeInMs: 500 });
  listener.start();
  try {
    await eventually(async () => (await countByStatus(h, OutboxStatus.Published)) === 0 && true, 'every row Acked', 60_000, 200);
  } finally {
    await listener.close();
    h.dv.setLatency('off');
  }
  expect((await h.store.query({ statuses: [OutboxStatus.Acked] })).filter((r) => r.messageId.startsWith('ackl-'))).toHaveLength(600);
  expect(maxConcurrentWrites()).toBeGreaterThan(1);
  const ackQueue = h.sb.listEntities().find((e) => e.name === ACK_QUEUE);
  expect([ackQueue?.activeMessageCount, ackQueue?.lockedMessageCount, ackQueue?.deadLetterMessageCount]).toEqual([0, 0, 0]);
}, 120_000);

it('pauses while Dataverse refuses the writes, then applies every acknowledgement; none is dead-lettered', async () => {
  await publishedRowsWithAcks('ackout', 40);
  // Every row update fails for 4 s: the acks are abandoned and come back; receiving backs off meanwhile.
  const outage = h.dv.injectFault({ kind: '503', rate: 1, entitySet: '$batch' });
  const listener = new AckListener(h.serviceBus, h.store, ACK_QUEUE, { maxMessageCount: 20, maxConcurrentBatches: 2, maxWaitTimeInMs: 500 });
  listener.start();
  try {
    await new Promise((r) => setTimeout(r, 4000));
    expect((await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('ackout-'))).toHaveLength(40);
    h.dv.removeFault(outage.id);
    await eventually(async () => (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('ackout-')).length === 0, 'acks applied after the outage', 60_000, 250);
  } finally {
    await listener.close();
  }
  const ackQueue = h.sb.listEntities().find((e) => e.name === ACK_QUEUE);
  expect([ackQueue?.activeMessageCount, ackQueue?.deadLetterMessageCount]).toEqual([0, 0]);
}, 120_000);
