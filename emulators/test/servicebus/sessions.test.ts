// Sessions: named and next-available acceptance, exclusivity, ordering, state, lock renewal and expiry.
import { ServiceBusClient } from '@azure/service-bus';
import { eventually, startHarness, type Harness } from './support';

describe('Service Bus emulator: sessions', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      queues: [
        { name: 'sessions', requiresSession: true },
        { name: 'ordered', requiresSession: true },
        { name: 'short-sessions', requiresSession: true, lockDurationInMs: 1000 },
        { name: 'empty-sessions', requiresSession: true },
      ],
    });
  });
  afterAll(async () => h.close());

  it('refuses a message without sessionId on a session queue', async () => {
    await expect(h.client.createSender('sessions').sendMessages({ body: 'no session' })).rejects.toMatchObject({ name: 'ServiceBusError' });
  });

  it('messages of one session arrive in order, interleaved sends notwithstanding', async () => {
    const sender = h.client.createSender('ordered');
    const messages = [];
    for (let i = 0; i < 30; i++) messages.push({ body: i, sessionId: i % 2 === 0 ? 'even' : 'odd' });
    await sender.sendMessages(messages);
    const even = await h.client.acceptSession('ordered', 'even');
    const odd = await h.client.acceptSession('ordered', 'odd');
    const evenBodies: number[] = [];
    const oddBodies: number[] = [];
    while (evenBodies.length < 15) {
      for (const m of await even.receiveMessages(4, { maxWaitTimeInMs: 2000 })) {
        evenBodies.push(m.body as number);
        await even.completeMessage(m);
      }
    }
    while (oddBodies.length < 15) {
      for (const m of await odd.receiveMessages(15, { maxWaitTimeInMs: 2000 })) {
        oddBodies.push(m.body as number);
        await odd.completeMessage(m);
      }
    }
    expect(evenBodies).toEqual(Array.from({ length: 15 }, (_, i) => i * 2));
    expect(oddBodies).toEqual(Array.from({ length: 15 }, (_, i) => i * 2 + 1));
    await even.close();
    await odd.close();
  });

  it('two session receivers never hold the same session', async () => {
    await h.client.createSender('sessions').sendMessages([
      { body: 'a1', sessionId: 'A' },
      { body: 'b1', sessionId: 'B' },
    ]);
    const first = await h.client.acceptNextSession('sessions');
    const second = await h.client.acceptNextSession('sessions');
    expect(new Set([first.sessionId, second.sessionId])).toEqual(new Set(['A', 'B']));
    await expect(h.client.acceptSession('sessions', first.sessionId)).rejects.toMatchObject({ code: 'SessionCannotBeLocked' });
    const [m] = await first.receiveMessages(1, { maxWaitTimeInMs: 3000 });
    expect(m!.sessionId).toBe(first.sessionId);
    await first.completeMessage(m!);
    await first.close();
    // Closing the receiver releases the session for others.
    const again = await h.client.acceptSession('sessions', first.sessionId);
    expect(again.sessionId).toBe(first.sessionId);
    await again.close();
    for (const m2 of await second.receiveMessages(5, { maxWaitTimeInMs: 2000 })) await second.completeMessage(m2);
    await second.close();
  });

  it('keeps session state, and renews the session lock', async () => {
    const receiver = await h.client.acceptSession('sessions', 'stateful');
    expect(await receiver.getSessionState()).toBeNull();
    await receiver.setSessionState({ step: 2 });
    expect(await receiver.getSessionState()).toEqual({ step: 2 });
    const before = receiver.sessionLockedUntilUtc!.getTime();
    await new Promise((r) => setTimeout(r, 20));
    await receiver.renewSessionLock();
    expect(receiver.sessionLockedUntilUtc!.getTime()).toBeGreaterThan(before);
    await receiver.close();
    const later = await h.client.acceptSession('sessions', 'stateful');
    expect(await later.getSessionState()).toEqual({ step: 2 });
    await later.close();
  });

  it('an expired session lock makes settlement fail with SessionLockLost and frees the session with its messages', async () => {
    await h.client.createSender('short-sessions').sendMessages({ body: 'held', sessionId: 'S' });
    const receiver = await h.client.acceptSession('short-sessions', 'S', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
    expect(m!.body).toBe('held');
    await eventually(() => (Date.now() > receiver.sessionLockedUntilUtc!.getTime() + 300 ? true : undefined), 10_000, 'session lock expiry');
    await expect(receiver.completeMessage(m!)).rejects.toMatchObject({ code: 'SessionLockLost' });
    const next = await h.client.acceptSession('short-sessions', 'S');
    const [again] = await next.receiveMessages(1, { maxWaitTimeInMs: 3000 });
    expect(again!.body).toBe('held');
    expect(again!.deliveryCount).toBe(1);
    await next.completeMessage(again!);
    await next.close();
  });

  it('accepting the next session on an empty entity times out with ServiceTimeout after the client timeout', async () => {
    const impatient = new ServiceBusClient(h.emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 1500 } });
    const started = Date.now();
    await expect(impatient.acceptNextSession('empty-sessions')).rejects.toMatchObject({ code: 'ServiceTimeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    await impatient.close();
  });

  it('a waiting acceptNextSession gets a session that receives a message while it waits', async () => {
    const pending = h.client.acceptNextSession('empty-sessions');
    await new Promise((r) => setTimeout(r, 300));
    await h.client.createSender('empty-sessions').sendMessages({ body: 'arrived', sessionId: 'late' });
    const receiver = await pending;
    expect(receiver.sessionId).toBe('late');
    const [m] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 });
    await receiver.completeMessage(m!);
    await receiver.close();
  });
});
