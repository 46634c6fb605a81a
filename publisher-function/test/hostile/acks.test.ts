// Hostile acknowledgements and dead letters (issue 17): each bad item gets its specific reason, and the good items of the
// same batch are still applied. One pair of emulators for the file; the real store, the official SDK.
import type { ServiceBusMessage } from '@azure/service-bus';
import { MessageProperties, OutboxStatus, acknowledgementSubject } from '@dataverse-outbox/contract';
import { InvalidIdentifierError } from '@dataverse-outbox/contract';
import { idFilter } from '../../src/dataverse/outboxStore';
import { processAckMessages, runDeadLetterMonitor, type AckDisposition } from '../../src';
import { drainQueue, enqueueMany, eventually, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));

interface Row {
  id: string;
  messageId: string;
}

/** Published rows handed out one by one: every case gets rows no other case touched. */
let pool: Row[] = [];
const take = (): Row => {
  const r = pool.shift();
  if (!r) throw new Error('row pool exhausted');
  return r;
};

beforeAll(async () => {
  await enqueueMany(h, 120, (i) => ({ target: 'invoices', payload: { i }, messageId: `hostile-${i}` }), 60);
  const publisher = h.newPublisher();
  await eventually(async () => (await publisher.runOnce()).read === 0 && true, 'all published', 60_000, 0);
  await publisher.close();
  pool = (await h.store.query({ statuses: [OutboxStatus.Published] })).filter((r) => r.messageId.startsWith('hostile-')).map((r) => ({ id: r.id, messageId: r.messageId }));
  expect(pool).toHaveLength(120);
  await drainQueue(h, 'invoices', 120);
}, 120_000);

const ack = (r: Row, extra: Record<string, unknown> = {}) => ({ outboxId: r.id, messageId: r.messageId, outcome: 'processed', processedAt: new Date().toISOString(), ...extra });
const statuses = async (rows: Row[]) => (await h.store.readByIds(rows.map((r) => r.id))).sort((a, b) => rows.findIndex((r) => r.id === a.id) - rows.findIndex((r) => r.id === b.id)).map((r) => r.status);
const GUID_UNKNOWN = '7f3c2a10-0b1e-4c3d-9e8f-0123456789ab';
let nested = '"x"';
for (let i = 0; i < 10_000; i++) nested = `{"a":${nested}}`;

type BadAck = [name: string, body: unknown, reason: string, description: string | RegExp];

const badAcks: BadAck[] = [
  ['a body that is not JSON', 'definitely not json', 'AckNotJson', 'ack body is not JSON'],
  ['an empty string body', '', 'AckNotJson', 'ack body is not JSON'],
  ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0xc3]), 'AckNotJson', 'ack body is not UTF-8 text'],
  ['UTF-8 bytes that are not JSON', Buffer.from('{outboxId: nope', 'utf8'), 'AckNotJson', 'ack body is not JSON'],
  ['a truncated JSON object', '{"outboxId":"7f3c2a10-0b1e-4c3d-9e8f-0123456789ab","outco', 'AckNotJson', 'ack body is not JSON'],
  ['a null body', null, 'AckNotAnObject', 'ack body is not a JSON object (got null)'],
  ['a number body', 42, 'AckNotAnObject', 'ack body is not a JSON object (got number)'],
  ['a boolean body', true, 'AckNotAnObject', 'ack body is not a JSON object (got boolean)'],
  ['an array body', [ack({ id: GUID_UNKNOWN, messageId: 'm' })], 'AckNotAnObject', 'ack body is not a JSON object (got an array)'],
  ['a JSON string body', '"processed"', 'AckNotAnObject', 'ack body is not a JSON object (got "processed")'],
  ['an empty object', {}, 'MissingOutboxId', 'ack has no outboxId'],
  ['an empty outboxId', { outboxId: '', outcome: 'processed' }, 'MissingOutboxId', 'ack has no outboxId'],
  ['a null outboxId', { outboxId: null, outcome: 'processed' }, 'MissingOutboxId', 'ack has no outboxId'],
  ['outboxId only under __proto__', '{"__proto__":{"outboxId":"7f3c2a10-0b1e-4c3d-9e8f-0123456789ab"},"outcome":"processed"}', 'MissingOutboxId', 'ack has no outboxId'],
  ['a 10,000-deep body without outboxId', nested, 'MissingOutboxId', 'ack has no outboxId'],
  ['a word as outboxId', { outboxId: 'not-a-guid', outcome: 'processed' }, 'InvalidOutboxId', 'ack outboxId must be a GUID, got "not-a-guid"'],
  ['an OData filter injection as outboxId', { outboxId: `${GUID_UNKNOWN} or obx_status eq 612000000`, outcome: 'processed' }, 'InvalidOutboxId', /^ack outboxId must be a GUID, got "7f3c2a10-.* or obx_status eq 612000…" \(63 characters\)$/],
  ['a quoted injection as outboxId', { outboxId: "x' or '1'='1", outcome: 'processed' }, 'InvalidOutboxId', `ack outboxId must be a GUID, got "x' or '1'='1"`],
  ['a path traversal as outboxId', { outboxId: '../../$batch', outcome: 'processed' }, 'InvalidOutboxId', 'ack outboxId must be a GUID, got "../../$batch"'],
  ['a number as outboxId', { outboxId: 12345, outcome: 'processed' }, 'InvalidOutboxId', 'ack outboxId must be a GUID, got number'],
  ['an object as outboxId', { outboxId: { $ne: null }, outcome: 'processed' }, 'InvalidOutboxId', 'ack outboxId must be a GUID, got object'],
  ['an array of a GUID as outboxId', { outboxId: [GUID_UNKNOWN], outcome: 'processed' }, 'InvalidOutboxId', 'ack outboxId must be a GUID, got object'],
  ['a GUID with a NUL inside', { outboxId: `${GUID_UNKNOWN.slice(0, 8)}\u0000${GUID_UNKNOWN.slice(9)}`, outcome: 'processed' }, 'InvalidOutboxId', /^ack outboxId must be a GUID, got "7f3c2a10\\u00000b1e/],
  ['a 100,000-character outboxId', { outboxId: 'a'.repeat(100_000), outcome: 'processed' }, 'InvalidOutboxId', /^ack outboxId must be a GUID, got "a{60}…" \(100000 characters\)$/],
  ['an unknown outcome', { outboxId: GUID_UNKNOWN, outcome: 'done' }, 'InvalidOutcome', 'ack outcome must be "processed" or "rejected", got "done"'],
  ['no outcome', { outboxId: GUID_UNKNOWN }, 'InvalidOutcome', 'ack outcome must be "processed" or "rejected", got undefined'],
  ['an outcome in capitals', { outboxId: GUID_UNKNOWN, outcome: 'PROCESSED' }, 'InvalidOutcome', 'ack outcome must be "processed" or "rejected", got "PROCESSED"'],
  ['a GUID no row has', { outboxId: GUID_UNKNOWN, messageId: 'gone', outcome: 'processed' }, 'UnknownOutboxRow', `no outbox row ${GUID_UNKNOWN} (never existed, or already cleaned up)`],
];

describe('hostile acknowledgements: dead-lettered alone with a specific reason, the rest of the batch applied', () => {
  it.each(badAcks)('hostile: ack with %s', async (_name, body, reason, description) => {
    const [before, after] = [take(), take()];
    // With the subject the worker's listener passes: the single form (so an array is no ack, not a batch).
    const dispositions = await processAckMessages(h.store, [JSON.stringify(ack(before)), body, ack(after)], undefined, { subjects: Array(3).fill(acknowledgementSubject) });
    expect(dispositions[0]).toEqual({ action: 'complete' });
    expect(dispositions[2]).toEqual({ action: 'complete' });
    const d = dispositions[1] as Extract<AckDisposition, { action: 'deadLetter' }>;
    expect([d.action, d.reason]).toEqual(['deadLetter', reason]);
    if (typeof description === 'string') expect(d.description).toBe(description);
    else expect(d.description).toMatch(description);
    expect(await statuses([before, after])).toEqual([OutboxStatus.Acked, OutboxStatus.Acked]);
  });

  type Tolerated = [name: string, make: (r: Row) => unknown, check: (row: Awaited<ReturnType<Harness['store']['readByIds']>>[number]) => void];
  const tolerated: Tolerated[] = [
    ['an outboxId in braces and capitals (a form copy)', (r) => ack(r, { outboxId: `{${r.id.toUpperCase()}}` }), (row) => expect(row.status).toBe(OutboxStatus.Acked)],
    ['an outboxId with surrounding white space', (r) => ack(r, { outboxId: ` ${r.id}\n` }), (row) => expect(row.status).toBe(OutboxStatus.Acked)],
    [
      'processedAt in year 275760 (valid in JavaScript, not in Dataverse)',
      (r) => ack(r, { processedAt: new Date(8.64e15).toISOString() }),
      (row) => expect(Math.abs(row.ackedOn!.getTime() - Date.now())).toBeLessThan(120_000),
    ],
    ['processedAt in year 1 (before Dataverse dates)', (r) => ack(r, { processedAt: '0001-01-01T00:00:00Z' }), (row) => expect(row.ackedOn!.getUTCFullYear()).toBeGreaterThanOrEqual(2026)],
    ['an unreadable processedAt', (r) => ack(r, { processedAt: 'yesterday-ish' }), (row) => expect(row.ackedOn).toBeInstanceOf(Date)],
    ['processedAt as a number', (r) => ack(r, { processedAt: 1_700_000_000_000 }), (row) => expect(row.ackedOn).toBeInstanceOf(Date)],
    [
      'a rejection with a 1 MB reason',
      (r) => ack(r, { outcome: 'rejected', reason: 'r'.repeat(1_000_000) }),
      (row) => {
        expect(row.status).toBe(OutboxStatus.DeadLettered);
        expect(row.lastError!.length).toBeLessThanOrEqual(4000);
        expect(row.lastError).toMatch(/^Rejected by consumer: r+/);
      },
    ],
    ['a messageId that is an object', (r) => ack(r, { messageId: { evil: true } }), (row) => expect(row.status).toBe(OutboxStatus.Acked)],
  ];

  it.each(tolerated)('hostile: ack with %s is applied, not dead-lettered', async (_name, make, check) => {
    const [before, target, after] = [take(), take(), take()];
    const dispositions = await processAckMessages(h.store, [ack(before), make(target), ack(after)]);
    expect(dispositions).toEqual([{ action: 'complete' }, { action: 'complete' }, { action: 'complete' }]);
    const [b, t, a] = await h.store.readByIds([before.id, target.id, after.id]).then((rows) => [before, target, after].map((x) => rows.find((r) => r.id === x.id)!));
    check(t!);
    expect([b!.status, a!.status]).toEqual([OutboxStatus.Acked, OutboxStatus.Acked]);
  });
});

describe('hostile dead letters: set aside alone with a specific reason, the good ones of the target recorded', () => {
  type BadDeadLetter = [name: string, properties: Record<string, unknown>, reason: string];
  const badDeadLetters: BadDeadLetter[] = [
    ['no outbox-id', {}, 'MissingOutboxId'],
    ['an empty outbox-id', { [MessageProperties.outboxId]: '' }, 'MissingOutboxId'],
    ['a word as outbox-id', { [MessageProperties.outboxId]: 'not-a-guid' }, 'InvalidOutboxId'],
    ['an OData filter injection as outbox-id', { [MessageProperties.outboxId]: `${GUID_UNKNOWN} or obx_status eq 612000001` }, 'InvalidOutboxId'],
    ['a number as outbox-id', { [MessageProperties.outboxId]: 42 }, 'InvalidOutboxId'],
    ['a boolean as outbox-id', { [MessageProperties.outboxId]: true }, 'InvalidOutboxId'],
    ['a GUID with a NUL inside as outbox-id', { [MessageProperties.outboxId]: `${GUID_UNKNOWN.slice(0, 8)}\u0000${GUID_UNKNOWN.slice(9)}` }, 'InvalidOutboxId'],
    ['a 10,000-character outbox-id', { [MessageProperties.outboxId]: 'f'.repeat(10_000) }, 'InvalidOutboxId'],
    ['a GUID no row has', { [MessageProperties.outboxId]: GUID_UNKNOWN }, 'UnknownOutboxRow'],
    ['a Date as outbox-id', { [MessageProperties.outboxId]: new Date() }, 'InvalidOutboxId'],
  ];
  let seq = 0;

  it.each(badDeadLetters)('hostile: dead letter with %s', async (_name, properties, reason) => {
    const good = take();
    const secret = `payload-secret-${++seq}`;
    const messages: ServiceBusMessage[] = [
      { messageId: `dl-bad-${seq}`, body: { secret }, applicationProperties: properties as ServiceBusMessage['applicationProperties'] },
      { messageId: `dl-good-${seq}`, body: { ok: true }, applicationProperties: { [MessageProperties.outboxId]: good.id } },
    ];
    const sender = h.serviceBus.createSender('invoices');
    await sender.sendMessages(messages);
    await sender.close();
    const receiver = h.serviceBus.createReceiver('invoices');
    const got = await receiver.receiveMessages(2, { maxWaitTimeInMs: 3000 });
    expect(got).toHaveLength(2);
    for (const m of got) await receiver.deadLetterMessage(m, { deadLetterReason: 'HandlerRejected', deadLetterErrorDescription: `case ${seq}` });
    await receiver.close();

    const warnings: string[] = [];
    const poison: string[] = [];
    const [result] = await runDeadLetterMonitor(h.serviceBus, h.store, ['invoices'], {
      maxWaitTimeInMs: 500,
      logger: { debug: () => {}, info: () => {}, error: () => {}, warn: (m, f) => void warnings.push(`${m} ${JSON.stringify(f)}`) },
      metrics: { poisonNotice: (source, r) => void poison.push(`${source}:${r}`) },
    });
    expect(result).toMatchObject({ target: 'invoices', markedDeadLettered: 1, leftInQueue: 0, setAside: { [reason]: 1 } });
    expect(result!.error).toBeUndefined();
    expect(poison).toEqual([`dead-letter:${reason}`]);
    expect(warnings.join('\n')).toContain(reason);
    expect(warnings.join('\n')).not.toContain(secret);
    const [row] = await h.store.readByIds([good.id]);
    expect(row).toMatchObject({ status: OutboxStatus.DeadLettered, lastError: `Dead-lettered by Service Bus: HandlerRejected - case ${seq}` });
    // Set aside, not in the way: the next pass receives nothing.
    const [again] = await runDeadLetterMonitor(h.serviceBus, h.store, ['invoices'], { maxWaitTimeInMs: 300 });
    expect(again!.received).toBe(0);
  });
});

describe('hostile ids for the store: checked before any request, never pasted into $filter', () => {
  const badIds: [string, string][] = [
    ['a word', 'order-17'],
    ['an OData filter injection', `${GUID_UNKNOWN} or obx_status eq 612000000`],
    ['a closing parenthesis injection', `${GUID_UNKNOWN}) or (obx_status eq 612000000`],
    ['a quote', "'"],
    ['an empty string', ''],
    ['a GUID with a NUL inside', `${GUID_UNKNOWN.slice(0, 8)}\u0000${GUID_UNKNOWN.slice(9)}`],
    ['a URL-encoded GUID', encodeURIComponent(`{${GUID_UNKNOWN}}`)],
  ];
  it.each(badIds)('hostile: readByIds with %s throws InvalidIdentifierError and sends nothing', async (_name, bad) => {
    const good = take();
    const before = h.dv.getRequestCounters().total.requests;
    const error = await h.store.readByIds([good.id, bad]).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidIdentifierError);
    expect((error as InvalidIdentifierError).message).toMatch(/^outbox row id must be a GUID, got /);
    expect(h.dv.getRequestCounters().total.requests).toBe(before);
    expect(() => idFilter([bad])).toThrow(InvalidIdentifierError);
    // The good id alone is still read.
    expect((await h.store.readByIds([good.id])).map((r) => r.id)).toEqual([good.id]);
  });

  it('hostile: readByIds takes a GUID in braces and capitals, and the same id twice, as one row', async () => {
    const good = take();
    const rows = await h.store.readByIds([`{${good.id.toUpperCase()}}`, good.id]);
    expect(rows.map((r) => r.id)).toEqual([good.id]);
    expect(idFilter([`{${good.id.toUpperCase()}}`])).toBe(`(obx_outboxmessageid eq ${good.id})`);
  });
});
