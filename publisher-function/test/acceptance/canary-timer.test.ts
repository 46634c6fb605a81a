// The Functions app's scheduled canary (issue 21), through the handlers as registered, both emulators and the consumer
// toolkit's canary responder: each canaryTimer run writes a canary row, the publish timer sends it, the responder
// acknowledges it, the ack trigger marks it Acked, and health's lastCanary moves on with each round (one $top 1 read of
// Dataverse, no state of its own). Without OUTBOX_CANARY_TARGET the timer writes nothing.
import { InvocationContext, HttpRequest, type HttpResponseInit } from '@azure/functions';
import { canaryEventType, notACanaryReason, OutboxStatus } from '@dataverse-outbox/contract';
import { createCanaryResponder, type CanaryResponder } from '@dataverse-outbox/consumer';
import { acknowledgements, canaryResponder, canaryTimer, health, publishTimer } from '../../src/functions/handlers';
import type { OutboxHealth } from '../../src';
import { closeFunctionsHost, setFunctionsHostConfig } from '../../src/testing';
import { ACK_QUEUE, startHarness, type Harness } from '../support/harness';

const CANARY_QUEUE = 'invoices';
const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
const context = (name: string): InvocationContext => new InvocationContext({ functionName: name, invocationId: `test-${name}-${Date.now()}` });

let h: Harness;
let responder: CanaryResponder;
const saved = { ...process.env };

beforeAll(async () => {
  h = await startHarness();
  Object.assign(process.env, { DATAVERSE_URL: h.dv.url, DATAVERSE_TOKEN: 'publisher-app', SERVICEBUS_CONNECTION_STRING: h.sb.connectionString, OUTBOX_SCOPE: 'default', ...h.appSettings });
  setFunctionsHostConfig({ publishBudgetInMs: 1500, publisherOptions: { leaseDurationInMs: 5000, polling: { minIntervalInMs: 20, maxIntervalInMs: 200 } }, dataverseOptions: { retryOptions: { maxRetries: 2, retryDelayInMs: 50 } } });
  responder = createCanaryResponder({ client: h.serviceBus, queue: CANARY_QUEUE, ackQueue: ACK_QUEUE });
});
afterAll(async () => {
  await responder?.close();
  await closeFunctionsHost();
  process.env = saved;
  await h?.close();
});

async function canaryRows(): Promise<number> {
  return (await h.store.query({ eventType: canaryEventType, top: 100 })).length;
}

/** One scheduled round: canary timer, publish timer, the responder's ack delivered to the ack trigger. */
async function round(): Promise<void> {
  await canaryTimer.handler(timer, context('outboxCanary'));
  await publishTimer.handler(timer, context('outboxPublish'));
  const receiver = h.serviceBus.createReceiver(ACK_QUEUE);
  try {
    const [ack] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 15_000 });
    expect(ack).toBeDefined();
    await acknowledgements.handler([ack!.body], context('outboxAcknowledgements'));
    await receiver.completeMessage(ack!);
  } finally {
    await receiver.close();
  }
}

async function lastCanary(): Promise<OutboxHealth['lastCanary']> {
  const res: HttpResponseInit = await health.handler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/outbox/health' }), context('outboxHealth'));
  return (res.jsonBody as OutboxHealth).lastCanary;
}

it('is off without OUTBOX_CANARY_TARGET: nothing is written, health has no lastCanary', async () => {
  delete process.env.OUTBOX_CANARY_TARGET;
  await canaryTimer.handler(timer, context('outboxCanary'));
  expect(await canaryRows()).toBe(0);
  expect(await lastCanary()).toBeUndefined();
});

it('each scheduled canary comes back Acked and keeps health\'s lastCanaryAt current', async () => {
  process.env.OUTBOX_CANARY_TARGET = CANARY_QUEUE;
  await round();
  const first = await lastCanary();
  expect(first?.lastCanaryLegs.map((l) => l.leg)).toEqual(['published', 'acked']);
  for (const l of first!.lastCanaryLegs) expect(typeof l.durationMs).toBe('number');
  const rows = await h.store.query({ eventType: canaryEventType, top: 100 });
  expect(rows.map((r) => r.status)).toEqual([OutboxStatus.Acked]);
  expect(first!.lastCanaryAt).toBe(rows[0]!.ackedOn!.toISOString());

  // Dataverse keeps whole seconds: the next round must end in a later second to be told apart.
  await new Promise((r) => setTimeout(r, 1100));
  await round();
  const second = await lastCanary();
  expect(Date.parse(second!.lastCanaryAt)).toBeGreaterThan(Date.parse(first!.lastCanaryAt));
  expect(await canaryRows()).toBe(2);
});

describe('the Functions canary responder (outboxCanaryResponder)', () => {
  // The Functions host hands the trigger the body and the message's properties as trigger metadata.
  const invocation = (m: { messageId?: unknown; subject?: string; applicationProperties?: Record<string, unknown> }): InvocationContext =>
    new InvocationContext({ functionName: 'outboxCanaryResponder', invocationId: `test-responder-${Date.now()}`, triggerMetadata: { messageId: m.messageId, subject: m.subject, applicationProperties: m.applicationProperties ?? {} } });

  it('is registered on OUTBOX_CANARY_QUEUE with the Service Bus connection', () => {
    expect(canaryResponder.queueName).toBe('%OUTBOX_CANARY_QUEUE%');
    expect(canaryResponder.connection).toBe('SERVICEBUS_CONNECTION_STRING');
  });

  it('acknowledges a published canary through the ack path: the row becomes Acked', async () => {
    await responder.close(); // the toolkit's responder must not take this canary
    process.env.OUTBOX_CANARY_TARGET = CANARY_QUEUE;
    await canaryTimer.handler(timer, context('outboxCanary'));
    await publishTimer.handler(timer, context('outboxPublish'));
    const receiver = h.serviceBus.createReceiver(CANARY_QUEUE);
    try {
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 15_000 });
      expect(m).toBeDefined();
      await canaryResponder.handler(m!.body, invocation(m!));
      await receiver.completeMessage(m!);
      const rows = await h.store.query({ eventType: canaryEventType, top: 100 });
      const row = rows.find((r) => r.messageId === m!.applicationProperties?.['outbox-message-id']);
      expect(row?.status).toBe(OutboxStatus.Acked);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a message that is no canary (or has no outbox-id), naming the reason', async () => {
    const props = { 'outbox-id': '00000000-0000-0000-0000-000000000002', 'outbox-message-id': 'order-1' };
    await expect(canaryResponder.handler({ orderId: 1 }, invocation({ messageId: 'order-1', subject: 'order.created', applicationProperties: props }))).rejects.toThrow(/NotACanary/);
    await expect(canaryResponder.handler({}, invocation({ messageId: 'x', subject: canaryEventType }))).rejects.toThrow(/NotACanary.*outbox-id/);
  });

  it('the toolkit\'s responder refuses the same way (one definition), with its own dead-letter reason NotACanary', async () => {
    const own = createCanaryResponder({ client: h.serviceBus, queue: CANARY_QUEUE, ackQueue: ACK_QUEUE });
    const sender = h.serviceBus.createSender(CANARY_QUEUE);
    const dlq = h.serviceBus.createReceiver(CANARY_QUEUE, { subQueueType: 'deadLetter' });
    try {
      await sender.sendMessages({ body: { orderId: 1 }, messageId: 'order-1', subject: 'order.created', applicationProperties: { 'outbox-id': '00000000-0000-0000-0000-000000000002', 'outbox-message-id': 'order-1' } });
      const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 15_000 });
      expect(dead?.deadLetterReason).toBe(notACanaryReason);
      await dlq.completeMessage(dead!);
    } finally {
      await dlq.close();
      await sender.close();
      await own.close();
    }
  });
});
