// Acceptance tests of createOutboxConsumer: the Service Bus emulator driven by the official SDK, with the inbox on
// real PostgreSQL and on SQLite. Each test has its own queue(s), inbox and effects table.
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { acknowledgementBatchSubject, acknowledgementSubject, parseAcknowledgements } from '@dataverse-outbox/contract';

import {
  createOutboxConsumer,
  DeadLetterReasons,
  PermanentError,
  type MessageSettlement,
  type OutboxConsumer,
  type OutboxConsumerOptions,
  type OutboxEvent,
} from '../src/index';
import { postgresKind, sqliteKind, type InboxFixture, type InboxKind } from './support/inboxKinds';
import { describePostgres } from './support/postgres';
import { ackQueue, acksIn, drain, drainAcks, outboxMessage, peekAll, startBroker, waitFor, type TestBroker, rowId } from './support/serviceBus';

jest.setTimeout(120_000);

const queues = [
  { name: 'dup', maxDeliveryCount: 10 },
  { name: 'acks-dup' },
  { name: 'transient', maxDeliveryCount: 10 },
  { name: 'acks-transient' },
  { name: 'transient-forever', maxDeliveryCount: 3 },
  { name: 'permanent', maxDeliveryCount: 10 },
  { name: 'bad', maxDeliveryCount: 10 },
  { name: 'acks-bad' },
  { name: 'concurrent', maxDeliveryCount: 20, lockDurationInMs: 1500 },
  { name: 'sessions', requiresSession: true, maxDeliveryCount: 10, lockDurationInMs: 5000 },
  { name: 'long', maxDeliveryCount: 10, lockDurationInMs: 1000 },
  { name: 'closing', maxDeliveryCount: 10 },
  { name: 'classified', maxDeliveryCount: 10 },
  { name: 'ack-batch', maxDeliveryCount: 10 },
  { name: 'acks-batch' },
  { name: 'ack-single', maxDeliveryCount: 10 },
  { name: 'acks-single' },
];
const topics = [{ name: 'events', subscriptions: [{ name: 'erp', maxDeliveryCount: 10 }] }];

function acceptance<TTx>(makeKind: () => InboxKind<TTx>): void {
  let kind: InboxKind<TTx>;
  let broker: TestBroker;
  const running: OutboxConsumer[] = [];

  beforeAll(async () => {
    kind = makeKind();
    broker = await startBroker(queues, topics);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.close({ timeoutInMs: 10_000 })));
  });
  afterAll(async () => {
    await broker?.close();
    await kind?.cleanup();
  });

  /** Ack-queue messages (received and completed) until they carry `count` acknowledgements. */
  async function drainMessagesCarrying(queue: string, count: number): Promise<ServiceBusReceivedMessage[]> {
    const messages: ServiceBusReceivedMessage[] = [];
    let carried = 0;
    const deadline = Date.now() + 30_000;
    while (carried < count && Date.now() < deadline) {
      for (const m of await drain(broker.client, queue, 1, { timeoutInMs: 1000 })) {
        messages.push(m);
        carried += acksIn(m).length;
      }
    }
    return messages;
  }

  /** Writes one effect row per handled message, inside the inbox transaction. */
  function effectHandler(fixture: InboxFixture<TTx>) {
    return (event: OutboxEvent, context: { transaction: TTx }) =>
      fixture.writeEffect(context.transaction, {
        outboxMessageId: event.outboxMessageId,
        sessionKey: event.sessionKey ?? null,
        sequence: event.outboxSequence ?? null,
      });
  }

  async function startConsumer(
    options: Omit<OutboxConsumerOptions<TTx>, 'serviceBus' | 'onSettled'> & { serviceBus?: OutboxConsumerOptions<TTx>['serviceBus'] },
  ): Promise<{ consumer: OutboxConsumer; settlements: MessageSettlement[] }> {
    const settlements: MessageSettlement[] = [];
    const consumer = createOutboxConsumer<TTx>({
      serviceBus: options.serviceBus ?? broker.client,
      transientErrorDelayInMs: 50,
      ...options,
      onSettled: (s) => settlements.push(s),
    });
    running.push(consumer);
    await consumer.start();
    return { consumer, settlements };
  }

  it('applies a message delivered 5 times exactly once, completing and acknowledging every delivery', async () => {
    const fixture = await kind.fixture();
    const sender = broker.client.createSender('dup');
    // A replayed row gets "#r<n>" on its messageId but keeps its outbox-message-id.
    await sender.sendMessages(
      [0, 1, 2, 3, 4].map((n) =>
        outboxMessage({ outboxMessageId: 'order-1', outboxId: rowId('row-1'), eventType: 'SalesOrderWon', payload: { n }, messageId: n ? `order-1#r${n}` : 'order-1' }),
      ),
    );
    await sender.close();
    const { settlements } = await startConsumer({
      entity: 'dup',
      inbox: fixture.open(),
      handler: effectHandler(fixture),
      concurrency: 4,
      acknowledge: { queue: 'acks-dup' },
    });
    await waitFor('5 settlements', () => settlements.length >= 5);

    expect(await fixture.effects()).toHaveLength(1);
    expect(await fixture.inboxCount()).toBe(1);
    expect(settlements.map((s) => s.outcome).sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'processed']);
    const acks = await drainAcks(broker.client, 'acks-dup', 5);
    expect(acks).toHaveLength(5);
    expect(new Set(acks.map((a) => `${a.outboxId}|${a.messageId}|${a.outcome}|${a.processedAt}`)).size).toBe(1);
    expect(acks[0]).toEqual({ outboxId: rowId('row-1'), messageId: 'order-1', outcome: 'processed', processedAt: expect.any(String) });
    expect(await peekAll(broker.client, 'dup')).toHaveLength(0);
  });

  it('abandons on a transient handler error, and the redelivery succeeds with one effect', async () => {
    const fixture = await kind.fixture();
    const attempts = new Map<string, number>();
    const write = effectHandler(fixture);
    const { settlements } = await startConsumer({
      entity: 'transient',
      inbox: fixture.open(),
      acknowledge: { queue: 'acks-transient' },
      handler: async (event, context) => {
        const n = (attempts.get(event.outboxMessageId) ?? 0) + 1;
        attempts.set(event.outboxMessageId, n);
        // The effect is written before the failure: the rollback must remove it.
        await write(event, context);
        if (n <= 2) throw new Error(`ERP temporarily unavailable (attempt ${n})`);
      },
    });
    await broker.client.createSender('transient').sendMessages(outboxMessage({ outboxMessageId: 't-1', outboxId: rowId('row-t1'), eventType: 'SalesOrderWon' }));
    await waitFor('processed', () => settlements.some((s) => s.outcome === 'processed'));

    expect(settlements.map((s) => s.outcome)).toEqual(['abandoned', 'abandoned', 'processed']);
    expect(settlements.map((s) => s.deliveryCount)).toEqual([0, 1, 2]);
    expect(await fixture.effects()).toEqual([{ outboxMessageId: 't-1', sessionKey: null, sequence: null }]);
    const [ack] = await drainAcks(broker.client, 'acks-transient', 1);
    expect(ack).toMatchObject({ messageId: 't-1', outcome: 'processed' });
  });

  it('lets the broker dead-letter a message whose transient error never clears (max delivery count), with no effect', async () => {
    const fixture = await kind.fixture();
    const { settlements } = await startConsumer({
      entity: 'transient-forever',
      inbox: fixture.open(),
      acknowledge: false,
      handler: () => {
        throw new Error('still down');
      },
    });
    await broker.client.createSender('transient-forever').sendMessages(outboxMessage({ outboxMessageId: 'tf-1', eventType: 'SalesOrderWon' }));
    const [dead] = await drain(broker.client, 'transient-forever', 1, { deadLetter: true });
    expect(dead?.applicationProperties?.['outbox-message-id']).toBe('tf-1');
    expect(dead?.deadLetterReason).toBe('MaxDeliveryCountExceeded');
    expect(settlements.filter((s) => s.outcome === 'abandoned')).toHaveLength(3);
    expect(await fixture.effects()).toHaveLength(0);
    expect(await fixture.inboxCount()).toBe(0);
  });

  it('dead-letters a permanent error at once with its reason, acknowledges rejected, and writes nothing', async () => {
    const fixture = await kind.fixture();
    const write = effectHandler(fixture);
    const { settlements } = await startConsumer({
      entity: 'permanent',
      inbox: fixture.open(),
      // Default ack queue (obx_AckQueue default).
      handler: async (event, context) => {
        await write(event, context);
        throw new PermanentError('amount must not be negative', { reason: 'ValidationFailed' });
      },
    });
    await broker.client
      .createSender('permanent')
      .sendMessages(outboxMessage({ outboxMessageId: 'p-1', outboxId: rowId('row-p1'), eventType: 'SalesOrderWon', payload: { amount: -1 } }));
    const [dead] = await drain(broker.client, 'permanent', 1, { deadLetter: true });
    expect(dead?.deadLetterReason).toBe(DeadLetterReasons.ValidationFailed);
    expect(dead?.deadLetterErrorDescription).toBe('amount must not be negative');
    // At once: one delivery, no retries.
    await waitFor('settlement reported', () => settlements.length >= 1);
    expect(settlements.map((s) => [s.outcome, s.deliveryCount])).toEqual([['dead-lettered', 0]]);
    const [ack] = await drainAcks(broker.client, ackQueue, 1);
    expect(ack).toEqual({
      outboxId: rowId('row-p1'),
      messageId: 'p-1',
      outcome: 'rejected',
      reason: 'ValidationFailed: amount must not be negative',
      processedAt: expect.any(String),
    });
    expect(await fixture.effects()).toHaveLength(0);
    expect(await fixture.inboxCount()).toBe(0);
  });

  it('uses classifyError to treat an error the application knows is final as permanent', async () => {
    const fixture = await kind.fixture();
    const { settlements } = await startConsumer({
      entity: 'classified',
      inbox: fixture.open(),
      acknowledge: false,
      classifyError: (error) => (error instanceof TypeError ? 'permanent' : 'transient'),
      handler: () => {
        throw new TypeError('customer.name is not a string');
      },
    });
    await broker.client.createSender('classified').sendMessages(outboxMessage({ outboxMessageId: 'k-1', eventType: 'SalesOrderWon' }));
    const [dead] = await drain(broker.client, 'classified', 1, { deadLetter: true });
    expect(dead?.deadLetterReason).toBe(DeadLetterReasons.PermanentHandlerError);
    expect(dead?.deadLetterErrorDescription).toBe('customer.name is not a string');
    expect(settlements.map((s) => s.outcome)).toEqual(['dead-lettered']);
  });

  it('dead-letters bad input with a specific reason, writes nothing for it, and keeps processing good messages', async () => {
    const fixture = await kind.fixture();
    let handled = 0;
    const write = effectHandler(fixture);
    const { settlements } = await startConsumer({
      entity: 'bad',
      inbox: fixture.open(),
      acknowledge: { queue: 'acks-bad' },
      concurrency: 2,
      handler: {
        SalesOrderWon: {
          schemaVersions: [1],
          handle: async (event, context) => {
            handled += 1;
            await write(event, context);
          },
        },
      },
    });
    const sender = broker.client.createSender('bad');
    await sender.sendMessages([
      outboxMessage({ outboxId: rowId('row-b1'), eventType: 'SalesOrderWon', payload: { schemaVersion: 1 }, messageId: 'no-id' }),
      outboxMessage({ outboxMessageId: 'b-2', outboxId: rowId('row-b2'), eventType: 'SalesOrderWon', rawBody: Buffer.from('{"opportunityId": ') }),
      outboxMessage({ outboxMessageId: 'b-3', outboxId: rowId('row-b3'), eventType: 'InvoicePaid', payload: { schemaVersion: 1 } }),
      outboxMessage({ outboxMessageId: 'b-4', outboxId: rowId('row-b4'), eventType: 'SalesOrderWon', payload: { schemaVersion: 7 } }),
      outboxMessage({ outboxMessageId: 'b-5', outboxId: rowId('row-b5'), eventType: 'SalesOrderWon', payload: { schemaVersion: 1 } }),
    ]);
    await sender.close();
    const dead = await drain(broker.client, 'bad', 4, { deadLetter: true });
    await waitFor('good message processed', () => settlements.some((s) => s.outcome === 'processed'));
    const reasons = Object.fromEntries(dead.map((m) => [String(m.messageId), m.deadLetterReason]));
    expect(reasons).toEqual({
      'no-id': DeadLetterReasons.MissingOutboxMessageId,
      'b-2': DeadLetterReasons.InvalidBody,
      'b-3': DeadLetterReasons.UnknownEventType,
      'b-4': DeadLetterReasons.UnsupportedSchemaVersion,
    });
    const invalid = dead.find((m) => m.messageId === 'b-2');
    expect(invalid?.deadLetterErrorDescription).toMatch(/not valid JSON/);
    expect(dead.find((m) => m.messageId === 'b-3')?.deadLetterErrorDescription).toMatch(/InvoicePaid/);
    expect(handled).toBe(1);
    expect((await fixture.effects()).map((e) => e.outboxMessageId)).toEqual(['b-5']);
    expect(await fixture.inboxCount()).toBe(1);
    // Rejections are acknowledged when the message names its outbox-message-id; the id-less one only dead-letters.
    const acks = await drainAcks(broker.client, 'acks-bad', 4);
    expect(acks.map((a) => `${a.messageId}:${a.outcome}`).sort()).toEqual(['b-2:rejected', 'b-3:rejected', 'b-4:rejected', 'b-5:processed']);
  });

  it.each([
    ['the batch form (acknowledge.batch)', true, 'ack-batch', 'acks-batch'],
    ['one message each (acknowledge.batch: false, for an older publisher)', false, 'ack-single', 'acks-single'],
  ] as const)('acknowledges the messages handled together in %s, each message exactly once', async (_form, batch, queue, acks) => {
    const fixture = await kind.fixture();
    const ids = Array.from({ length: 40 }, (_, i) => `ab-${batch ? 'on' : 'off'}-${String(i).padStart(2, '0')}`);
    const sender = broker.client.createSender(queue);
    await sender.sendMessages(ids.map((id) => outboxMessage({ outboxMessageId: id, outboxId: rowId(id), eventType: 'SalesOrderWon' })));
    await sender.close();
    const { settlements } = await startConsumer({ entity: queue, inbox: fixture.open(), handler: effectHandler(fixture), concurrency: 16, acknowledge: { queue: acks, batch } });
    await waitFor('40 settlements', () => settlements.length >= 40);

    const messages = await drainMessagesCarrying(acks, 40);
    const received = messages.flatMap(acksIn);
    expect(received.map((a) => a.messageId).sort()).toEqual(ids);
    expect(received.every((a, i) => a.outboxId === rowId(a.messageId) && a.outcome === 'processed' && typeof received[i]!.processedAt === 'string')).toBe(true);
    // What the publisher reads: the contract's parser, given each message's subject, finds every ack and no problem.
    const parsed = messages.flatMap((m) => parseAcknowledgements(m.body, m.subject));
    expect(parsed.filter((p) => !('ack' in p))).toEqual([]);
    expect(parsed).toHaveLength(40);
    const batches = messages.filter((m) => m.subject === acknowledgementBatchSubject);
    if (batch) {
      // Messages handled together were acknowledged together: fewer messages than acks, each batch with its own id.
      expect(batches.length).toBeGreaterThan(0);
      expect(messages.length).toBeLessThan(40);
      expect(new Set(batches.map((m) => m.messageId)).size).toBe(batches.length);
      expect(batches.every((m) => m.contentType === 'application/json' && acksIn(m).length > 1)).toBe(true);
    } else {
      expect(batches).toEqual([]);
      expect(messages.map((m) => m.subject)).toEqual(Array(40).fill(acknowledgementSubject));
    }
    // A lone ack is always the spec's single message, whatever the setting.
    for (const single of messages.filter((m) => m.subject !== acknowledgementBatchSubject)) {
      expect(single.messageId).toBe(`${acksIn(single)[0]!.messageId}:ack:processed`);
    }
  });

  it('never applies a message twice when two consumers race for it (lock expired mid-handler, redelivered to the other)', async () => {
    const fixture = await kind.fixture();
    const write = effectHandler(fixture);
    const slowFirst = new Set<string>();
    const handler = async (event: OutboxEvent, context: { transaction: TTx }): Promise<void> => {
      await write(event, context);
      // The first attempt of every other message outlives its 1.5 s lock (renewal off), so the other consumer gets it too.
      if (Number(event.outboxMessageId.slice(2)) % 2 === 0 && !slowFirst.has(event.outboxMessageId)) {
        slowFirst.add(event.outboxMessageId);
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    };
    const common = { entity: 'concurrent', acknowledge: false as const, concurrency: 4, maxAutoLockRenewalDurationInMs: 0, handler };
    const a = await startConsumer({ ...common, inbox: fixture.open() });
    const b = await startConsumer({ ...common, inbox: fixture.open(), serviceBus: { connectionString: broker.connectionString } });
    const ids = Array.from({ length: 12 }, (_, i) => `c-${i}`);
    const sender = broker.client.createSender('concurrent');
    // Each logical message is also sent twice, as a publisher crash between send and mark would.
    await sender.sendMessages([...ids, ...ids].map((id, i) => outboxMessage({ outboxMessageId: id, eventType: 'SalesOrderWon', messageId: `${id}-${i}` })));
    await sender.close();
    await waitFor('queue empty', async () => (await peekAll(broker.client, 'concurrent')).length === 0 && a.consumer.inFlight + b.consumer.inFlight === 0, 90_000, 250);

    const effects = await fixture.effects();
    expect(effects.map((e) => e.outboxMessageId).sort()).toEqual([...ids].sort());
    expect(await fixture.inboxCount()).toBe(ids.length);
    const all = [...a.settlements, ...b.settlements];
    // The race really happened: first attempts lost their locks and the redeliveries found the id in the inbox.
    expect(all.filter((s) => s.outcome === 'settlement-failed').length).toBeGreaterThan(0);
    expect(all.filter((s) => s.outcome === 'duplicate').length).toBeGreaterThanOrEqual(ids.length);
    expect(all.filter((s) => s.outcome === 'dead-lettered' || s.outcome === 'abandoned')).toHaveLength(0);
  });

  it('preserves order within each session, even when one message is retried, without blocking other sessions', async () => {
    const fixture = await kind.fixture();
    const write = effectHandler(fixture);
    let failedOnce = false;
    const { settlements } = await startConsumer({
      entity: 'sessions',
      sessions: { sessionIdleTimeoutInMs: 1000, acceptRetryDelayInMs: 200 },
      concurrency: 3,
      inbox: fixture.open(),
      acknowledge: false,
      handler: async (event, context) => {
        if (event.sessionKey === 'opp-A' && event.outboxSequence === 3 && !failedOnce) {
          failedOnce = true;
          throw new Error('transient failure in the middle of session opp-A');
        }
        await write(event, context);
      },
    });
    const sessions = ['opp-A', 'opp-B', 'opp-C'];
    const sender = broker.client.createSender('sessions');
    const messages = [];
    for (let seq = 1; seq <= 8; seq++) {
      for (const key of sessions) {
        messages.push(outboxMessage({ outboxMessageId: `${key}-${seq}`, eventType: 'SalesOrderWon', sessionKey: key, sequence: seq }));
      }
    }
    await sender.sendMessages(messages);
    await sender.close();
    await waitFor('24 effects', async () => (await fixture.effects()).length >= 24, 90_000, 250);

    const effects = await fixture.effects();
    expect(effects).toHaveLength(24);
    for (const key of sessions) {
      expect(effects.filter((e) => e.sessionKey === key).map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
    expect(failedOnce).toBe(true);
    expect(settlements.filter((s) => s.outcome === 'abandoned')).toHaveLength(1);
  });

  it('keeps the lock of a handler that outlives the lock duration (auto lock renewal): one delivery, one effect', async () => {
    const fixture = await kind.fixture();
    const write = effectHandler(fixture);
    const { settlements } = await startConsumer({
      entity: 'long',
      inbox: fixture.open(),
      acknowledge: false,
      maxAutoLockRenewalDurationInMs: 60_000,
      handler: async (event, context) => {
        await write(event, context);
        await new Promise((resolve) => setTimeout(resolve, 3500));
      },
    });
    await broker.client.createSender('long').sendMessages(outboxMessage({ outboxMessageId: 'l-1', eventType: 'SalesOrderWon' }));
    await waitFor('settled', () => settlements.length >= 1, 60_000);
    expect(settlements.map((s) => [s.outcome, s.deliveryCount])).toEqual([['processed', 0]]);
    expect(await peekAll(broker.client, 'long')).toHaveLength(0);
    expect(await fixture.effects()).toHaveLength(1);
  });

  it('receives from a topic subscription', async () => {
    const fixture = await kind.fixture();
    const { settlements } = await startConsumer({
      entity: { topic: 'events', subscription: 'erp' },
      inbox: fixture.open(),
      acknowledge: false,
      handler: effectHandler(fixture),
    });
    await broker.client.createSender('events').sendMessages(outboxMessage({ outboxMessageId: 'topic-1', eventType: 'SalesOrderWon' }));
    await waitFor('processed', () => settlements.some((s) => s.outcome === 'processed'));
    expect(await fixture.effects()).toHaveLength(1);
  });

  it('close() waits for the handler in flight, so its message is completed, not redelivered', async () => {
    const fixture = await kind.fixture();
    const write = effectHandler(fixture);
    let started = false;
    const { consumer, settlements } = await startConsumer({
      entity: 'closing',
      inbox: fixture.open(),
      acknowledge: false,
      handler: async (event, context) => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await write(event, context);
      },
    });
    await broker.client.createSender('closing').sendMessages(outboxMessage({ outboxMessageId: 'close-1', eventType: 'SalesOrderWon' }));
    await waitFor('handler started', () => started);
    await consumer.close();
    expect(settlements.map((s) => s.outcome)).toEqual(['processed']);
    expect(await fixture.effects()).toHaveLength(1);
    expect(await peekAll(broker.client, 'closing')).toHaveLength(0);
    await expect(consumer.start()).rejects.toMatchObject({ code: 'ConsumerClosed' });
  });
}

describe('createOutboxConsumer with the SQLite inbox', () => {
  acceptance(sqliteKind);
});

describePostgres('createOutboxConsumer with the PostgreSQL inbox', () => {
  acceptance(postgresKind);
});
