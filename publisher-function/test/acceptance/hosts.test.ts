// Hosts and operations: Functions handlers invoked with an InvocationContext, the worker process (SIGTERM), the CLI,
// operator actions, and bad settings that stop the start with a clear message.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { InvocationContext, HttpRequest, type HttpResponseInit } from '@azure/functions';
import { OutboxLease, OutboxStatus, Settings } from '@dataverse-outbox/contract';
import { isOutboxError, runOperatorAction, releaseLease, DataverseLeaseStore } from '../../src';
import { acknowledgements, deadLetterMonitor, health, outboxFunctions, publishTimer } from '../../src/functions/handlers';
import { closeFunctionsHost, setFunctionsHostConfig } from '../../src/testing';
import { ACK_QUEUE, MISSING_QUEUE, countByStatus, drainQueue, eventually, rowByMessageId, startHarness, type Harness } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');
let h: Harness;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await closeFunctionsHost();
  await h?.close();
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    DATAVERSE_URL: h.dv.url,
    DATAVERSE_TOKEN: 'publisher-app',
    SERVICEBUS_CONNECTION_STRING: h.sb.connectionString,
    OUTBOX_SCOPE: 'default',
    ...h.appSettings,
    ...extra,
  };
}

function run(file: string, args: string[], extra: Record<string, string> = {}): { child: ChildProcess; output: () => { stdout: string; stderr: string }; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(ROOT, 'src', file), ...args], { env: env(extra), cwd: ROOT });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), exit };
}

const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

function context(name: string): InvocationContext {
  return new InvocationContext({ functionName: name, invocationId: `test-${name}-${Date.now()}` });
}

describe('bad settings stop the start with a clear message', () => {
  it('an invalid OUTBOX_* override: start() rejects listing the setting and the bad value', async () => {
    const p = h.newPublisher({ appSettings: { ...h.appSettings, OUTBOX_BATCH_SIZE: '5000', OUTBOX_ALLOWED_TARGETS: 'orders' } });
    let caught: unknown;
    await p.start().catch((e: unknown) => (caught = e));
    expect(isOutboxError(caught) && caught.code).toBe('InvalidSettings');
    expect((caught as Error).message).toContain('app setting OUTBOX_BATCH_SIZE must be a whole number from 1 to 1000, got "5000"');
    expect((caught as Error).message).toContain('app setting OUTBOX_ALLOWED_TARGETS is not valid JSON');
  });

  it('settings come from the solution environment variables, and a bad value there is reported by schema name', async () => {
    const def = await h.client.retrieve('environmentvariabledefinitions', `schemaname='${Settings.BatchSize.schemaName}'`);
    const { id } = await h.client.create('environmentvariablevalues', { schemaname: Settings.BatchSize.schemaName, value: '7', 'EnvironmentVariableDefinitionId@odata.bind': `/environmentvariabledefinitions(${String(def!.environmentvariabledefinitionid)})` });
    const good = h.newPublisher();
    expect((await good.loadSettings()).batchSize).toBe(7);
    await h.client.update('environmentvariablevalues', id, { value: 'seven' });
    const bad = h.newPublisher();
    await expect(bad.loadSettings()).rejects.toThrow('obx_BatchSize (dataverse) must be a whole number from 1 to 1000, got "seven"');
    await h.client.delete('environmentvariablevalues', id);
  });

  it('the worker exits with a clear message on bad app settings, and waits (no crash loop) on bad outbox settings', async () => {
    const noUrl = run('worker.ts', [], { DATAVERSE_URL: '' });
    expect(await noUrl.exit).toBe(78);
    expect(noUrl.output().stderr).toContain('DATAVERSE_URL is not set');
    const badOutbox = run('worker.ts', [], { OUTBOX_MAX_ATTEMPTS: '0' });
    await eventually(async () => noUrl && badOutbox.output().stderr.includes('Outbox publisher not started.') && true, 'worker reports bad settings', 30_000);
    expect(badOutbox.output().stderr).toContain('app setting OUTBOX_MAX_ATTEMPTS must be a whole number from 1 to 1000, got "0"');
    expect(badOutbox.child.exitCode).toBeNull(); // still running, checking again later
    badOutbox.child.kill('SIGTERM');
    await badOutbox.exit;
  });
});

describe('worker', () => {
  it('publishes continuously and on SIGTERM finishes the batch in hand and releases the lease', async () => {
    await h.writer.transaction((tx) => {
      for (let i = 0; i < 50; i++) tx.enqueue({ target: 'orders', payload: { i }, messageId: `worker-${i}` });
    });
    const w = run('worker.ts', []);
    await eventually(async () => (await h.store.query({ statuses: [OutboxStatus.Pending] })).filter((r) => r.messageId.startsWith('worker-')).length === 0 && true, 'worker published', 60_000, 300);
    const lease = new DataverseLeaseStore(h.client);
    expect((await lease.read('default'))?.owner).toBeDefined();
    w.child.kill('SIGTERM');
    expect(await w.exit).toBe(0);
    expect(w.output().stderr).toContain('"message":"stopped"');
    expect((await lease.read('default'))?.owner).toBeUndefined();
    expect(w.output().stderr).not.toMatch(/"payload"|publisher-app/); // no payloads or tokens in logs
    await drainQueue(h, 'orders', 50);
  });
});

describe('Azure Functions handlers (as registered)', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, env());
    setFunctionsHostConfig({
      publishBudgetInMs: 1500,
      publisherOptions: { leaseDurationInMs: 5000, polling: { minIntervalInMs: 20, maxIntervalInMs: 200 } },
      dataverseOptions: { retryOptions: { maxRetries: 2, retryDelayInMs: 50 } },
    });
  });
  afterAll(async () => {
    await closeFunctionsHost();
    process.env = saved;
  });

  it('registers the timer, Service Bus, DLQ timer and HTTP functions', () => {
    expect(outboxFunctions.map(([name, kind]) => `${name}:${kind}`)).toEqual(['outboxPublish:timer', 'outboxAcknowledgements:serviceBusQueue', 'outboxDeadLetterMonitor:timer', 'outboxHealth:http', 'outboxCanary:timer', 'outboxCanaryResponder:serviceBusQueue']);
    expect(acknowledgements.queueName).toBe('%OUTBOX_ACK_QUEUE%');
  });

  it('the timer publishes within its budget, the ack trigger marks Acked, and health answers', async () => {
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'invoices', payload: { f: 1 }, messageId: 'func-1' }));
    const started = Date.now();
    await publishTimer.handler(timer, context('outboxPublish'));
    expect(Date.now() - started).toBeLessThan(15_000);
    const row = await rowByMessageId(h, 'func-1');
    expect(row.status).toBe(OutboxStatus.Published);

    await acknowledgements.handler([{ outboxId: row.id, messageId: 'func-1', outcome: 'processed', processedAt: new Date().toISOString() }], context('outboxAcknowledgements'));
    expect((await rowByMessageId(h, 'func-1')).status).toBe(OutboxStatus.Acked);

    const res: HttpResponseInit = await health.handler(new HttpRequest({ method: 'GET', url: 'http://localhost/api/outbox/health' }), context('outboxHealth'));
    expect([200, 503]).toContain(res.status);
    // Health counts what it judges (bounded reads), never the finished rows.
    expect(res.jsonBody).toMatchObject({ level: expect.stringMatching(/green|amber|red/), counts: { Pending: expect.any(Number), Failed: expect.any(Number), DeadLettered: expect.any(Number) } });
    expect(Object.keys((res.jsonBody as { counts: object }).counts).sort()).toEqual(['DeadLettered', 'Failed', 'Pending']);
    await deadLetterMonitor.handler(timer, context('outboxDeadLetterMonitor'));
    await drainQueue(h, 'invoices', 1);
  });

  it('acks that cannot be applied yet make the invocation fail (the batch is redelivered), nothing is lost', async () => {
    h.dv.injectFault({ kind: '503', count: 100, entitySet: '$batch' });
    h.dv.injectFault({ kind: '503', count: 100, entitySet: 'obx_outboxmessages' });
    await expect(acknowledgements.handler([{ outboxId: '00000000-0000-0000-0000-000000000001', messageId: 'x', outcome: 'processed' }], context('outboxAcknowledgements'))).rejects.toThrow(/acknowledgements not applied yet/);
    h.dv.clearFaults();
  });
});

describe('operator actions and the CLI', () => {
  it('retry after fixing the cause, cancel, and release-lease, from the CLI with tables and JSON', async () => {
    await h.writer.transaction((tx) => {
      tx.enqueue({ target: MISSING_QUEUE, payload: { o: 1 }, messageId: 'ops-missing' });
      tx.enqueue({ target: 'payments', payload: { o: 2 }, messageId: 'ops-cancel' });
    });
    const p = h.newPublisher();
    await p.runOnce();
    await p.close();
    const missing = await rowByMessageId(h, 'ops-missing');
    expect(missing.status).toBe(OutboxStatus.Failed);

    const status = run('cli.ts', ['status', '--json']);
    expect(await status.exit).toBe(2); // red: Failed rows over the threshold
    const health = JSON.parse(status.output().stdout) as { counts: Record<string, number>; level: string };
    expect(health.counts.Failed).toBeGreaterThanOrEqual(2);
    expect(health.level).toBe('red');

    // The operator creates the missing queue, then retries by error text.
    h.sb.addQueue({ name: MISSING_QUEUE });
    const retry = run('cli.ts', ['retry', '--error-contains', 'MessagingEntityNotFound']);
    expect(await retry.exit).toBe(0);
    expect(retry.output().stdout).toContain('retry: 1 row(s) changed, 0 skipped.');
    expect((await rowByMessageId(h, 'ops-missing')).status).toBe(OutboxStatus.Pending);
    const p2 = h.newPublisher();
    await p2.runOnce();
    await p2.close();
    expect((await rowByMessageId(h, 'ops-missing')).status).toBe(OutboxStatus.Published);

    const cancelRow = await rowByMessageId(h, 'ops-cancel');
    const cancel = run('cli.ts', ['cancel', cancelRow.id, '--json']);
    expect(await cancel.exit).toBe(0);
    expect(JSON.parse(cancel.output().stdout)).toMatchObject({ action: 'cancel', changed: [cancelRow.id], skipped: [] });
    expect((await rowByMessageId(h, 'ops-cancel')).status).toBe(OutboxStatus.Cancelled);
    // Cancelled is final: retrying it is refused with the reason.
    const again = await runOperatorAction(h.store, 'retry', { ids: [cancelRow.id] });
    expect(again.skipped).toEqual([{ id: cancelRow.id, status: 'Cancelled', why: 'retry does not apply to Cancelled rows' }]);

    // A stuck lease (crashed holder) released by the operator.
    const leases = new DataverseLeaseStore(h.client);
    expect(await leases.tryAcquire('stuck', 'crashed-host', new Date(Date.now() + 3_600_000))).toBe(true);
    const rel = run('cli.ts', ['release-lease', '--scope', 'stuck']);
    expect(await rel.exit).toBe(0);
    expect(rel.output().stdout).toContain('Lease "stuck" released (was held by crashed-host).');
    expect((await leases.read('stuck'))?.owner).toBeUndefined();
    expect(await releaseLease(leases, 'stuck', { owner: 'someone' })).toEqual({ released: false, previousOwner: undefined });
    expect(OutboxLease.entitySetName).toBe('obx_outboxleases');
    expect(await countByStatus(h, OutboxStatus.Pending)).toBeGreaterThanOrEqual(0);
    await drainQueue(h, MISSING_QUEUE, 1);
  }, 120_000);

  it('the ack listener of the worker engine applies acks from the ack queue and completes them', async () => {
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { a: 1 }, messageId: 'ack-listener-1' }));
    const p = h.newPublisher({ ackListener: true });
    await p.start();
    await eventually(async () => (await rowByMessageId(h, 'ack-listener-1')).status === OutboxStatus.Published && true, 'published');
    const row = await rowByMessageId(h, 'ack-listener-1');
    const sender = h.serviceBus.createSender(ACK_QUEUE);
    await sender.sendMessages({ body: { outboxId: row.id, messageId: 'ack-listener-1', outcome: 'rejected', reason: 'unknown customer', processedAt: new Date().toISOString() } });
    await sender.close();
    await eventually(async () => (await rowByMessageId(h, 'ack-listener-1')).status === OutboxStatus.DeadLettered && true, 'rejected ack applied', 30_000);
    expect((await rowByMessageId(h, 'ack-listener-1')).lastError).toBe('Rejected by consumer: unknown customer');
    await p.close();
    expect(h.sb.listEntities().find((e) => e.name === ACK_QUEUE)?.activeMessageCount).toBe(0);
    await drainQueue(h, 'orders', 1);
  });
});
