// The typed admin clients (`@dataverse-outbox/emulators/admin`) against running emulators over real sockets: each call
// changes what the emulator does (seen through the Web API or the official Service Bus SDK) and answers what the
// emulator's own programmatic admin API answers.
import { DataverseAdminClient, EmulatorAdminError, ServiceBusAdminClient } from '@dataverse-outbox/emulators/admin';
import { REALISTIC_LATENCY, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { startEmulator, type WebApi } from './dataverse/support';
import { eventually, startHarness, type Harness } from './servicebus/support';

describe('DataverseAdminClient', () => {
  let emulator: DataverseEmulator;
  let api: WebApi;
  let admin: DataverseAdminClient;
  beforeAll(async () => {
    ({ emulator, api } = await startEmulator());
    admin = new DataverseAdminClient(`${emulator.url}/`);
  });
  afterAll(async () => emulator.close());

  test('health, and an unreachable emulator is a failed call', async () => {
    expect(await admin.health()).toBe(true);
    await expect(new DataverseAdminClient('http://127.0.0.1:1', { timeoutMs: 2000 }).health()).rejects.toThrow();
  });

  test('faults: injected rules fail Web API requests, are listed, removed and cleared', async () => {
    const rule = await admin.injectFault({ kind: '503', count: 2, entitySet: 'accounts' });
    expect(rule).toMatchObject({ kind: '503', remaining: 2, entitySet: 'accounts', hits: 0 });
    expect(await admin.listFaults()).toEqual(emulator.listFaults());
    expect((await api.get('accounts')).status).toBe(503);
    expect((await admin.listFaults())[0]).toMatchObject({ id: rule.id, remaining: 1, hits: 1 });
    expect(await admin.removeFault(rule.id)).toBe(true);
    expect(await admin.removeFault(rule.id)).toBe(false); // gone already: an answer, not an error
    expect((await api.get('accounts')).status).toBe(200);

    await admin.injectFault({ kind: '429', rate: 1, retryAfterSeconds: 3 });
    const throttled = await api.get('accounts');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('3');
    await admin.clearFaults();
    expect(await admin.listFaults()).toEqual([]);
    expect((await api.get('accounts')).status).toBe(200);
  });

  test('a rule the emulator refuses is an EmulatorAdminError with the status and the reason', async () => {
    const refused = await admin.injectFault({ kind: 'nonsense' as '503' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EmulatorAdminError);
    expect(refused).toMatchObject({ status: 400, method: 'POST' });
  });

  test('latency, limits and the clock: set, read back, equal to the programmatic API', async () => {
    expect(await admin.getLatency()).toBeUndefined();
    await admin.setLatency('realistic');
    expect(await admin.getLatency()).toEqual(REALISTIC_LATENCY);
    expect(emulator.getLatency()).toEqual(REALISTIC_LATENCY);
    await admin.setLatency('off');
    expect(await admin.getLatency()).toBeUndefined();

    await admin.setLimits({ maxRequests: 3, windowMs: 60_000 });
    expect(await admin.getLimits()).toEqual(emulator.getLimits());
    expect(await admin.getLimits()).toMatchObject({ maxRequests: 3, windowMs: 60_000 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await api.get('accounts')).status);
    expect(statuses).toContain(429);
    await admin.setLimits('off');
    expect(await admin.getLimits()).toBeUndefined();

    await admin.setClockOffset(-86_400_000);
    expect(await admin.getClockOffset()).toBe(-86_400_000);
    const created = await api.post('accounts', { name: 'yesterday' });
    const id = /\(([^)]+)\)/.exec(created.headers.get('odata-entityid') ?? '')?.[1];
    const row = await api.get(`accounts(${id})?$select=createdon`);
    expect(Date.now() - Date.parse(String(row.json['createdon']))).toBeGreaterThan(86_000_000);
    await admin.setClockOffset(0);
    expect(emulator.getClockOffset()).toBe(0);
  });

  test('counters count Web API requests per identity and reset', async () => {
    await admin.resetRequestCounters();
    await api.get('accounts');
    await api.get('accounts');
    const counters = await admin.getRequestCounters();
    expect(counters.total.requests).toBe(2);
    expect(counters).toEqual(emulator.getRequestCounters());
    await admin.resetRequestCounters();
    expect((await admin.getRequestCounters()).total.requests).toBe(0);
  });

  test('runDueBulkDeleteJobs runs no job when none is due, and refuses a bad batch size', async () => {
    expect(await admin.runDueBulkDeleteJobs({ now: new Date() })).toEqual([]);
    await expect(admin.runDueBulkDeleteJobs({ batchSize: 0 })).rejects.toMatchObject({ status: 400 });
  });

  test('the change-tracking token lifetime is accepted (and a bad one refused)', async () => {
    await expect(admin.setChangeTrackingTokenTtl(60_000)).resolves.toBeUndefined();
    await expect(admin.setChangeTrackingTokenTtl(-1)).rejects.toBeInstanceOf(EmulatorAdminError);
  });
});

describe('ServiceBusAdminClient', () => {
  let h: Harness;
  let admin: ServiceBusAdminClient;
  beforeAll(async () => {
    h = await startHarness({ queues: [{ name: 'orders' }] });
    admin = new ServiceBusAdminClient(h.emulator.adminUrl);
  });
  afterAll(async () => h.close());

  test('entities and dead letters, as the SDK left them', async () => {
    expect(await admin.health()).toBe(true);
    const sender = h.client.createSender('orders');
    await sender.sendMessages([{ body: { n: 1 }, messageId: 'keep' }, { body: { n: 2 }, messageId: 'poison' }]);
    const receiver = h.client.createReceiver('orders');
    const got = await receiver.receiveMessages(2, { maxWaitTimeInMs: 3000 });
    await receiver.deadLetterMessage(got.find((m) => m.messageId === 'poison')!, { deadLetterReason: 'Bad', deadLetterErrorDescription: 'test' });
    await receiver.abandonMessage(got.find((m) => m.messageId === 'keep')!);
    await receiver.close();

    const entities = await admin.listEntities();
    expect(entities).toEqual(h.emulator.listEntities());
    expect(entities.find((e) => e.name === 'orders')).toMatchObject({ kind: 'queue', activeMessageCount: 1, deadLetterMessageCount: 1 });
    expect(await admin.peekDeadLetters('orders')).toEqual([expect.objectContaining({ messageId: 'poison', deadLetterReason: 'Bad', body: { n: 2 } })]);
    await expect(admin.peekDeadLetters('missing')).rejects.toMatchObject({ status: 404 });
  });

  test('runtime entities: a queue added through the client takes messages', async () => {
    await admin.addQueue({ name: 'added', requiresSession: true });
    await admin.addTopic({ name: 'events', subscriptions: [{ name: 'all' }] });
    const names = (await admin.listEntities()).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['added', 'events/Subscriptions/all']));
    await h.client.createSender('added').sendMessages({ body: 'x', sessionId: 's1' });
    await eventually(async () => ((await admin.listEntities()).find((e) => e.name === 'added')?.activeMessageCount === 1 ? true : undefined));
  });

  test('faults: refused attaches and delayed sends are listed and cleared; dropped connections are counted', async () => {
    await admin.refuseAttaches({ durationInMs: 60_000, entity: 'orders' });
    await admin.delaySends({ delayInMs: 200, entity: 'orders' });
    const faults = await admin.faults();
    expect(faults).toEqual(h.emulator.faults());
    expect(faults.refusedAttaches).toEqual([expect.objectContaining({ entity: 'orders' })]);
    expect(faults.delayedSends).toEqual([expect.objectContaining({ entity: 'orders', delayInMs: 200 })]);
    await admin.clearFaults();
    expect(await admin.faults()).toEqual({ refusedAttaches: [], delayedSends: [] });
    await expect(admin.refuseAttaches({ durationInMs: 0 })).rejects.toMatchObject({ status: 400 });

    await h.client.createSender('orders').sendMessages({ body: 'open a connection' });
    expect(await admin.dropAllConnections()).toBeGreaterThanOrEqual(1);
  });
});
