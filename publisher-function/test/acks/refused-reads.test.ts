// Issue 17 item 1's worst case, end to end: the real consumer toolkit acknowledges, Dataverse refuses the outbox reads
// (503) while the acks are being applied, and a poison ack sits among the good ones. Every good ack must wait and then
// be applied: none may end in the ack queue's dead-letter queue while the consumer's ledger has it as sent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOutboxConsumer, createSqliteInbox } from '@dataverse-outbox/consumer';
import { OutboxStatus } from '@dataverse-outbox/contract';
import { AckListener, DataverseClient, DataverseOutboxStore } from '../../src';
import { ACK_QUEUE, enqueueMany, eventually, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

it("Dataverse refusing reads while acks arrive: acks wait (abandoned, never dead-lettered), then every one is applied; the consumer's ledger has nothing the publisher dropped", async () => {
  const count = 30;
  await enqueueMany(h, count, (i) => ({ target: 'orders', eventType: 'SalesOrderWon', payload: { i }, messageId: `refused-${i}` }), 30);
  const publisher = h.newPublisher();
  await eventually(async () => (await publisher.runOnce()).read === 0 && true, 'all published', 60_000, 0);
  await publisher.close();

  const dir = mkdtempSync(path.join(tmpdir(), 'refused-reads-'));
  const inbox = createSqliteInbox({ filename: path.join(dir, 'inbox.sqlite') });
  const consumer = createOutboxConsumer({
    serviceBus: h.serviceBus,
    entity: 'orders',
    inbox,
    acknowledge: { queue: ACK_QUEUE },
    acknowledgementSweep: { intervalInMs: 1000, graceInMs: 1000 },
    retention: false,
    handler: () => undefined,
  });
  // A client that gives up at once, so the listener itself meets every refusal.
  const client = new DataverseClient(h.dv.url, { token: 'publisher-app' }, { retryOptions: { maxRetries: 0, retryDelayInMs: 10 } });
  const listener = new AckListener(h.serviceBus, new DataverseOutboxStore(client), ACK_QUEUE, { maxMessageCount: 50, maxConcurrentBatches: 2, maxWaitTimeInMs: 300 });
  const refusal = h.dv.injectFault({ kind: '503', rate: 1, entitySet: 'obx_outboxmessages', method: 'GET' });
  try {
    await consumer.start();
    await eventually(async () => (await inbox.count()) === count || undefined, 'consumer processed every message', 30_000, 100);
    // A poison ack among them (an older consumer copied a non-GUID outbox-id).
    const sender = h.serviceBus.createSender(ACK_QUEUE);
    await sender.sendMessages({ body: { outboxId: 'order-17', messageId: 'poison', outcome: 'processed' } });
    await sender.close();
    listener.start();
    await eventually(async () => h.dv.listFaults().find((f) => f.id === refusal.id)!.hits >= 2 || undefined, 'refused reads', 20_000, 50);
    await new Promise((r) => setTimeout(r, 2000));
    const during = h.sb.listEntities().find((e) => e.name === ACK_QUEUE);
    // Only the poison ack is dead-lettered; the good ones wait.
    expect(during?.deadLetterMessageCount).toBe(1);
    h.dv.removeFault(refusal.id);
    await eventually(async () => (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('refused-')).length === 0 || undefined, 'every row Acked', 60_000, 250);
    // The ledger: every acknowledgement the consumer recorded as sent was applied (no entry waits for a resend).
    await eventually(async () => (await inbox.listUnacknowledged({ processedBefore: new Date(Date.now() + 60_000), limit: 1000 })).length === 0 || undefined, 'ledger complete', 10_000, 100);
  } finally {
    await listener.close();
    await consumer.close({ timeoutInMs: 5000 });
    await inbox.close();
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const acked = (await h.store.query({ statuses: [OutboxStatus.Acked] })).filter((r) => r.messageId.startsWith('refused-'));
  expect(acked).toHaveLength(count);
  const ackQueue = h.sb.listEntities().find((e) => e.name === ACK_QUEUE);
  expect([ackQueue?.activeMessageCount, ackQueue?.deadLetterMessageCount]).toEqual([0, 1]);
  const dead = h.serviceBus.createReceiver(ACK_QUEUE, { subQueueType: 'deadLetter', receiveMode: 'receiveAndDelete' });
  const [poison] = await dead.receiveMessages(5, { maxWaitTimeInMs: 1000 });
  await dead.close();
  expect([poison?.deadLetterReason, poison?.deadLetterErrorDescription]).toEqual(['InvalidOutboxId', 'ack outboxId must be a GUID, got "order-17"']);
}, 150_000);
