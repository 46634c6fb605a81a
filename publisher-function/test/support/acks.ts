// Helpers the ack listener tests share: published rows to acknowledge, their acknowledgements, the ack queue's counts.
import type { ServiceBusClient, ServiceBusMessage, ServiceBusReceivedMessage } from '@azure/service-bus';
import type { EntitySummary } from '@dataverse-outbox/emulators/servicebus';
import { OutboxStatus } from '@dataverse-outbox/contract';
import { ACK_QUEUE, drainQueue, enqueueMany, eventually, type Harness } from './harness';

export interface PublishedRow {
  id: string;
  messageId: string;
}

/** Commits `count` rows (message ids `<prefix>-<i>`), publishes them and empties their queue: rows waiting for an ack. */
export async function publishedRows(h: Harness, prefix: string, count: number): Promise<PublishedRow[]> {
  await enqueueMany(h, count, (i) => ({ target: 'invoices', payload: { i }, messageId: `${prefix}-${i}` }), 50);
  const publisher = h.newPublisher();
  await eventually(async () => (await publisher.runOnce()).read === 0 && true, 'all published', 60_000, 0);
  await publisher.close();
  const rows = (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith(`${prefix}-`));
  expect(rows).toHaveLength(count);
  await drainQueue(h, 'invoices', count);
  return rows.map((r) => ({ id: r.id, messageId: r.messageId }));
}

/** The consumer's acknowledgement of a processed row. */
export const ackOf = (r: PublishedRow): ServiceBusMessage => ({ body: { outboxId: r.id, messageId: r.messageId, outcome: 'processed', processedAt: new Date().toISOString() } });

/** Sends in one batch on a sender of its own, trying again while Service Bus reconnects after a fault. */
export async function sendAcks(client: ServiceBusClient, messages: ServiceBusMessage[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const sender = client.createSender(ACK_QUEUE);
    try {
      await sender.sendMessages(messages);
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    } finally {
      await sender.close().catch(() => undefined);
    }
  }
}

/** How many rows of this prefix are Acked. */
export async function ackedCount(h: Harness, prefix: string): Promise<number> {
  return (await h.store.query({ statuses: [OutboxStatus.Acked] })).filter((r) => r.messageId.startsWith(`${prefix}-`)).length;
}

/** The ack queue as the emulator counts it. */
export function ackQueue(sb: { listEntities(): EntitySummary[] }): EntitySummary {
  const q = sb.listEntities().find((e) => e.name === ACK_QUEUE);
  if (!q) throw new Error(`no ${ACK_QUEUE} on this emulator`);
  return q;
}

/** Nothing left in the ack queue: no active, locked or dead-lettered message. */
export function ackQueueEmpty(sb: { listEntities(): EntitySummary[] }): boolean {
  const q = ackQueue(sb);
  return q.activeMessageCount === 0 && q.lockedMessageCount === 0 && q.deadLetterMessageCount === 0;
}

/**
 * Everything in the ack queue's dead-letter queue, removed: until `expected` arrived (or 15 s), then, with
 * `lookForMoreInMs`, one more short receive so anything extra shows up too.
 */
export async function drainAckDeadLetters(h: Harness, expected: number, lookForMoreInMs = 0): Promise<ServiceBusReceivedMessage[]> {
  const receiver = h.serviceBus.createReceiver(ACK_QUEUE, { subQueueType: 'deadLetter', receiveMode: 'receiveAndDelete' });
  const got: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + 15_000;
  try {
    while (got.length < expected && Date.now() < deadline) got.push(...(await receiver.receiveMessages(50, { maxWaitTimeInMs: 500 })));
    if (lookForMoreInMs > 0) got.push(...(await receiver.receiveMessages(50, { maxWaitTimeInMs: lookForMoreInMs })));
  } finally {
    await receiver.close();
  }
  return got;
}
