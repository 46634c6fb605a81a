// Abandon, defer, dead-letter, lock expiry and max delivery count, as Azure Service Bus documents them.
import { isServiceBusError } from '@azure/service-bus';
import { eventually, startHarness, type Harness } from './support';

describe('Service Bus emulator: settlement and locks', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queues: [
        { name: 'abandon', maxDeliveryCount: 3 },
        { name: 'defer' },
        { name: 'deadletter' },
        { name: 'shortlock', lockDurationInMs: 1000, maxDeliveryCount: 5 },
        { name: 'expiring-locks', lockDurationInMs: 800, maxDeliveryCount: 2 },
        { name: 'renew', lockDurationInMs: 1500 },
      ],
    });
  });
  afterAll(async () => h.close());

  it('an abandoned message comes back with delivery count + 1; after MaxDeliveryCount it is in the DLQ with reason MaxDeliveryCountExceeded', async () => {
    await h.client.createSender('abandon').sendMessages({ body: 'poison', messageId: 'p1' });
    const receiver = h.client.createReceiver('abandon');
    for (let attempt = 0; attempt < 3; attempt++) {
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
      expect(m!.body).toBe('poison');
      expect(m!.deliveryCount).toBe(attempt);
      await receiver.abandonMessage(m!);
    }
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 1000 })).toEqual([]);
    const dlq = h.client.createReceiver('abandon', { subQueueType: 'deadLetter' });
    const [dead] = await dlq.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    expect(dead!.messageId).toBe('p1');
    expect(dead!.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(dead!.deadLetterErrorDescription).toBe('Message could not be consumed after 3 delivery attempts.');
    await dlq.completeMessage(dead!);
    expect(await dlq.peekMessages(5)).toEqual([]);
  });

  it('dead-letters with the reason and description the receiver gives', async () => {
    await h.client.createSender('deadletter').sendMessages({ body: 'bad', messageId: 'd1' });
    const receiver = h.client.createReceiver('deadletter');
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await receiver.deadLetterMessage(m!, { deadLetterReason: 'SchemaInvalid', deadLetterErrorDescription: 'field x missing' });
    expect(h.emulator.listEntities().find((e) => e.name === 'deadletter')).toMatchObject({ activeMessageCount: 0, deadLetterMessageCount: 1 });
    const [peeked] = await h.client.createReceiver('deadletter', { subQueueType: 'deadLetter' }).peekMessages(1);
    expect(peeked!.deadLetterReason).toBe('SchemaInvalid');
    expect(peeked!.deadLetterErrorDescription).toBe('field x missing');
    expect(peeked!.body).toBe('bad');
    expect(h.emulator.peekDeadLetters('deadletter')).toEqual([
      expect.objectContaining({ messageId: 'd1', deadLetterReason: 'SchemaInvalid', deadLetterErrorDescription: 'field x missing', body: 'bad' }),
    ]);
  });

  it('a deferred message is only reachable by sequence number, then settles through the management link', async () => {
    await h.client.createSender('defer').sendMessages([{ body: 'later' }, { body: 'now' }]);
    const receiver = h.client.createReceiver('defer');
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    expect(first!.body).toBe('later');
    await receiver.deferMessage(first!);
    const [second] = await receiver.receiveMessages(5, { maxWaitTimeInMs: 2000 });
    expect(second!.body).toBe('now');
    await receiver.completeMessage(second!);
    const peeked = await receiver.peekMessages(5, { fromSequenceNumber: first!.sequenceNumber });
    expect(peeked.map((m) => [m.body, m.state])).toEqual([['later', 'deferred']]);
    const [deferred] = await receiver.receiveDeferredMessages(first!.sequenceNumber!);
    expect(deferred!.body).toBe('later');
    expect(deferred!.state).toBe('deferred');
    expect(deferred!.lockToken).toBeDefined();
    await receiver.completeMessage(deferred!);
    expect(await receiver.peekMessages(5, { fromSequenceNumber: first!.sequenceNumber })).toEqual([]);
    await expect(receiver.receiveDeferredMessages(first!.sequenceNumber!)).rejects.toMatchObject({ code: 'MessageNotFound' });
  });

  it('an expired lock makes complete fail with MessageLockLost and the message is redelivered with delivery count + 1', async () => {
    await h.client.createSender('shortlock').sendMessages({ body: 'slow' });
    const receiver = h.client.createReceiver('shortlock', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await eventually(() => (Date.now() > m!.lockedUntilUtc!.getTime() + 200 ? true : undefined), 10_000, 'lock expiry');
    const error = await receiver.completeMessage(m!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isServiceBusError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'MessageLockLost' });
    const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    expect(again!.body).toBe('slow');
    expect(again!.deliveryCount).toBe(1);
    await receiver.completeMessage(again!);
  });

  it('lock expiry counts as a delivery attempt towards MaxDeliveryCount', async () => {
    await h.client.createSender('expiring-locks').sendMessages({ body: 'ignored', messageId: 'e1' });
    const receiver = h.client.createReceiver('expiring-locks', { maxAutoLockRenewalDurationInMs: 0 });
    for (let i = 0; i < 2; i++) {
      const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
      expect(m!.deliveryCount).toBe(i);
    }
    const dead = await eventually(() => h.emulator.peekDeadLetters('expiring-locks')[0], 10_000, 'dead-lettering');
    expect(dead).toMatchObject({ messageId: 'e1', deadLetterReason: 'MaxDeliveryCountExceeded' });
  });

  it('renewing a lock extends it, so complete succeeds after the original lock would have expired', async () => {
    await h.client.createSender('renew').sendMessages({ body: 'long job' });
    const receiver = h.client.createReceiver('renew', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    const original = m!.lockedUntilUtc!.getTime();
    await new Promise((r) => setTimeout(r, 700));
    const renewed = await receiver.renewMessageLock(m!);
    expect(renewed.getTime()).toBeGreaterThan(original);
    await new Promise((r) => setTimeout(r, original - Date.now() + 300));
    await receiver.completeMessage(m!);
    expect(await receiver.peekMessages(1)).toEqual([]);
  });

  it('settles through the management link after the receiving link closed (non-session)', async () => {
    await h.client.createSender('defer').sendMessages({ body: 'orphan' });
    const receiver = h.client.createReceiver('defer');
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    await receiver.close();
    const other = h.client.createReceiver('defer');
    await other.completeMessage(m!);
    expect(await other.peekMessages(5)).toEqual([]);
  });
});
