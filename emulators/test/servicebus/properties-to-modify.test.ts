// propertiesToModify: what a receiver sets while abandoning, deferring or dead-lettering becomes application
// properties of the message's next delivery (or of its dead letter), on the receive link and through $management.
import type { ServiceBusReceiver } from '@azure/service-bus';
import { startHarness, type Harness } from './support';

describe('Service Bus emulator: settlement with propertiesToModify (@azure/service-bus 7.9.5)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queues: [{ name: 'edits' }] });
  });
  afterAll(async () => h.close());

  const one = async (receiver: ServiceBusReceiver) => {
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3_000 });
    if (!message) throw new Error('no message');
    return message;
  };

  it('abandon on the link: the redelivered message carries the new and the kept properties', async () => {
    await h.client.createSender('edits').sendMessages({ body: 'a', applicationProperties: { kept: 'yes', attempt: 0 } });
    const receiver = h.client.createReceiver('edits');
    await receiver.abandonMessage(await one(receiver), { attempt: 1, lastError: 'timeout' });
    const again = await one(receiver);
    expect(again.applicationProperties).toEqual({ kept: 'yes', attempt: 1, lastError: 'timeout' });
    expect(again.deliveryCount).toBe(1);
    await receiver.completeMessage(again);
    await receiver.close();
  });

  it('defer on the link, then dead-letter the deferred message through $management, each with its properties', async () => {
    await h.client.createSender('edits').sendMessages({ body: 'd' });
    const receiver = h.client.createReceiver('edits');
    const message = await one(receiver);
    await receiver.deferMessage(message, { parkedBy: 'worker-1' });
    const [deferred] = await receiver.receiveDeferredMessages(message.sequenceNumber!);
    expect(deferred!.applicationProperties).toEqual({ parkedBy: 'worker-1' });
    await receiver.deadLetterMessage(deferred!, { deadLetterReason: 'Expired', deadLetterErrorDescription: 'parked too long', parkedFor: '1h' });
    await receiver.close();
    const dlq = h.client.createReceiver('edits', { subQueueType: 'deadLetter' });
    const dead = await one(dlq);
    expect(dead.deadLetterReason).toBe('Expired');
    expect(dead.applicationProperties).toMatchObject({ parkedBy: 'worker-1', parkedFor: '1h' });
    await dlq.completeMessage(dead);
    await dlq.close();
  });

  it('dead-letter on the link: extra properties beside the reason reach the dead letter', async () => {
    await h.client.createSender('edits').sendMessages({ body: 'x' });
    const receiver = h.client.createReceiver('edits');
    await receiver.deadLetterMessage(await one(receiver), { deadLetterReason: 'Bad', deadLetterErrorDescription: 'no total', stage: 'validate' });
    await receiver.close();
    const dlq = h.client.createReceiver('edits', { subQueueType: 'deadLetter' });
    const dead = await one(dlq);
    expect(dead.applicationProperties).toEqual({ DeadLetterReason: 'Bad', DeadLetterErrorDescription: 'no total', stage: 'validate' });
    await dlq.completeMessage(dead);
    await dlq.close();
  });

  it('abandon of a deferred message through $management carries its properties to the next delivery', async () => {
    await h.client.createSender('edits').sendMessages({ body: 'm' });
    const receiver = h.client.createReceiver('edits');
    const message = await one(receiver);
    await receiver.deferMessage(message);
    const [deferred] = await receiver.receiveDeferredMessages(message.sequenceNumber!);
    await receiver.abandonMessage(deferred!, { reviewed: true });
    const [again] = await receiver.receiveDeferredMessages(message.sequenceNumber!);
    expect(again!.applicationProperties).toEqual({ reviewed: true });
    await receiver.completeMessage(again!);
    await receiver.close();
  });
});
