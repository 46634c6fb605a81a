// Hostile consumer messages (issue 17): each bad message gets a specific, permanent outcome (dead-lettered with its
// reason, or handled without an acknowledgement), never a transient retry loop, and the good message sent right after
// it is still processed and acknowledged. The Service Bus emulator with the official SDK; the inbox on SQLite and on
// real PostgreSQL (a NUL in an id is refused by PostgreSQL's text type: it must not become an endless InboxFailed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { ServiceBusMessage, ServiceBusReceivedMessage } from '@azure/service-bus';
import { MessageProperties, acknowledgementBatchSubject, normaliseGuid } from '@dataverse-outbox/contract';

import { createOutboxConsumer, createSqliteInbox, DeadLetterReasons, type MessageSettlement, type OutboxConsumer, type OutboxEvent } from '../../src/index';
import { postgresKind, sqliteKind, type InboxFixture, type InboxKind } from '../support/inboxKinds';
import { describePostgres } from '../support/postgres';
import { acksIn, drain, drainAcks, outboxMessage, rowId, startBroker, waitFor, type TestBroker } from '../support/serviceBus';

jest.setTimeout(60_000);

let nested = '"leaf"';
for (let i = 0; i < 10_000; i++) nested = `{"a":${nested}}`;

type Expectation =
  | { outcome: 'dead-lettered'; reason: string; description: string | RegExp; rejectedAck?: true }
  | { outcome: 'processed'; ack: 'none' | string; check?: (event: OutboxEvent) => void };

type Case = [name: string, make: (n: number) => ServiceBusMessage, expected: Expectation];

const props = (n: number, extra: Record<string, unknown>): ServiceBusMessage['applicationProperties'] =>
  ({ [MessageProperties.outboxMessageId]: `h-${n}`, [MessageProperties.outboxId]: rowId(`h-${n}`), ...extra }) as ServiceBusMessage['applicationProperties'];
const base = (n: number, extra: Partial<ServiceBusMessage> = {}): ServiceBusMessage => ({ messageId: `h-${n}`, subject: 'SalesOrderWon', contentType: 'application/json', body: { n }, applicationProperties: props(n, {}), ...extra });

const cases: Case[] = [
  ['a NUL in outbox-message-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxMessageId]: `h-${n}\u0000x` }) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidOutboxMessageId, description: /"outbox-message-id" contains a control character \(U\+0000 at position \d+\)/ }],
  ['a line break in outbox-message-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxMessageId]: `h-${n}\nx` }) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidOutboxMessageId, description: /control character \(U\+000A/ }],
  ['a DEL in outbox-message-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxMessageId]: `h-${n}\u007f` }) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidOutboxMessageId, description: /control character \(U\+007F/ }],
  ['a 5,000-character outbox-message-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxMessageId]: 'x'.repeat(5000) }) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidOutboxMessageId, description: /is 5000 characters long \(at most 1024\)/ }],
  ['a boolean outbox-message-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxMessageId]: true }) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidOutboxMessageId, description: /must be a string, got boolean/ }],
  ['a null outbox-message-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxMessageId]: null }) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.MissingOutboxMessageId, description: /missing or empty/ }],
  ['no outbox-message-id', (n) => base(n, { applicationProperties: { [MessageProperties.outboxId]: rowId(`h-${n}`) } }), { outcome: 'dead-lettered', reason: DeadLetterReasons.MissingOutboxMessageId, description: /missing or empty/ }],
  ['a NUL in the subject', (n) => base(n, { subject: 'SalesOrderWon\u0000' }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidMessageProperty, description: 'subject contains a control character (U+0000 at position 13)', rejectedAck: true }],
  ['a NUL in the message id', (n) => base(n, { messageId: `h-${n}\u0000` }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidMessageProperty, description: /^messageId contains a control character \(U\+0000/, rejectedAck: true }],
  ['bytes that are not UTF-8 in a JSON body', (n) => base(n, { body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidBody, description: /not valid UTF-8/, rejectedAck: true }],
  ['no outbox-id', (n) => base(n, { applicationProperties: { [MessageProperties.outboxMessageId]: `h-${n}` } }), { outcome: 'processed', ack: 'none' }],
  ['a word as outbox-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxId]: 'row-17' }) }), { outcome: 'processed', ack: 'none' }],
  ['an OData filter injection as outbox-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxId]: `${rowId('x')} or obx_status eq 612000000` }) }), { outcome: 'processed', ack: 'none' }],
  ['a NUL inside the outbox-id GUID', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxId]: `${rowId(`h-${n}`).slice(0, 8)}\u0000${rowId(`h-${n}`).slice(9)}` }) }), { outcome: 'processed', ack: 'none' }],
  ['a number as outbox-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxId]: 17 }) }), { outcome: 'processed', ack: 'none' }],
  ['an outbox-id in braces and capitals', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxId]: `{${rowId(`h-${n}`).toUpperCase()}}` }) }), { outcome: 'processed', ack: 'normalised' }],
  ['a 10,000-deep JSON body', (n) => base(n, { body: Buffer.from(nested) }), { outcome: 'processed', ack: 'normalised', check: (e) => expect(typeof e.payload).toBe('object') }],
  ['a 200 KB JSON body', (n) => base(n, { body: Buffer.from(JSON.stringify({ blob: 'b'.repeat(200_000) })) }), { outcome: 'processed', ack: 'normalised', check: (e) => expect((e.payload as { blob: string }).blob).toHaveLength(200_000) }],
  ['an empty JSON body', (n) => base(n, { body: Buffer.alloc(0) }), { outcome: 'dead-lettered', reason: DeadLetterReasons.InvalidBody, description: 'body is empty', rejectedAck: true }],
  [
    'a JSON body with a __proto__ key',
    (n) => base(n, { body: Buffer.from('{"__proto__":{"polluted":true},"n":1}') }),
    { outcome: 'processed', ack: 'normalised', check: (e) => expect([(e.payload as { n: number }).n, ({} as { polluted?: boolean }).polluted]).toEqual([1, undefined]) },
  ],
  ['a 10,000-character outbox-id', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxId]: 'f'.repeat(10_000) }) }), { outcome: 'processed', ack: 'none' }],
  ['an outbox-sequence that is not a number', (n) => base(n, { applicationProperties: props(n, { [MessageProperties.outboxSequence]: 'third' }) }), { outcome: 'processed', ack: 'normalised', check: (e) => expect(e.outboxSequence).toBeUndefined() }],
];

function hostileSuite<TTx>(makeKind: () => InboxKind<TTx>, queue: string): void {
  let kind: InboxKind<TTx>;
  let broker: TestBroker;
  let fixture: InboxFixture<TTx>;
  let consumer: OutboxConsumer;
  const settlements: MessageSettlement[] = [];
  const events = new Map<string, OutboxEvent>();
  const warnings: string[] = [];
  const ackQueue = `${queue}-acks`;
  let n = 0;

  beforeAll(async () => {
    kind = makeKind();
    broker = await startBroker([{ name: queue, maxDeliveryCount: 10 }, { name: ackQueue }]);
    fixture = await kind.fixture();
    consumer = createOutboxConsumer<TTx>({
      serviceBus: broker.client,
      entity: queue,
      inbox: fixture.open(),
      acknowledge: { queue: ackQueue },
      acknowledgementSweep: false,
      transientErrorDelayInMs: 50,
      handler: async (event, context) => {
        events.set(event.outboxMessageId, event);
        await fixture.writeEffect(context.transaction, { outboxMessageId: event.outboxMessageId, sessionKey: null, sequence: null });
      },
      logger: { info: () => undefined, error: () => undefined, warn: (m, d) => void warnings.push(`${m} ${JSON.stringify(d)}`) },
      onSettled: (s) => settlements.push(s),
    });
    await consumer.start();
  });
  afterAll(async () => {
    await consumer?.close({ timeoutInMs: 5000 });
    await broker?.close();
    await kind?.cleanup();
  });

  const settlementOf = (messageId: string) => waitFor(`settlement of ${messageId}`, () => settlements.find((s) => s.messageId === messageId), 20_000, 20);

  it.each(cases)('hostile: consumer message with %s', async (_name, make, expected) => {
    const bad = make(++n);
    const good = outboxMessage({ outboxMessageId: `g-${n}`, outboxId: rowId(`g-${n}`), eventType: 'SalesOrderWon', payload: { n } });
    const sender = broker.client.createSender(queue);
    await sender.sendMessages([bad, good]);
    await sender.close();
    const badMessageId = String(bad.messageId);
    const [s, g] = await Promise.all([settlementOf(badMessageId), settlementOf(`g-${n}`)]);
    // The good one right behind it: processed, effect written, acknowledged with its row id.
    expect([g.outcome, g.acknowledgement?.outboxId]).toEqual(['processed', rowId(`g-${n}`)]);
    // One delivery each: nothing was treated as transient.
    expect([s.deliveryCount, g.deliveryCount]).toEqual([0, 0]);
    if (expected.outcome === 'dead-lettered') {
      expect([s.outcome, s.reason]).toEqual(['dead-lettered', expected.reason]);
      if (typeof expected.description === 'string') expect(s.description).toBe(expected.description);
      else expect(s.description).toMatch(expected.description);
      // A usable outbox-message-id and row id: acknowledged `rejected` (the row becomes DeadLettered); otherwise no ack.
      if (expected.rejectedAck) expect([s.acknowledgement?.outcome, s.acknowledgement?.outboxId]).toEqual(['rejected', rowId(`h-${n}`)]);
      else expect(s.acknowledgement).toBeUndefined();
    } else {
      expect(s.outcome).toBe('processed');
      if (expected.ack === 'none') {
        expect(s.acknowledgement).toBeUndefined();
        expect(warnings.some((w) => w.includes('no acknowledgement') && w.includes(`h-${n}`))).toBe(true);
      } else {
        expect(s.acknowledgement?.outboxId).toBe(rowId(`h-${n}`));
      }
      expected.check?.(events.get(`h-${n}`)!);
    }
  });

  it('hostile: consumer message without outbox-id delivered twice is deduplicated on outbox-message-id, never acknowledged', async () => {
    const id = `nodup-${++n}`;
    const message = (suffix: string): ServiceBusMessage => ({ messageId: `${id}${suffix}`, subject: 'SalesOrderWon', body: {}, applicationProperties: { [MessageProperties.outboxMessageId]: id } });
    const sender = broker.client.createSender(queue);
    await sender.sendMessages(message(''));
    await settlementOf(id);
    await sender.sendMessages(message('#r1'));
    await sender.close();
    const again = await settlementOf(`${id}#r1`);
    expect(again.outcome).toBe('duplicate');
    expect(again.acknowledgement).toBeUndefined();
    expect((await fixture.effects()).filter((e) => e.outboxMessageId === id)).toHaveLength(1);
  });

  it('read with the SDK: every dead letter carries its reason, and no acknowledgement names a non-GUID row', async () => {
    const dead: ServiceBusReceivedMessage[] = await drain(broker.client, queue, cases.filter((c) => c[2].outcome === 'dead-lettered').length, { deadLetter: true, timeoutInMs: 10_000 });
    expect(dead.map((m) => m.deadLetterReason).sort()).toEqual(cases.flatMap((c) => (c[2].outcome === 'dead-lettered' ? [c[2].reason] : [])).sort());
    const acks = await drainAcks(broker.client, ackQueue, 1000, { timeoutInMs: 3000 });
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.filter((a) => normaliseGuid(a.outboxId) !== a.outboxId)).toEqual([]);
  });
}

describe('hostile consumer messages with the SQLite inbox', () => {
  hostileSuite(sqliteKind, 'hostile-sqlite');
});

describePostgres('hostile consumer messages with the PostgreSQL inbox', () => {
  hostileSuite(postgresKind, 'hostile-pg');
});

describe('the acknowledgement sweep', () => {
  it('hostile: an inbox entry whose outbox id is not a GUID (written by an older version) is never re-sent, and not swept again', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sweep-hostile-'));
    const broker = await startBroker([{ name: 'sweep-q' }, { name: 'sweep-acks' }]);
    const inbox = createSqliteInbox({ filename: path.join(dir, 'inbox.sqlite') });
    await inbox.migrate();
    await inbox.processOnce({ outboxMessageId: 'legacy', outboxId: 'row-legacy' }, () => undefined);
    await inbox.processOnce({ outboxMessageId: 'good', outboxId: rowId('good') }, () => undefined);
    const consumer = createOutboxConsumer({
      serviceBus: broker.client,
      entity: 'sweep-q',
      inbox,
      acknowledge: { queue: 'sweep-acks' },
      acknowledgementSweep: { intervalInMs: 200, graceInMs: 1 },
      retention: false,
      handler: () => undefined,
    });
    try {
      await consumer.start();
      await waitFor('sweep done', async () => (await inbox.listUnacknowledged({ processedBefore: new Date(Date.now() + 60_000), limit: 10 })).length === 0, 10_000, 50);
      const acks = await drainAcks(broker.client, 'sweep-acks', 2, { timeoutInMs: 2000 });
      expect(acks.map((a) => [a.messageId, a.outboxId])).toEqual([['good', rowId('good')]]);
    } finally {
      await consumer.close({ timeoutInMs: 5000 });
      await inbox.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('acknowledges a backlog of unacknowledged entries (a restart after a crash) in a few batch messages, each entry once, and records them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sweep-backlog-'));
    const broker = await startBroker([{ name: 'backlog-q' }, { name: 'backlog-acks' }]);
    const inbox = createSqliteInbox({ filename: path.join(dir, 'inbox.sqlite') });
    await inbox.migrate();
    const ids = Array.from({ length: 120 }, (_, i) => `backlog-${i}`);
    for (const id of ids) await inbox.processOnce({ outboxMessageId: id, outboxId: rowId(id) }, () => undefined);
    const consumer = createOutboxConsumer({
      serviceBus: broker.client,
      entity: 'backlog-q',
      inbox,
      acknowledge: { queue: 'backlog-acks', batch: true },
      acknowledgementSweep: { intervalInMs: 200, graceInMs: 1 },
      retention: false,
      handler: () => undefined,
    });
    try {
      await consumer.start();
      await waitFor('sweep done', async () => (await inbox.listUnacknowledged({ processedBefore: new Date(Date.now() + 60_000), limit: 200 })).length === 0, 10_000, 50);
      const messages = await drain(broker.client, 'backlog-acks', 120, { timeoutInMs: 2000 });
      const acks = messages.flatMap(acksIn);
      expect(acks.map((a) => a.messageId).sort()).toEqual([...ids].sort());
      expect(acks.every((a) => a.outboxId === rowId(a.messageId) && a.outcome === 'processed')).toBe(true);
      // Sent one at a time, the backlog was 120 messages; handed over together, the sender's batches of up to 50.
      expect(messages.length).toBeLessThanOrEqual(5);
      expect(messages.every((m) => m.subject === acknowledgementBatchSubject)).toBe(true);
    } finally {
      await consumer.close({ timeoutInMs: 5000 });
      await inbox.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
