// The admin endpoint (HTTP on 127.0.0.1) and the equal programmatic API: counts, DLQ contents, runtime entities and
// fault injection, observed through the official SDK.
import { ServiceBusClient } from '@azure/service-bus';
import { ADMIN_WRITE_HEADER } from '@dataverse-outbox/emulators/servicebus';
import { startHarness, eventually, type Harness } from './support';

async function http(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method, headers: { [ADMIN_WRITE_HEADER]: '1', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('Service Bus emulator: admin endpoint and fault injection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queues: [{ name: 'counted' }, { name: 'faulty' }, { name: 'slow' }] });
  });
  afterAll(async () => h.close());

  it('lists entities with active, scheduled and dead-lettered counts, and dead-letter contents', async () => {
    const sender = h.client.createSender('counted');
    await sender.sendMessages([{ body: 'a' }, { body: 'b' }, { body: { c: 3 }, messageId: 'to-dlq' }]);
    await sender.scheduleMessages({ body: 'future' }, new Date(Date.now() + 60_000));
    const receiver = h.client.createReceiver('counted');
    const got = await receiver.receiveMessages(3, { maxWaitTimeInMs: 3000 });
    await receiver.deadLetterMessage(got.find((m) => m.messageId === 'to-dlq')!, { deadLetterReason: 'Because', deadLetterErrorDescription: 'test' });
    await receiver.abandonMessage(got[0]!);
    await receiver.abandonMessage(got[1]!);

    const { status, json } = await http('GET', `${h.emulator.adminUrl}/entities`);
    expect(status).toBe(200);
    const counted = (json.entities as Array<Record<string, unknown>>).find((e) => e.name === 'counted');
    expect(counted).toMatchObject({ activeMessageCount: 2, scheduledMessageCount: 1, deadLetterMessageCount: 1 });
    expect(h.emulator.listEntities().find((e) => e.name === 'counted')).toEqual(counted);

    const dlq = await http('GET', `${h.emulator.adminUrl}/entities/counted/deadletters`);
    expect(dlq.json.messages).toEqual([expect.objectContaining({ messageId: 'to-dlq', deadLetterReason: 'Because', deadLetterErrorDescription: 'test', body: { c: 3 } })]);
    expect(await http('GET', `${h.emulator.adminUrl}/entities/nope/deadletters`)).toMatchObject({ status: 404 });
    expect((await http('GET', `${h.emulator.adminUrl}/nothing`)).status).toBe(404);
  });

  it('adds a queue at runtime', async () => {
    const { status } = await http('POST', `${h.emulator.adminUrl}/entities`, { queue: { name: 'added-over-http', maxDeliveryCount: 2 } });
    expect(status).toBe(201);
    h.emulator.addQueue({ name: 'added-in-code' });
    await h.client.createSender('added-over-http').sendMessages({ body: 1 });
    await h.client.createSender('added-in-code').sendMessages({ body: 2 });
    expect(h.emulator.listEntities().filter((e) => e.name.startsWith('added')).map((e) => e.activeMessageCount)).toEqual([1, 1]);
    expect((await http('POST', `${h.emulator.adminUrl}/entities`, { queue: { name: 'added-in-code' } })).status).toBe(409);
    expect(await http('POST', `${h.emulator.adminUrl}/entities`, { queue: { name: 'bad', lockDurationInMs: -1 } })).toMatchObject({ status: 400 });
  });

  it('dropping all connections is survived by SDK clients, which reconnect and carry on', async () => {
    const sender = h.client.createSender('faulty');
    const receiver = h.client.createReceiver('faulty', { receiveMode: 'receiveAndDelete' });
    await sender.sendMessages({ body: 'before' });
    expect((await receiver.receiveMessages(1, { maxWaitTimeInMs: 3000 }))[0]!.body).toBe('before');
    const { json } = await http('POST', `${h.emulator.adminUrl}/faults/drop-connections`);
    expect(json.dropped).toBeGreaterThanOrEqual(1);
    const received = await eventually(
      async () => {
        try {
          await sender.sendMessages({ body: 'after' });
          const got = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
          return got.length > 0 ? got[0]!.body : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
      'reconnect',
    );
    expect(received).toBe('after');
  });

  it('refuses attaches for a while (per entity) with a retryable error, then lets them through', async () => {
    await http('POST', `${h.emulator.adminUrl}/faults/refuse-attaches`, { durationInMs: 1500, entity: 'faulty' });
    const impatient = new ServiceBusClient(h.emulator.connectionString, { retryOptions: { maxRetries: 0, timeoutInMs: 5000 } });
    await expect(impatient.createSender('faulty').sendMessages({ body: 'refused' })).rejects.toMatchObject({ code: 'ServiceBusy', retryable: true });
    await impatient.createSender('slow').sendMessages({ body: 'other entities are fine' });
    const patient = new ServiceBusClient(h.emulator.connectionString, { retryOptions: { maxRetries: 10, retryDelayInMs: 300, timeoutInMs: 5000 } });
    await patient.createSender('faulty').sendMessages({ body: 'eventually' });
    expect((await http('GET', `${h.emulator.adminUrl}/faults`)).json.refusedAttaches).toEqual([]);
    await impatient.close();
    await patient.close();
    await h.client.createReceiver('slow', { receiveMode: 'receiveAndDelete' }).receiveMessages(5, { maxWaitTimeInMs: 1000 });
  });

  it('delays send acknowledgements while the fault is on', async () => {
    const sender = h.client.createSender('slow');
    await sender.sendMessages({ body: 'warm-up' });
    h.emulator.delaySends({ delayInMs: 800, entity: 'slow' });
    const started = Date.now();
    await sender.sendMessages({ body: 'delayed' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    await http('DELETE', `${h.emulator.adminUrl}/faults`);
    const fast = Date.now();
    await sender.sendMessages({ body: 'prompt' });
    expect(Date.now() - fast).toBeLessThan(700);
  });
});
