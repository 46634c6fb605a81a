// Batched inbox transactions (one commit per batch, a savepoint per message), on real PostgreSQL and on SQLite: a failing
// handler rolls back only its own message, and a crash between the batch's commit and its settlements makes every
// redelivery a duplicate (no second effect, one acknowledgement each).
import {
  createOutboxConsumer,
  DeadLetterReasons,
  PermanentError,
  type InboxBatchItem,
  type InboxStore,
  type MessageSettlement,
  type OutboxConsumer,
  type OutboxConsumerOptions,
  type OutboxEvent,
} from '../src/index';
import { createOutboxConsumerWithFaultInjection, type ConsumerFaultInjection } from '../src/testing';
import { postgresKind, sqliteKind, type InboxFixture, type InboxKind } from './support/inboxKinds';
import { describePostgres } from './support/postgres';
import { drain, drainAcks, outboxMessage, peekAll, rowId, startBroker, waitFor, type TestBroker } from './support/serviceBus';

jest.setTimeout(120_000);

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`);

/** The store, recording the ids of every batch it is given (the consumer's view of batching, observed from outside). */
function recordingBatches<TTx>(store: InboxStore<TTx>): { store: InboxStore<TTx>; batches: string[][] } {
  const batches: string[][] = [];
  const processBatch = store.processBatch!.bind(store);
  return {
    batches,
    store: {
      ...store,
      processBatch: <T>(items: readonly InboxBatchItem<TTx, T>[]) => {
        batches.push(items.map((i) => i.record.outboxMessageId));
        return processBatch(items);
      },
    },
  };
}

function batching<TTx>(makeKind: () => InboxKind<TTx>): void {
  let kind: InboxKind<TTx>;
  let broker: TestBroker;
  const running: OutboxConsumer[] = [];

  beforeAll(async () => {
    kind = makeKind();
    broker = await startBroker([
      { name: 'bad-handler', maxDeliveryCount: 10 },
      { name: 'bad-handler-acks' },
      // Short locks: the "crashed" consumer's messages come back quickly.
      { name: 'crash', maxDeliveryCount: 10, lockDurationInMs: 1500 },
      { name: 'crash-acks' },
    ]);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.close({ timeoutInMs: 10_000 })));
  });
  afterAll(async () => {
    await broker?.close();
    await kind?.cleanup();
  });

  function writeEffect(fixture: InboxFixture<TTx>, event: OutboxEvent, transaction: TTx): Promise<void> | void {
    return fixture.writeEffect(transaction, { outboxMessageId: event.outboxMessageId, sessionKey: null, sequence: null });
  }

  function consumerOptions(overrides: Partial<OutboxConsumerOptions<TTx>> & Pick<OutboxConsumerOptions<TTx>, 'entity' | 'inbox' | 'handler'>, settlements: MessageSettlement[]): OutboxConsumerOptions<TTx> {
    return {
      serviceBus: broker.client,
      retention: false,
      acknowledgementSweep: false,
      transientErrorDelayInMs: 50,
      onSettled: (s) => settlements.push(s),
      ...overrides,
    };
  }

  it('processBatch: a failing work rolls back only its own writes and record; duplicates are reported, never run', async () => {
    const fixture = await kind.fixture();
    const { store, statements } = fixture.openRecording();
    await store.processOnce({ outboxMessageId: 's-02' }, (tx) => fixture.writeEffect(tx, { outboxMessageId: 's-02', sessionKey: null, sequence: null }));
    const ran: string[] = [];
    const items = ids('s', 5).map((id) => ({
      record: { outboxMessageId: id },
      work: async (tx: TTx) => {
        ran.push(id);
        // The failing one writes first: its savepoint must take the write away again.
        await fixture.writeEffect(tx, { outboxMessageId: id, sessionKey: null, sequence: null });
        if (id === 's-03') throw new Error('handler failed');
        return id.toUpperCase();
      },
    }));
    const results = await store.processBatch!(items);

    expect(results.map((r) => r.status)).toEqual(['processed', 'duplicate', 'failed', 'processed', 'processed']);
    expect(results[2]).toEqual({ status: 'failed', error: new Error('handler failed') });
    expect(results[0]).toMatchObject({ status: 'processed', result: 'S-01', entry: { outboxMessageId: 's-01' } });
    // First try without savepoints: s-01 ran, s-03 threw, all of it was rolled back. Then the others again, a savepoint
    // each: s-01 runs a second time (its first effect is gone), the failing one never again, the duplicate never.
    expect(ran).toEqual(['s-01', 's-03', 's-01', 's-04', 's-05']);
    expect(statements).toEqual(['BEGIN', 'COMMIT', 'BEGIN', 'ROLLBACK', 'BEGIN', 'SAVEPOINT', 'SAVEPOINT', 'SAVEPOINT', 'COMMIT']);
    expect((await fixture.effects()).map((e) => e.outboxMessageId).sort()).toEqual(['s-01', 's-02', 's-04', 's-05']);
    expect(await store.get('s-03')).toBeUndefined();
    expect(await fixture.inboxCount()).toBe(4);
    // The failed one is new again: a later batch runs it.
    statements.length = 0;
    const retry = await store.processBatch!([{ record: { outboxMessageId: 's-03' }, work: () => 'ok' }, { record: { outboxMessageId: 's-04' }, work: () => 'no' }]);
    expect(retry.map((r) => r.status)).toEqual(['processed', 'duplicate']);
    // Nothing failed: one transaction, no savepoint.
    expect(statements).toEqual(['BEGIN', 'COMMIT']);
    await expect(store.processBatch!([items[0]!, items[0]!])).rejects.toThrow(RangeError);
  });

  it('processBatch: a batch where nothing fails is one transaction without savepoints; after a failure the others run again under savepoints, the failing one never', async () => {
    const fixture = await kind.fixture();
    const { store, statements } = fixture.openRecording();
    const calls = new Map<string, number>();
    const item = (id: string, fail = false): InboxBatchItem<TTx, string> => ({
      record: { outboxMessageId: id },
      work: async (tx: TTx) => {
        calls.set(id, (calls.get(id) ?? 0) + 1);
        await fixture.writeEffect(tx, { outboxMessageId: id, sessionKey: null, sequence: null });
        if (fail) throw new Error(`${id} failed`);
        return id;
      },
    });

    const clean = await store.processBatch!(ids('k', 20).map((id) => item(id)));
    expect(clean.every((r) => r.status === 'processed')).toBe(true);
    expect(statements).toEqual(['BEGIN', 'COMMIT']);
    expect([...calls.values()].every((n) => n === 1)).toBe(true);

    // Two failing works: the first one ends the optimistic try; the second fails again under its savepoint.
    statements.length = 0;
    calls.clear();
    const mixed = await store.processBatch!([item('m-01'), item('m-02', true), item('m-03'), item('m-04', true), item('m-05')]);
    expect(mixed.map((r) => r.status)).toEqual(['processed', 'failed', 'processed', 'failed', 'processed']);
    expect(mixed[3]).toEqual({ status: 'failed', error: new Error('m-04 failed') });
    expect(statements).toEqual(['BEGIN', 'ROLLBACK', 'BEGIN', 'SAVEPOINT', 'SAVEPOINT', 'SAVEPOINT', 'ROLLBACK TO SAVEPOINT', 'SAVEPOINT', 'COMMIT']);
    expect(Object.fromEntries(calls)).toEqual({ 'm-01': 2, 'm-02': 1, 'm-03': 1, 'm-04': 1, 'm-05': 1 });
    const committed = (await fixture.effects()).map((e) => e.outboxMessageId).sort();
    expect(committed).toEqual([...ids('k', 20), 'm-01', 'm-03', 'm-05']);
    expect(await fixture.inboxCount()).toBe(23);

    // A failing work alone (the rest duplicates): nothing to run again, no second transaction.
    statements.length = 0;
    const alone = await store.processBatch!([item('k-01'), item('m-02', true)]);
    expect(alone.map((r) => r.status)).toEqual(['duplicate', 'failed']);
    expect(statements).toEqual(['BEGIN', 'ROLLBACK']);
    expect(await fixture.inboxCount()).toBe(23);
  });

  it('one bad handler in a batch of 20: the other 19 are committed, completed and acknowledged exactly once', async () => {
    const fixture = await kind.fixture();
    const recorded = recordingBatches(fixture.open());
    const settlements: MessageSettlement[] = [];
    const batch = ids('b', 20);
    const consumer: OutboxConsumer = createOutboxConsumer(
      consumerOptions(
        {
          entity: 'bad-handler',
          inbox: recorded.store,
          acknowledge: { queue: 'bad-handler-acks' },
          concurrency: 21,
          batching: { maxMessages: 20, maxTransactions: 1 },
          handler: async (event, { transaction }) => {
            // The first message holds the one transaction until the 20 others are all waiting: they form one batch.
            if (event.outboxMessageId === 'plug') await waitFor('20 messages waiting', () => consumer.inFlight >= 21, 30_000, 10);
            await writeEffect(fixture, event, transaction);
            if (event.outboxMessageId === 'b-07') throw new PermanentError('customer unknown', { reason: 'ValidationFailed' });
          },
        },
        settlements,
      ),
    );
    running.push(consumer);
    await consumer.start();
    const sender = broker.client.createSender('bad-handler');
    await sender.sendMessages(outboxMessage({ outboxMessageId: 'plug', outboxId: rowId('plug'), eventType: 'SalesOrderWon' }));
    await waitFor('the plug in flight', () => consumer.inFlight >= 1, 30_000, 10);
    await sender.sendMessages(batch.map((id) => outboxMessage({ outboxMessageId: id, outboxId: rowId(id), eventType: 'SalesOrderWon' })));
    await sender.close();
    await waitFor('21 settlements', () => settlements.length >= 21);

    expect(recorded.batches.map((b) => [...b].sort())).toContainEqual(batch);
    const good = ['plug', ...batch.filter((id) => id !== 'b-07')].sort();
    const byId = new Map(settlements.map((s) => [s.outboxMessageId, s.outcome]));
    expect(settlements).toHaveLength(21);
    expect([...byId.keys()].sort()).toEqual(['plug', ...batch].sort());
    expect(good.every((id) => byId.get(id) === 'processed')).toBe(true);
    expect(byId.get('b-07')).toBe('dead-lettered');
    expect((await fixture.effects()).map((e) => e.outboxMessageId).sort()).toEqual(good);
    expect(await fixture.inboxCount()).toBe(20);
    const [dead] = await drain(broker.client, 'bad-handler', 1, { deadLetter: true });
    expect(dead?.applicationProperties?.['outbox-message-id']).toBe('b-07');
    expect(dead?.deadLetterReason).toBe(DeadLetterReasons.ValidationFailed);
    expect(await peekAll(broker.client, 'bad-handler')).toHaveLength(0);
    const acks = await drainAcks(broker.client, 'bad-handler-acks', 25, { timeoutInMs: 3000 });
    expect(acks).toHaveLength(21);
    expect(acks.filter((a) => a.outcome === 'processed').map((a) => a.messageId).sort()).toEqual(good);
    expect(acks.filter((a) => a.outcome === 'rejected').map((a) => a.messageId)).toEqual(['b-07']);
  });

  it('a crash between the batch commit and its settlements: the redeliveries are duplicates, one effect and one acknowledgement each', async () => {
    const fixture = await kind.fixture();
    const batch = ids('c', 20);
    const committed = new Set<string>();
    let resume!: () => void;
    const crashed = new Promise<void>((resolve) => (resume = resolve));
    // The first consumer stops for good after its commits (like a killed process), its locks not renewed.
    const faults: ConsumerFaultInjection = {
      afterCommit: async (event) => {
        committed.add(event.outboxMessageId);
        await crashed;
      },
    };
    const firstSettlements: MessageSettlement[] = [];
    const recorded = recordingBatches(fixture.open());
    const first = createOutboxConsumerWithFaultInjection(
      consumerOptions(
        {
          entity: 'crash',
          inbox: recorded.store,
          acknowledge: { queue: 'crash-acks' },
          concurrency: 20,
          maxAutoLockRenewalDurationInMs: 0,
          handler: (event, { transaction }) => writeEffect(fixture, event, transaction),
        },
        firstSettlements,
      ),
      faults,
    );
    running.push(first);
    await first.start();
    await broker.client.createSender('crash').sendMessages(batch.map((id) => outboxMessage({ outboxMessageId: id, outboxId: rowId(id), eventType: 'SalesOrderWon' })));
    await waitFor('20 commits', () => committed.size >= 20);
    expect(recorded.batches.some((b) => b.length > 1)).toBe(true);
    expect(await fixture.inboxCount()).toBe(20);

    // Another instance takes the messages over once their locks expire.
    const secondSettlements: MessageSettlement[] = [];
    const second = createOutboxConsumer(
      consumerOptions(
        {
          entity: 'crash',
          inbox: fixture.open(),
          acknowledge: { queue: 'crash-acks' },
          concurrency: 20,
          handler: (event, { transaction }) => writeEffect(fixture, event, transaction),
        },
        secondSettlements,
      ),
    );
    running.push(second);
    await second.start();
    await waitFor('20 redeliveries settled', () => secondSettlements.length >= 20);
    expect(secondSettlements.map((s) => s.outcome)).toEqual(batch.map(() => 'duplicate'));

    // The "crashed" one wakes up late: its locks are gone, so it can neither complete nor acknowledge.
    resume();
    await waitFor('the late settlements', () => firstSettlements.length >= 20);
    expect(firstSettlements.every((s) => s.outcome === 'settlement-failed')).toBe(true);

    expect((await fixture.effects()).map((e) => e.outboxMessageId).sort()).toEqual(batch);
    expect(await fixture.inboxCount()).toBe(20);
    expect(await peekAll(broker.client, 'crash')).toHaveLength(0);
    const acks = await drainAcks(broker.client, 'crash-acks', 25, { timeoutInMs: 3000 });
    expect(acks.map((a) => a.messageId).sort()).toEqual(batch);
    expect(acks.every((a) => a.outcome === 'processed')).toBe(true);
  });
}

describe('batched inbox transactions: SQLite', () => batching(sqliteKind));
describePostgres('batched inbox transactions: PostgreSQL', () => batching(postgresKind));
