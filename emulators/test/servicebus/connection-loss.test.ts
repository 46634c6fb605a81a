// Connection loss: locks belong to the broker, not to the link. Messages locked on a link whose connection is dropped
// (admin fault) or whose client process is SIGKILLed come back at once (delivery count + 1); a session comes back with
// its locked messages, in sequence order; old locks then fail to settle; lock expiry works for connected receivers.
import { ServiceBusClient, type ServiceBusReceivedMessage, type ServiceBusReceiver } from '@azure/service-bus';
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { eventually, fastRetries, startHarness, type Harness } from './support';

const holdLocksTs = resolve(__dirname, 'fixtures/holdLocks.ts');
/** Long enough that only a release on connection loss (not lock expiry) can bring the messages back in time. */
const longLock = 120_000;

async function receiveExactly(receiver: ServiceBusReceiver, count: number, timeoutInMs = 20_000): Promise<ServiceBusReceivedMessage[]> {
  const out: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutInMs;
  while (out.length < count) {
    if (Date.now() > deadline) throw new Error(`received ${out.length} of ${count} messages: ${JSON.stringify(out.map((m) => m.body as unknown))}`);
    out.push(...(await receiver.receiveMessages(count - out.length, { maxWaitTimeInMs: 1000 })));
  }
  return out;
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

describe('Service Bus emulator: connection loss', () => {
  let h: Harness;
  const clients: ServiceBusClient[] = [];
  const children: ChildProcess[] = [];
  const newClient = (): ServiceBusClient => {
    const client = new ServiceBusClient(h.emulator.connectionString, fastRetries);
    clients.push(client);
    return client;
  };

  function holdInChild(queue: string, count: number, session?: string): Promise<{ child: ChildProcess; held: unknown[] }> {
    const args = ['--conditions=development', '--import', 'tsx', holdLocksTs, h.emulator.connectionString, queue, String(count)];
    if (session) args.push(session);
    const child = spawn(process.execPath, args, { cwd: resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not report: ${stderr}`)), 60_000);
      child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        resolvePromise({ child, held: (JSON.parse(line) as { held: unknown[] }).held });
      });
    });
  }

  beforeAll(async () => {
    h = await startHarness({
      queues: [
        { name: 'dropped', lockDurationInMs: longLock },
        { name: 'killed', lockDurationInMs: longLock },
        { name: 'twice', lockDurationInMs: longLock, maxDeliveryCount: 2 },
        { name: 'dropped-sessions', requiresSession: true, lockDurationInMs: longLock },
        { name: 'killed-sessions', requiresSession: true, lockDurationInMs: longLock },
        { name: 'short-lock', lockDurationInMs: 1500 },
        { name: 'short-session-lock', requiresSession: true, lockDurationInMs: 1500 },
      ],
    });
  });
  afterAll(async () => {
    await Promise.all(children.map(killHard));
    for (const c of clients) await c.close().catch(() => undefined);
    await h.close();
  });

  it('non-session: messages locked on a dropped connection come back at once with delivery count 1; old locks are lost', async () => {
    const n = 20;
    await h.client.createSender('dropped').sendMessages(Array.from({ length: n }, (_, i) => ({ body: i })));
    const old = newClient().createReceiver('dropped', { maxAutoLockRenewalDurationInMs: 0 });
    const held = await receiveExactly(old, n);
    expect(held.every((m) => m.deliveryCount === 0)).toBe(true);

    expect(h.emulator.dropAllConnections()).toBeGreaterThan(0);

    const fresh = newClient().createReceiver('dropped');
    const again = await receiveExactly(fresh, n);
    expect(again.map((m) => m.body as number).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(again.every((m) => m.deliveryCount === 1)).toBe(true);
    // The old lock was released with the link: settling it fails as the SDK expects.
    await expect(old.completeMessage(held[0]!)).rejects.toMatchObject({ code: 'MessageLockLost' });
    for (const m of again) await fresh.completeMessage(m);
    expect(await fresh.receiveMessages(1, { maxWaitTimeInMs: 500 })).toHaveLength(0);
    const entity = (await h.emulator.listEntities()).find((e) => e.name === 'dropped')!;
    expect(entity).toMatchObject({ activeMessageCount: 0, lockedMessageCount: 0 });
  });

  it('non-session: messages locked by a SIGKILLed client process come back at once with delivery count 1', async () => {
    const n = 10;
    await h.client.createSender('killed').sendMessages(Array.from({ length: n }, (_, i) => ({ body: i })));
    const { child, held } = await holdInChild('killed', n);
    expect(held).toHaveLength(n);
    await killHard(child);
    const fresh = newClient().createReceiver('killed');
    const again = await receiveExactly(fresh, n);
    expect(again.map((m) => m.body as number).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(again.every((m) => m.deliveryCount === 1)).toBe(true);
    for (const m of again) await fresh.completeMessage(m);
  });

  it('non-session: after MaxDeliveryCount connection losses the message is dead-lettered with MaxDeliveryCountExceeded', async () => {
    await h.client.createSender('twice').sendMessages({ body: 'unlucky', messageId: 'unlucky' });
    for (let i = 0; i < 2; i++) {
      const receiver = newClient().createReceiver('twice', { maxAutoLockRenewalDurationInMs: 0 });
      const [m] = await receiveExactly(receiver, 1);
      expect(m!.deliveryCount).toBe(i);
      h.emulator.dropAllConnections();
    }
    const dead = await eventually(async () => {
      const list = await h.emulator.peekDeadLetters('twice');
      return list.length > 0 ? list : undefined;
    }, 15_000, 'dead-lettered message');
    expect(dead[0]).toMatchObject({ deadLetterReason: 'MaxDeliveryCountExceeded' });
    const dlq = newClient().createReceiver('twice', { subQueueType: 'deadLetter' });
    const [m] = await receiveExactly(dlq, 1);
    expect(m!.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    await dlq.completeMessage(m!);
  });

  it('session: a dropped connection releases the session with its locked messages; the next receiver gets 1..5 in order', async () => {
    await h.client.createSender('dropped-sessions').sendMessages([1, 2, 3, 4, 5].map((i) => ({ body: i, sessionId: 'S' })));
    const old = await newClient().acceptSession('dropped-sessions', 'S', { maxAutoLockRenewalDurationInMs: 0 });
    const held = await receiveExactly(old, 2);
    expect(held.map((m) => m.body as number)).toEqual([1, 2]);

    h.emulator.dropAllConnections();

    const next = await eventually(
      () => newClient().acceptNextSession('dropped-sessions').catch(() => undefined),
      20_000,
      'the session to be accepted again',
    );
    expect(next.sessionId).toBe('S');
    const again = await receiveExactly(next, 5);
    expect(again.map((m) => m.body as number)).toEqual([1, 2, 3, 4, 5]);
    expect(again.map((m) => m.deliveryCount)).toEqual([1, 1, 0, 0, 0]);
    await expect(old.completeMessage(held[0]!)).rejects.toMatchObject({ code: 'SessionLockLost' });
    for (const m of again) await next.completeMessage(m);
    await next.close();
  });

  it('session: a SIGKILLed session receiver releases the session with its locked messages, in order', async () => {
    await h.client.createSender('killed-sessions').sendMessages([1, 2, 3, 4, 5].map((i) => ({ body: i, sessionId: 'K' })));
    const { child, held } = await holdInChild('killed-sessions', 2, 'K');
    expect(held).toEqual([1, 2]);
    await killHard(child);
    const next = await eventually(
      () => newClient().acceptSession('killed-sessions', 'K').catch(() => undefined),
      20_000,
      'the session to be accepted again',
    );
    const again = await receiveExactly(next, 5);
    expect(again.map((m) => m.body as number)).toEqual([1, 2, 3, 4, 5]);
    expect(again.map((m) => m.deliveryCount)).toEqual([1, 1, 0, 0, 0]);
    for (const m of again) await next.completeMessage(m);
    await next.close();
  });

  it('lock expiry: a connected receiver holding a message past LockDuration sees it redelivered; its settlement fails', async () => {
    await h.client.createSender('short-lock').sendMessages({ body: 'slow' });
    const client = newClient();
    const holder = client.createReceiver('short-lock', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiveExactly(holder, 1);
    const other = client.createReceiver('short-lock', { maxAutoLockRenewalDurationInMs: 0 });
    const [again] = await receiveExactly(other, 1, 15_000);
    expect(again!.body).toBe('slow');
    expect(again!.deliveryCount).toBe(1);
    await expect(holder.completeMessage(m!)).rejects.toMatchObject({ code: 'MessageLockLost' });
    await other.completeMessage(again!);
  });

  it('lock expiry: a connected session receiver holding its session past LockDuration gives it up with its messages, in order', async () => {
    await h.client.createSender('short-session-lock').sendMessages([1, 2, 3].map((i) => ({ body: i, sessionId: 'E' })));
    const client = newClient();
    const holder = await client.acceptSession('short-session-lock', 'E', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiveExactly(holder, 1);
    expect(m!.body).toBe(1);
    // The next receiver renews its lock (the SDK's default): only the holder is meant to let its 1.5 s lock run out, and
    // on a loaded machine receiving and completing three messages can take longer than that.
    const next = await eventually(
      () => client.acceptSession('short-session-lock', 'E').catch(() => undefined),
      15_000,
      'the expired session',
    );
    const again = await receiveExactly(next, 3);
    expect(again.map((x) => x.body as number)).toEqual([1, 2, 3]);
    expect(again.map((x) => x.deliveryCount)).toEqual([1, 0, 0]);
    await expect(holder.completeMessage(m!)).rejects.toMatchObject({ code: 'SessionLockLost' });
    for (const x of again) await next.completeMessage(x);
    await next.close();
  });
});
