// The erp-sales sample in process: SalesOrderWon -> sales_order once, invalid payloads dead-lettered as ValidationFailed,
// configuration errors named clearly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { DeadLetterReasons } from '../src/index';
import { checkErpSalesInvariants, createErpSalesService, readErpSalesConfig, type ErpSalesService } from '../examples/erp-sales';
import { drain, drainAcks, outboxMessage, startBroker, waitFor, type TestBroker, rowId } from './support/serviceBus';

describe('erp-sales sample service', () => {
  let broker: TestBroker;
  let service: ErpSalesService;
  const dir = mkdtempSync(path.join(tmpdir(), 'erp-sales-'));

  beforeAll(async () => {
    broker = await startBroker([{ name: 'erp-sales', requiresSession: true }, { name: 'erp-acks' }]);
    service = createErpSalesService({
      serviceBus: { connectionString: broker.connectionString },
      database: { kind: 'sqlite', file: path.join(dir, 'erp.sqlite') },
      ackQueue: 'erp-acks',
    });
    await service.start();
  });
  afterAll(async () => {
    await service?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns SalesOrderWon events into sales orders once per message, in order per opportunity', async () => {
    const order = (id: string, opportunityId: string, sequence: number, amount: number) =>
      outboxMessage({
        outboxMessageId: id,
        outboxId: rowId(`row-${id}`),
        eventType: 'SalesOrderWon',
        sessionKey: opportunityId,
        sequence,
        payload: { schemaVersion: 1, opportunityId, customer: { id: 'acc-1', name: 'Contoso' }, amount, currency: 'EUR' },
      });
    const sender = broker.client.createSender('erp-sales');
    await sender.sendMessages([order('s-1', 'opp-1', 1, 10), order('s-2', 'opp-2', 2, 20), order('s-3', 'opp-1', 3, 30), order('s-1', 'opp-1', 1, 10)]);
    await sender.close();
    const acks = await drainAcks(broker.client, 'erp-acks', 4);
    expect(acks.every((a) => a.outcome === 'processed')).toBe(true);
    const state = await service.state();
    expect(checkErpSalesInvariants(state, ['s-1', 's-2', 's-3'])).toEqual({ ok: true, missing: [], duplicated: [], unexpected: [], outOfOrder: [] });
    expect(state.sequencesByOpportunity).toEqual({ 'opp-1': [1, 3], 'opp-2': [2] });
    expect(state.inboxEntries).toBe(3);
  });

  it('dead-letters an invalid order as ValidationFailed and acknowledges it rejected', async () => {
    await broker.client.createSender('erp-sales').sendMessages(
      outboxMessage({
        outboxMessageId: 'bad-1',
        outboxId: rowId('row-bad-1'),
        eventType: 'SalesOrderWon',
        sessionKey: 'opp-9',
        payload: { opportunityId: 'opp-9', customer: 'Fabrikam', amount: -5 },
      }),
    );
    const [dead] = await drain(broker.client, 'erp-sales', 1, { deadLetter: true });
    expect(dead?.deadLetterReason).toBe(DeadLetterReasons.ValidationFailed);
    expect(dead?.deadLetterErrorDescription).toMatch(/amount must be a non-negative number/);
    const [ack] = await drainAcks(broker.client, 'erp-acks', 1);
    expect(ack).toMatchObject({ messageId: 'bad-1', outcome: 'rejected' });
    await waitFor('no effect', async () => !(await service.state()).appliedMessageIds.includes('bad-1'));
  });

  it('reads its configuration from the environment and names a bad variable', () => {
    expect(() => readErpSalesConfig({})).toThrow(/SERVICEBUS_CONNECTION_STRING/);
    expect(() => readErpSalesConfig({ SERVICEBUS_CONNECTION_STRING: 'x', ERP_CONCURRENCY: 'many' })).toThrow(/ERP_CONCURRENCY/);
    const config = readErpSalesConfig({ SERVICEBUS_CONNECTION_STRING: 'x', OUTBOX_ACK_QUEUE: '' }, '/srv');
    expect(config).toMatchObject({
      queue: 'erp-sales',
      sessions: true,
      ackQueue: false,
      database: { kind: 'sqlite', file: '/srv/.outbox-data/erp-sales.sqlite' },
    });
    expect(readErpSalesConfig({ SERVICEBUS_CONNECTION_STRING: 'x', DATABASE_URL: 'postgres://h/db' }).database).toEqual({ kind: 'postgres', url: 'postgres://h/db' });
  });
});
