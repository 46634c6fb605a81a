// Crash safety with real processes: the erp-sales service is spawned, SIGKILLs itself at a chosen point (fault
// injection through its environment), and is restarted. The Service Bus emulator runs in the test process; the child
// connects to it over TCP like any client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  checkErpSalesInvariants,
  erpSalesEnv,
  erpSalesMainPath,
  readErpSalesState,
  type ErpSalesDatabaseConfig,
} from '../examples/erp-sales';
import { describePostgres, dropSchema, testDatabaseUrl, uniqueSchema } from './support/postgres';
import { killAllChildren, spawnTs } from './support/process';
import { drainAcks, outboxMessage, peekAll, startBroker, waitFor, type TestBroker, rowId } from './support/serviceBus';

jest.setTimeout(180_000);

interface Backend {
  database: ErpSalesDatabaseConfig;
  env: Record<string, string>;
}

function crashSuite(name: string, makeBackend: (testName: string) => Backend, cleanup: () => Promise<void>, includeBrokenVariant: boolean): void {
  let broker: TestBroker;
  let counter = 0;

  beforeAll(async () => {
    broker = await startBroker(
      ['after-commit', 'after-complete', 'before-commit', 'broken'].flatMap((q) => [
        // Short locks so a killed consumer's session and message come back quickly.
        { name: `${name}-${q}`, requiresSession: true, lockDurationInMs: 2000, maxDeliveryCount: 10 },
        { name: `${name}-${q}-acks` },
      ]),
    );
  });
  afterAll(async () => {
    await killAllChildren();
    await broker?.close();
    await cleanup();
  });

  function serviceEnv(queue: string, backend: Backend, extra: Record<string, string> = {}): Record<string, string> {
    return {
      [erpSalesEnv.connectionString]: broker.connectionString,
      [erpSalesEnv.queue]: queue,
      [erpSalesEnv.ackQueue]: `${queue}-acks`,
      [erpSalesEnv.sessions]: 'true',
      [erpSalesEnv.concurrency]: '2',
      ...backend.env,
      ...extra,
    };
  }

  async function sendOrder(queue: string, id: string): Promise<void> {
    const opportunityId = `opp-${id}`;
    await broker.client.createSender(queue).sendMessages(
      outboxMessage({
        outboxMessageId: id,
        outboxId: rowId(`row-${id}`),
        eventType: 'SalesOrderWon',
        sessionKey: opportunityId,
        sequence: ++counter,
        payload: { schemaVersion: 1, opportunityId, customer: { name: 'Contoso' }, amount: 1200.5, currency: 'EUR' },
      }),
    );
  }

  async function stopGracefully(service: ReturnType<typeof spawnTs>): Promise<void> {
    service.child.kill('SIGTERM');
    const exit = await service.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(service.lines.some((l) => l.msg === 'stopped')).toBe(true);
  }

  it('crash after commit, before complete: one effect, and the restart completes and acknowledges the message', async () => {
    const queue = `${name}-after-commit`;
    const backend = makeBackend('after_commit');
    await sendOrder(queue, 'ac-1');
    const crashing = spawnTs(erpSalesMainPath, serviceEnv(queue, backend, { [erpSalesEnv.crashAt]: 'after-commit' }));
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const afterCrash = await readErpSalesState(backend.database);
    expect([afterCrash.salesOrders, afterCrash.inboxEntries]).toEqual([1, 1]);
    // Committed but not completed: the message is still on the queue.
    expect((await peekAll(broker.client, queue)).map((m) => m.messageId)).toEqual(['ac-1']);

    const restarted = spawnTs(erpSalesMainPath, serviceEnv(queue, backend));
    const [ack] = await drainAcks(broker.client, `${queue}-acks`, 1, { timeoutInMs: 60_000 });
    expect(ack).toMatchObject({ outboxId: rowId('row-ac-1'), messageId: 'ac-1', outcome: 'processed' });
    await restarted.waitForLog((l) => l.msg === 'message duplicate' && l.outboxMessageId === 'ac-1');
    await waitFor('queue empty', async () => (await peekAll(broker.client, queue)).length === 0);
    await stopGracefully(restarted);

    const state = await readErpSalesState(backend.database);
    expect(checkErpSalesInvariants(state, ['ac-1'])).toMatchObject({ ok: true });
    expect(state.salesOrders).toBe(1);
    expect(await peekAll(broker.client, queue, { deadLetter: true })).toHaveLength(0);
  });

  it('crash after complete, before the acknowledgement: the restarted service finds the unacknowledged inbox entry and acknowledges it', async () => {
    const queue = `${name}-after-complete`;
    const backend = makeBackend('after_complete');
    await sendOrder(queue, 'acp-1');
    const crashing = spawnTs(erpSalesMainPath, serviceEnv(queue, backend, { [erpSalesEnv.crashAt]: 'after-complete' }));
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Completed, so Service Bus will never deliver it again; and no acknowledgement was sent.
    expect(await peekAll(broker.client, queue)).toHaveLength(0);
    expect(await peekAll(broker.client, `${queue}-acks`)).toHaveLength(0);

    const restarted = spawnTs(erpSalesMainPath, serviceEnv(queue, backend, { [erpSalesEnv.ackSweep]: '500' }));
    const [ack] = await drainAcks(broker.client, `${queue}-acks`, 1, { timeoutInMs: 30_000 });
    expect(ack).toMatchObject({ outboxId: rowId('row-acp-1'), messageId: 'acp-1', outcome: 'processed' });
    await restarted.waitForLog((l) => l.msg === 'acknowledged again after a lost acknowledgement' && l.count === 1);
    // Recorded: later sweeps do not send it again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await peekAll(broker.client, `${queue}-acks`)).toHaveLength(0);
    await stopGracefully(restarted);
    expect((await readErpSalesState(backend.database)).salesOrders).toBe(1);
  });

  it('crash before commit: nothing is written, and the redelivery after restart applies it once', async () => {
    const queue = `${name}-before-commit`;
    const backend = makeBackend('before_commit');
    await sendOrder(queue, 'bc-1');
    const crashing = spawnTs(erpSalesMainPath, serviceEnv(queue, backend, { [erpSalesEnv.crashAt]: 'before-commit' }));
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const afterCrash = await readErpSalesState(backend.database);
    expect([afterCrash.salesOrders, afterCrash.inboxEntries]).toEqual([0, 0]);

    const restarted = spawnTs(erpSalesMainPath, serviceEnv(queue, backend));
    const [ack] = await drainAcks(broker.client, `${queue}-acks`, 1, { timeoutInMs: 60_000 });
    expect(ack).toMatchObject({ messageId: 'bc-1', outcome: 'processed' });
    const processed = await restarted.waitForLog((l) => l.msg === 'message processed' && l.outboxMessageId === 'bc-1');
    expect(processed.deliveryCount).toBeGreaterThanOrEqual(1);
    await stopGracefully(restarted);

    const state = await readErpSalesState(backend.database);
    expect(checkErpSalesInvariants(state, ['bc-1'])).toMatchObject({ ok: true });
    expect(state.salesOrders).toBe(1);
  });

  if (includeBrokenVariant) {
    it('the deliberately broken variant (complete before commit) loses the message on a crash, and the invariant check says so', async () => {
      const queue = `${name}-broken`;
      const backend = makeBackend('broken');
      await sendOrder(queue, 'br-1');
      const crashing = spawnTs(
        erpSalesMainPath,
        serviceEnv(queue, backend, { [erpSalesEnv.crashAt]: 'before-commit', [erpSalesEnv.unsafeCompleteBeforeCommit]: 'true' }),
      );
      expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
      expect(crashing.lines.some((l) => l.msg === 'BROKEN VARIANT: messages are completed before the inbox transaction commits')).toBe(true);

      const restarted = spawnTs(erpSalesMainPath, serviceEnv(queue, backend));
      await restarted.waitForLog((l) => l.msg === 'erp-sales ready');
      // Give a redelivery every chance (several lock durations): there is none, the message was completed.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      await stopGracefully(restarted);

      expect(await peekAll(broker.client, queue)).toHaveLength(0);
      const report = checkErpSalesInvariants(await readErpSalesState(backend.database), ['br-1']);
      expect(report).toMatchObject({ ok: false, missing: ['br-1'] });
    });
  }
}

describe('erp-sales crash safety, SQLite inbox', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erp-crash-'));
  crashSuite(
    'sqlite',
    (testName) => {
      const file = path.join(dir, `${testName}.sqlite`);
      return { database: { kind: 'sqlite', file }, env: { [erpSalesEnv.sqliteFile]: file, [erpSalesEnv.databaseUrl]: '' } };
    },
    async () => rmSync(dir, { recursive: true, force: true }),
    false,
  );
});

describePostgres('erp-sales crash safety, PostgreSQL inbox', () => {
  const schemas: string[] = [];
  crashSuite(
    'pg',
    (testName) => {
      const schema = uniqueSchema(`erp_${testName}`);
      schemas.push(schema);
      return {
        database: { kind: 'postgres', url: testDatabaseUrl, schema },
        env: { [erpSalesEnv.databaseUrl]: testDatabaseUrl, [erpSalesEnv.schema]: schema },
      };
    },
    async () => {
      for (const schema of schemas) await dropSchema(schema);
    },
    true,
  );
});
