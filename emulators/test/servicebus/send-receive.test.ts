// Sending, batching and receiving through the official SDK, with the outcomes Azure Service Bus documents.
import { startHarness, type Harness } from './support';

describe('Service Bus emulator: send and receive', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queues: [{ name: 'orders' }, { name: 'rad' }, { name: 'batch' }] });
  });
  afterAll(async () => h.close());

  it('delivers a sent message once in peekLock, with broker properties, and never again after complete', async () => {
    const sender = h.client.createSender('orders');
    await sender.sendMessages({ body: { id: 1 }, messageId: 'order-1', subject: 'created', applicationProperties: { tenant: 'a' } });
    const receiver = h.client.createReceiver('orders');
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    expect(message).toBeDefined();
    expect(message!.body).toEqual({ id: 1 });
    expect(message!.messageId).toBe('order-1');
    expect(message!.subject).toBe('created');
    expect(message!.applicationProperties).toEqual({ tenant: 'a' });
    expect(message!.deliveryCount).toBe(0);
    expect(message!.sequenceNumber!.toNumber()).toBe(1);
    expect(message!.enqueuedTimeUtc).toBeInstanceOf(Date);
    expect(message!.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(message!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    await receiver.completeMessage(message!);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 1500 })).toEqual([]);
    expect(await receiver.peekMessages(10)).toEqual([]);
    await receiver.close();
    await sender.close();
  });

  it('sends a batch as one transfer, keeps order and assigns increasing sequence numbers', async () => {
    const sender = h.client.createSender('batch');
    const batch = await sender.createMessageBatch();
    expect(batch.maxSizeInBytes).toBe(262_144);
    for (let i = 0; i < 50; i++) expect(batch.tryAddMessage({ body: `m${i}` })).toBe(true);
    await sender.sendMessages(batch);
    await sender.sendMessages([{ body: 'm50' }, { body: 'm51' }]);
    const receiver = h.client.createReceiver('batch', { receiveMode: 'receiveAndDelete' });
    const received = [];
    while (received.length < 52) {
      const got = await receiver.receiveMessages(52 - received.length, { maxWaitTimeInMs: 3000 });
      if (got.length === 0) break;
      received.push(...got);
    }
    expect(received.map((m) => m.body)).toEqual(Array.from({ length: 52 }, (_, i) => `m${i}`));
    const seqs = received.map((m) => m.sequenceNumber!.toNumber());
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(received.map((m) => m.messageId)).size).toBe(52);
    await receiver.close();
  });

  it('removes messages on delivery in receiveAndDelete mode (no lock token)', async () => {
    const sender = h.client.createSender('rad');
    await sender.sendMessages([{ body: 1 }, { body: 2 }, { body: 3 }]);
    const receiver = h.client.createReceiver('rad', { receiveMode: 'receiveAndDelete' });
    const got = await receiver.receiveMessages(3, { maxWaitTimeInMs: 3000 });
    expect(got.map((m) => m.body)).toEqual([1, 2, 3]);
    expect(got.every((m) => m.lockToken === undefined)).toBe(true);
    expect(await receiver.peekMessages(10)).toEqual([]);
    expect(h.emulator.listEntities().find((e) => e.name === 'rad')!.activeMessageCount).toBe(0);
    await receiver.close();
  });

  it('answers drain so repeated short receives on an empty queue keep working on the same link', async () => {
    const receiver = h.client.createReceiver('orders');
    for (let i = 0; i < 3; i++) expect(await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 })).toEqual([]);
    await h.client.createSender('orders').sendMessages({ body: 'late' });
    const [late] = await receiver.receiveMessages(5, { maxWaitTimeInMs: 3000 });
    expect(late!.body).toBe('late');
    await receiver.completeMessage(late!);
    await receiver.close();
  });

  it('streams messages to subscribe() handlers', async () => {
    const sender = h.client.createSender('orders');
    await sender.sendMessages([{ body: 's1' }, { body: 's2' }, { body: 's3' }]);
    const receiver = h.client.createReceiver('orders');
    const seen: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      const sub = receiver.subscribe(
        {
          processMessage: async (m) => {
            seen.push(m.body);
            if (seen.length === 3) {
              await sub.close();
              resolve();
            }
          },
          processError: async (args) => reject(args.error),
        },
        { autoCompleteMessages: true },
      );
    });
    expect(seen).toEqual(['s1', 's2', 's3']);
    await receiver.close();
  });
});
