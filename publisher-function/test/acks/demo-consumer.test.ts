// The demo with today's consumer toolkit in the loop: 20 orders and one poison message (outbox-id not a GUID)
// on the ERP queue. The consumer handles the poison message but sends no ack for it (it says why); every good order
// ends Acked; nothing reaches the ack queue's dead-letter queue; nothing stays Published.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOutboxConsumer, createSqliteInbox, type MessageSettlement } from '@dataverse-outbox/consumer';
import { MessageProperties, OutboxStatus } from '@dataverse-outbox/contract';
import { AckListener } from '../../src';
import { ACK_QUEUE, enqueueMany, eventually, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

it('20 orders and one poison message: every order Acked, the poison one handled without an ack (and said why), no dead letter', async () => {
  await enqueueMany(h, 20, (i) => ({ target: 'orders', eventType: 'SalesOrderWon', payload: { i }, messageId: `demo-order-${i}` }), 20);
  const publisher = h.newPublisher();
  await eventually(async () => (await publisher.runOnce()).read === 0 && true, 'all published', 60_000, 0);
  await publisher.close();
  const sender = h.serviceBus.createSender('orders');
  await sender.sendMessages({
    messageId: 'poison-1',
    subject: 'SalesOrderWon',
    body: { i: 'poison' },
    applicationProperties: { [MessageProperties.outboxMessageId]: 'poison-1', [MessageProperties.outboxId]: 'order-poison or obx_status eq 612000001' },
  });
  await sender.close();

  const dir = mkdtempSync(path.join(tmpdir(), 'demo-consumer-'));
  const inbox = createSqliteInbox({ filename: path.join(dir, 'inbox.sqlite') });
  const settlements: MessageSettlement[] = [];
  const warnings: string[] = [];
  const consumer = createOutboxConsumer({
    serviceBus: h.serviceBus,
    entity: 'orders',
    inbox,
    acknowledge: { queue: ACK_QUEUE },
    retention: false,
    handler: () => undefined,
    onSettled: (s) => settlements.push(s),
    logger: { info: () => undefined, error: () => undefined, warn: (m, d) => void warnings.push(`${m} ${JSON.stringify(d)}`) },
  });
  const listener = new AckListener(h.serviceBus, h.store, ACK_QUEUE, { maxMessageCount: 50, maxWaitTimeInMs: 300 });
  try {
    await consumer.start();
    listener.start();
    await eventually(async () => (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('demo-order-')).length === 0 || undefined, 'every order Acked', 60_000, 250);
    await eventually(async () => settlements.some((s) => s.messageId === 'poison-1') || undefined, 'poison message settled', 10_000, 50);
  } finally {
    await listener.close();
    await consumer.close({ timeoutInMs: 5000 });
    await inbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
  expect((await h.store.query({ statuses: [OutboxStatus.Acked] })).filter((r) => r.messageId.startsWith('demo-order-'))).toHaveLength(20);
  const poison = settlements.find((s) => s.messageId === 'poison-1')!;
  expect([poison.outcome, poison.acknowledgement]).toEqual(['processed', undefined]);
  expect(warnings.some((w) => w.startsWith('no acknowledgement: application property "outbox-id" is not a GUID') && w.includes('poison-1'))).toBe(true);
  const ackQueue = h.sb.listEntities().find((e) => e.name === ACK_QUEUE);
  expect([ackQueue?.activeMessageCount, ackQueue?.lockedMessageCount, ackQueue?.deadLetterMessageCount]).toEqual([0, 0, 0]);
}, 120_000);
