// The one outbox-row builder: each rule and each OutboxRowError code, the record it builds (and its upsert form), and
// both writers refusing the same bad messages with the same code, field and text through their real code against the
// Dataverse emulator (OutboxWriter directly, commitWithOutbox through its $batch adapter), sending nothing.
import { randomUUID } from 'node:crypto';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxWriter, type EnqueueInput } from '@dataverse-outbox/producer';
import { DataverseClient, type EntityRecord } from '@dataverse-outbox/web-api';
import { commitWithOutbox, type BusinessChange, type OutboxMessageInput } from '@dataverse-outbox/webresources';
import { createHttpBatchExecutor } from '@dataverse-outbox/webresources/http-batch';
import {
  buildOutboxRow,
  checkJson,
  isOutboxRowError,
  MAX_JSON_DEPTH,
  OutboxMessage,
  OutboxRowBuilder,
  OutboxRowError,
  outboxRowUpsert,
  OutboxStatus,
  PARTITION_SLOTS,
  partitionSlotOfKey,
  partitionSlotOfRow,
  type OutboxRowErrorCode,
  type OutboxRowField,
  type OutboxRowInput,
  type OutboxRowOptions,
} from '../src';

const col = OutboxMessage.columns;
const maxLength = OutboxMessage.maxLength;
const ROW_ID = '11111111-2222-4333-8444-555555555555';
const options: OutboxRowOptions = { newId: () => ROW_ID };
const good: OutboxRowInput = { target: 'orders', payload: { n: 1 } };

function refusal(input: unknown, opts: Partial<OutboxRowOptions> = {}): OutboxRowError {
  try {
    buildOutboxRow(input as OutboxRowInput, { ...options, ...opts });
  } catch (error) {
    if (error instanceof OutboxRowError) return error;
    throw error;
  }
  throw new Error('expected an OutboxRowError');
}

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
};

describe('the record', () => {
  it('holds every message column, trimmed, with the row id as messageId by default and never obx_status', () => {
    const row = buildOutboxRow(
      {
        target: '  Sales-Orders \n',
        eventType: ' OrderPlaced ',
        payload: { id: 7, lines: [1, 2] },
        contentType: 'application/vnd.contoso+json; charset=utf-8',
        sessionKey: 'customer-1',
        correlationId: 'corr-1',
        sourceEntity: 'salesorder',
        sourceId: '{AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE}',
        expiresOn: new Date('2030-01-02T03:04:05Z'),
      },
      options,
    );
    expect(row).toEqual({
      rowId: ROW_ID,
      messageId: ROW_ID,
      messageIdGiven: false,
      record: {
        [col.id]: ROW_ID,
        [col.name]: 'OrderPlaced salesorder:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
        [col.messageId]: ROW_ID,
        [col.target]: 'sales-orders',
        [col.payload]: '{"id":7,"lines":[1,2]}',
        [col.contentType]: 'application/vnd.contoso+json; charset=utf-8',
        [col.eventType]: 'OrderPlaced',
        [col.sessionKey]: 'customer-1',
        [col.correlationId]: 'corr-1',
        [col.sourceEntity]: 'salesorder',
        [col.sourceId]: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
        [col.expiresOn]: '2030-01-02T03:04:05.000Z',
        [col.partitionSlot]: partitionSlotOfKey('customer-1'),
      },
    });
    expect(row.record).not.toHaveProperty(col.status);
  });

  it('leaves out empty and null optional fields, defaults the content type and names the row without an event type', () => {
    const row = buildOutboxRow({ target: 'orders', payload: null, sessionKey: null, eventType: '  ', correlationId: '', expiresOn: '2030-01-02T03:04:05+01:00' }, options);
    expect(row.record).toEqual({
      [col.id]: ROW_ID,
      [col.name]: 'Outbox message',
      [col.messageId]: ROW_ID,
      [col.target]: 'orders',
      [col.payload]: 'null',
      [col.contentType]: 'application/json',
      [col.expiresOn]: '2030-01-02T02:04:05.000Z',
      [col.partitionSlot]: partitionSlotOfRow({ rowId: ROW_ID }),
    });
  });

  it('keeps a string payload as written: JSON text for a JSON type, any text otherwise', () => {
    expect(buildOutboxRow({ ...good, payload: ' {"a" : 1} ' }, options).record[col.payload]).toBe(' {"a" : 1} ');
    expect(buildOutboxRow({ ...good, payload: 'not { json', contentType: 'text/plain' }, options).record[col.payload]).toBe('not { json');
  });

  it('takes the caller-given messageId and name; a derived name is cut to obx_name, a given one is not', () => {
    const row = buildOutboxRow({ ...good, messageId: ' order-7 ', name: 'Order 7' }, options);
    expect([row.messageId, row.messageIdGiven, row.record[col.messageId], row.record[col.name]]).toEqual(['order-7', true, 'order-7', 'Order 7']);
    const long = buildOutboxRow({ ...good, eventType: 'E'.repeat(maxLength.obx_eventtype) }, options);
    expect(long.record[col.name]).toBe('E'.repeat(maxLength.obx_name));
  });

  it('names the default source only when the message names neither part of it', () => {
    const defaultSource = { entity: 'account', id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' };
    const source = (input: OutboxRowInput): [unknown, unknown] => {
      const r = buildOutboxRow(input, { ...options, defaultSource }).record;
      return [r[col.sourceEntity], r[col.sourceId]];
    };
    expect(source(good)).toEqual(['account', defaultSource.id]);
    expect(source({ ...good, sourceEntity: 'contact' })).toEqual(['contact', undefined]);
    expect(source({ ...good, sourceId: 'bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee' })).toEqual([undefined, 'bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee']);
  });

  it('upserts without the row id and the key column (and, as ever, without obx_status)', () => {
    const row = buildOutboxRow({ ...good, messageId: 'order-7', sessionKey: 'k' }, options);
    const upsert = outboxRowUpsert(row);
    expect(upsert.keyColumn).toBe(col.messageId);
    expect(upsert.key).toBe('order-7');
    expect(Object.keys(upsert.record).sort()).toEqual([col.contentType, col.name, col.payload, col.sessionKey, col.target, col.partitionSlot].sort());
    expect(upsert.record[col.partitionSlot]).toBe(partitionSlotOfKey('k'));
  });
});

describe('the partition slot (obx_partitionslot, contract/src/partitions.ts)', () => {
  let n = 0;
  const newId = (): string => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const slotOf = (input: OutboxRowInput): unknown => buildOutboxRow(input, { newId }).record[col.partitionSlot];

  it('is the slot of the session key as stored (trimmed): every row of a key shares it, whatever else differs', () => {
    const slot = partitionSlotOfKey('customer-7');
    expect(slotOf({ ...good, sessionKey: 'customer-7' })).toBe(slot);
    expect(slotOf({ target: 'invoices', payload: 'x', contentType: 'text/plain', sessionKey: ' customer-7\t', messageId: 'm-1', eventType: 'E' })).toBe(slot);
    // Case is kept, like the Service Bus sessionId: another case is another key.
    expect(slotOf({ ...good, sessionKey: 'CUSTOMER-7' })).toBe(partitionSlotOfKey('CUSTOMER-7'));
  });

  it('spreads rows without a key by their row id (not one slot for all keyless rows)', () => {
    const rows = Array.from({ length: 50 }, () => buildOutboxRow({ ...good, sessionKey: '  ' }, { newId: randomUUID }));
    for (const row of rows) expect(row.record[col.partitionSlot]).toBe(partitionSlotOfRow({ rowId: row.rowId }));
    const used = new Set(rows.map((r) => r.record[col.partitionSlot]));
    // 50 random ids over 1,024 slots: about one collision expected.
    expect(used.size).toBeGreaterThan(40);
    expect([...used].every((slot) => Number.isInteger(slot) && (slot as number) >= 0 && (slot as number) < PARTITION_SLOTS)).toBe(true);
  });

  it('an upsert without a key is spread by its messageId (any case), so every retry stores the slot of the first', () => {
    const first = outboxRowUpsert(buildOutboxRow({ ...good, messageId: 'Order-9' }, { newId }));
    const retry = outboxRowUpsert(buildOutboxRow({ ...good, messageId: 'order-9' }, { newId }));
    expect(first.record[col.partitionSlot]).toBe(partitionSlotOfKey('order-9'));
    expect(retry.record[col.partitionSlot]).toBe(first.record[col.partitionSlot]);
    // The create form of the same message (a new row id each time) is spread by that row id instead.
    const created = buildOutboxRow({ ...good, messageId: 'order-9' }, { newId });
    expect(created.record[col.partitionSlot]).toBe(partitionSlotOfRow({ rowId: created.rowId }));
  });
});

describe('the rules, one code each', () => {
  it('InvalidInput: the message is not an object', () => {
    for (const input of [null, undefined, 'orders', 42, [good]]) expect([refusal(input).code, refusal(input).field]).toEqual(['InvalidInput', 'message']);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['white space', ' \t\n'],
    ['not text', 42],
    ['an inner space', 'ord ers'],
    ['a control character', 'orders\u0000'],
    ['a leading dash', '-orders'],
    ['a query', 'orders?x=1'],
    ['non-ASCII letters', 'ördërs'],
    ['261 characters', 'q'.repeat(261)],
  ])('InvalidTarget: %s', (_label, target) => {
    const error = refusal({ ...good, target });
    expect([error.code, error.field]).toEqual(['InvalidTarget', 'target']);
  });

  it('a target of 260 characters and a subscription path are fine', () => {
    expect(buildOutboxRow({ ...good, target: 'q'.repeat(260) }, options).record[col.target]).toHaveLength(260);
    expect(buildOutboxRow({ ...good, target: 'Topic/Subscriptions/Sub' }, options).record[col.target]).toBe('topic/subscriptions/sub');
  });

  it('TargetNotAllowed: outside the allowed targets the caller passed (compared normalised)', () => {
    expect(refusal({ ...good, target: 'payments' }, { allowedTargets: ['orders', 'invoices'] })).toMatchObject({ code: 'TargetNotAllowed', field: 'target' });
    expect(refusal({ ...good, target: 'payments' }, { allowedTargets: [] }).message).toMatch(/allowed targets \(none\)/);
    expect(buildOutboxRow({ ...good, target: 'ORDERS' }, { ...options, allowedTargets: [' Orders '] }).record[col.target]).toBe('orders');
  });

  it.each<[string, Partial<Record<keyof OutboxRowInput, unknown>>, OutboxRowField]>([
    ['an event type that is not text', { eventType: 42 }, 'eventType'],
    ['a messageId with a line break', { messageId: 'order\n7' }, 'messageId'],
    ['a session key with a NUL', { sessionKey: 'a\u0000b' }, 'sessionKey'],
    ['a correlation id with a C1 control character', { correlationId: 'corr\u0085' }, 'correlationId'],
    ['a name with DEL', { name: 'Order\u007f' }, 'name'],
    ['a sourceId that is not a GUID', { sourceId: '42' }, 'sourceId'],
    ['a sourceId that is not text', { sourceId: 42 }, 'sourceId'],
    ['a sourceEntity that is not a logical name', { sourceEntity: 'Sales Order' }, 'sourceEntity'],
    ['an expiresOn that is not a date', { expiresOn: 'next tuesday' }, 'expiresOn'],
    ['an expiresOn that is an invalid Date', { expiresOn: new Date('nope') }, 'expiresOn'],
    ['an expiresOn that is a number', { expiresOn: 1_900_000_000_000 }, 'expiresOn'],
  ])('InvalidField: %s', (_label, fields, field) => {
    const error = refusal({ ...good, ...fields });
    expect([error.code, error.field]).toEqual(['InvalidField', field]);
  });

  it.each<[OutboxRowField, keyof typeof maxLength, (n: number) => string]>([
    ['messageId', 'obx_messageid', (n) => 'm'.repeat(n)],
    ['eventType', 'obx_eventtype', (n) => 'e'.repeat(n)],
    ['correlationId', 'obx_correlationid', (n) => 'c'.repeat(n)],
    ['sessionKey', 'obx_sessionkey', (n) => 'k'.repeat(n)],
    ['contentType', 'obx_contenttype', (n) => `application/${'x'.repeat(n - 17)}+json`],
    ['sourceEntity', 'obx_sourceentity', (n) => 's'.repeat(n)],
    ['name', 'obx_name', (n) => 'n'.repeat(n)],
  ])('FieldTooLong: %s holds at most the generated %s length', (field, column, value) => {
    const max = maxLength[column];
    expect(() => buildOutboxRow({ ...good, [field]: value(max) }, options)).not.toThrow();
    const error = refusal({ ...good, [field]: value(max + 1) });
    expect([error.code, error.field]).toEqual(['FieldTooLong', field]);
    expect(error.message).toContain(`${column} holds at most ${max}`);
  });

  it.each(['json', 'application json', 'application/json/x', 'tëxt/plain', '/json'])('InvalidContentType: %j', (contentType) => {
    expect(refusal({ ...good, contentType })).toMatchObject({ code: 'InvalidContentType', field: 'contentType' });
  });

  it.each<[string, unknown, string | undefined]>([
    ['missing', undefined, undefined],
    ['a JSON-typed string that is not JSON', '{"a":', undefined],
    ['an empty JSON-typed string', '', undefined],
    ['JSON with trailing text', '{} {}', undefined],
    ['an object with a text content type', { a: 1 }, 'text/plain'],
  ])('InvalidPayload: %s', (_label, payload, contentType) => {
    const input = { target: 'orders', ...(payload === undefined ? {} : { payload }), ...(contentType ? { contentType } : {}) };
    expect(refusal(input)).toMatchObject({ code: 'InvalidPayload', field: 'payload' });
  });

  it('InvalidPayload says where, never what: the payload text is not in the message', () => {
    const error = refusal({ ...good, payload: '{"secret": "s3cr3t" oops}' });
    expect(error.message).toMatch(/line 1, column 21/);
    expect(error.message).not.toContain('s3cr3t');
  });

  it.each<[string, unknown, RegExp]>([
    ['a BigInt', { amount: BigInt(1) }, /payload\.amount is a BigInt/],
    ['NaN', { total: Number.NaN }, /payload\.total is NaN/],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })(), /payload\.self refers back/],
    ['a Map', { m: new Map() }, /payload\.m is a Map/],
    ['undefined in an array', [1, undefined], /payload\[1\] is undefined/],
    ['a toJSON that throws', { at: new (class Boom { toJSON(): never { throw new Error('no'); } })() }, /could not be serialised: no/],
  ])('PayloadNotSerialisable: %s', (_label, payload, text) => {
    const error = refusal({ ...good, payload });
    expect([error.code, error.field]).toEqual(['PayloadNotSerialisable', 'payload']);
    expect(error.message).toMatch(text);
  });

  it('PayloadTooDeep: deeper than MAX_JSON_DEPTH (64) as a value, as text, or once toJSON has run; 64 is fine', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(() => buildOutboxRow({ ...good, payload: nested(64) }, options)).not.toThrow();
    expect(() => buildOutboxRow({ ...good, payload: JSON.stringify(nested(64)) }, options)).not.toThrow();
    expect(refusal({ ...good, payload: nested(65) })).toMatchObject({ code: 'PayloadTooDeep', field: 'payload' });
    expect(refusal({ ...good, payload: JSON.stringify(nested(65)) })).toMatchObject({ code: 'PayloadTooDeep', field: 'payload' });
    class Deep {
      toJSON(): unknown {
        return nested(65);
      }
    }
    expect(refusal({ ...good, payload: { deep: new Deep() } })).toMatchObject({ code: 'PayloadTooDeep', field: 'payload' });
  });

  it('PayloadTooDeep without overflowing the stack: a value and a text nested 100,000 deep', () => {
    expect(refusal({ ...good, payload: nested(100_000) }).code).toBe('PayloadTooDeep');
    expect(refusal({ ...good, payload: '['.repeat(100_000) + ']'.repeat(100_000) }).code).toBe('PayloadTooDeep');
  });

  it('PayloadTooLarge: longer than obx_payload once serialised; exactly its length is fine', () => {
    const max = maxLength.obx_payload;
    expect(() => buildOutboxRow({ ...good, payload: 'x'.repeat(max), contentType: 'text/plain' }, options)).not.toThrow();
    expect(refusal({ ...good, payload: 'x'.repeat(max + 1), contentType: 'text/plain' })).toMatchObject({ code: 'PayloadTooLarge', field: 'payload' });
    expect(refusal({ ...good, payload: { text: 'x'.repeat(max) } })).toMatchObject({ code: 'PayloadTooLarge', field: 'payload' });
  });

  it('DuplicateMessageId: a transaction refuses a messageId it already has, in any case, naming both messages', () => {
    const rows = new OutboxRowBuilder(options);
    rows.add({ ...good, messageId: 'Order-1' });
    rows.add({ ...good });
    let error: unknown;
    try {
      rows.add({ ...good, messageId: 'order-1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutboxRowError);
    expect(error).toMatchObject({ code: 'DuplicateMessageId', field: 'messageId', position: 2 });
    expect((error as Error).message).toBe('Outbox message 3: messageId "order-1" is already used by message 1 of this transaction');
    expect(rows.count).toBe(2);
  });

  it('checks in a fixed order: the target before the fields, the fields before the payload', () => {
    expect(refusal({ target: '', payload: undefined, sessionKey: 7 }).code).toBe('InvalidTarget');
    expect(refusal({ target: 'orders', payload: undefined, sessionKey: 7 }).code).toBe('InvalidField');
  });
});

describe('OutboxRowError', () => {
  it('has a name, a closed code, the field and the position in its message', () => {
    const error = new OutboxRowError('FieldTooLong', 'sessionKey', 'sessionKey is too long', 4);
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.code, error.field, error.position, error.message]).toEqual(['OutboxRowError', 'FieldTooLong', 'sessionKey', 4, 'Outbox message 5: sessionKey is too long']);
  });

  it('isOutboxRowError knows one thrown by another bundle (same name, code and field), and nothing else', () => {
    expect(isOutboxRowError(refusal(null))).toBe(true);
    expect(isOutboxRowError({ name: 'OutboxRowError', code: 'InvalidTarget', field: 'target', message: 'x' })).toBe(true);
    expect(isOutboxRowError(new Error('x'))).toBe(false);
    expect(isOutboxRowError({ name: 'OutboxCommitError', code: 'NoChanges' })).toBe(false);
    expect(isOutboxRowError(null)).toBe(false);
  });

  it('the JSON check it uses is the one the publisher runs (contract checkJson)', () => {
    expect(checkJson('{"a":[1,2]}', MAX_JSON_DEPTH)).toBeUndefined();
    expect(checkJson('{"a":', MAX_JSON_DEPTH)?.kind).toBe('syntax');
  });
});

describe('both writers refuse the same bad messages the same way, through their real code, sending nothing', () => {
  let dv: DataverseEmulator;
  let client: DataverseClient;
  let requests = 0;
  let accountId: string;
  const ALLOWED = ['orders', 'invoices'];

  beforeAll(async () => {
    dv = await startDataverseEmulator({ port: 0 });
    client = new DataverseClient(dv.url, { token: 'outbox-row-writers' }, { retryOptions: { retryDelayInMs: 20, maxRetries: 1 }, onResponse: () => void requests++ });
    accountId = (await client.create('accounts', { name: 'Writers agree' })).id;
  });
  afterAll(async () => {
    await client.close();
    await dv.close();
  });

  /** The Node writer: a business update and the messages in one transaction. */
  async function nodeWriter(messages: readonly unknown[]): Promise<unknown> {
    const writer = new OutboxWriter(client, { allowedTargets: ALLOWED });
    return writer
      .transaction((tx) => {
        tx.update('accounts', accountId, { name: 'Node writer' });
        for (const m of messages) tx.enqueue(m as EnqueueInput);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
  }

  /** The web resource writer, as its integration tests drive it: commitWithOutbox through the $batch adapter. */
  async function browserWriter(messages: readonly unknown[]): Promise<unknown> {
    const webApi = createHttpBatchExecutor({ client, entitySetNames: { account: 'accounts' } });
    const change: BusinessChange = { operation: 'update', entityLogicalName: 'account', id: accountId, data: { name: 'Browser writer' } };
    return commitWithOutbox(change, messages as OutboxMessageInput[], { webApi, allowedTargets: ALLOWED }).then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  const cycle: Record<string, unknown> = {};
  cycle.again = cycle;
  const bad: [OutboxRowErrorCode, unknown[]][] = [
    ['InvalidInput', [null]],
    ['InvalidTarget', [{ target: 'ord ers', payload: {} }]],
    ['TargetNotAllowed', [{ target: 'payments', payload: {} }]],
    ['InvalidField', [{ target: 'orders', payload: {}, sourceId: 'not-a-guid' }]],
    ['InvalidField', [{ target: 'orders', payload: {}, messageId: 'order\r\n7' }]],
    ['InvalidField', [{ target: 'orders', payload: {}, notBefore: 'tomorrow' }]],
    ['FieldTooLong', [{ target: 'orders', payload: {}, sessionKey: 'k'.repeat(maxLength.obx_sessionkey + 1) }]],
    ['InvalidContentType', [{ target: 'orders', payload: 'x', contentType: 'text plain' }]],
    ['InvalidPayload', [{ target: 'orders', payload: '{"a":' }]],
    ['PayloadNotSerialisable', [{ target: 'orders', payload: cycle }]],
    ['PayloadTooDeep', [{ target: 'orders', payload: nested(MAX_JSON_DEPTH + 1) }]],
    ['PayloadTooLarge', [{ target: 'orders', payload: 'x'.repeat(maxLength.obx_payload + 1), contentType: 'text/plain' }]],
    ['DuplicateMessageId', [{ target: 'orders', payload: {}, messageId: 'dup-1' }, { target: 'invoices', payload: {}, messageId: 'DUP-1' }]],
  ];

  it.each(bad)('%s', async (code, messages) => {
    const before = requests;
    const node = await nodeWriter(messages);
    const browser = await browserWriter(messages);
    expect(isOutboxRowError(node)).toBe(true);
    expect(isOutboxRowError(browser)).toBe(true);
    const [n, b] = [node as OutboxRowError, browser as OutboxRowError];
    expect(n.code).toBe(code);
    expect([b.code, b.field, b.position, b.message]).toEqual([n.code, n.field, n.position, n.message]);
    expect(requests).toBe(before);
  });

  it('and write the same row for the same good message (the browser creates it, the Node writer upserts on its key)', async () => {
    // A scheduled event: both store the time, rounded up to the second, in obx_nextattempton.
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000 + 250);
    const message = (messageId: string): OutboxRowInput => ({
      notBefore,
      target: ' Orders ',
      eventType: 'OrderPlaced',
      payload: { id: 7 },
      sessionKey: 'customer-1',
      correlationId: 'corr-1',
      sourceEntity: 'account',
      sourceId: accountId,
      messageId,
    });
    expect(await nodeWriter([message('same-row-node')])).toBeUndefined();
    expect(await browserWriter([message('same-row-browser')])).toBeUndefined();
    const stored = async (messageId: string): Promise<EntityRecord> => {
      const rows = (await client.retrieveMultiple(OutboxMessage.entitySetName, { filter: `${col.messageId} eq '${messageId}'` })).value;
      expect(rows).toHaveLength(1);
      const columns = [col.target, col.eventType, col.payload, col.contentType, col.sessionKey, col.correlationId, col.sourceEntity, col.sourceId, col.name, col.status, col.partitionSlot, col.nextAttemptOn];
      return Object.fromEntries(columns.map((c) => [c, rows[0]![c]]));
    };
    const node = await stored('same-row-node');
    expect(node).toEqual(await stored('same-row-browser'));
    expect(node[col.status]).toBe(OutboxStatus.Pending);
    expect(node[col.target]).toBe('orders');
    expect(new Date(String(node[col.nextAttemptOn])).getTime()).toBe(notBefore.getTime() - 250 + 1000);
    // Both stored the slot of the key, so one partition publishes every row of customer-1.
    expect(node[col.partitionSlot]).toBe(partitionSlotOfKey('customer-1'));
  });

  it('store the slot of a keyless row: by its row id when they create it, by its messageId when the Node writer upserts it', async () => {
    const keyless = (messageId?: string): OutboxRowInput => ({ target: 'orders', eventType: 'KeylessSlot', payload: { id: 8 }, ...(messageId ? { messageId } : {}) });
    expect(await nodeWriter([keyless(), keyless('Keyless-Upsert')])).toBeUndefined();
    expect(await browserWriter([keyless(), keyless('keyless-browser')])).toBeUndefined();
    const rows = (await client.retrieveMultiple(OutboxMessage.entitySetName, { select: [col.id, col.messageId, col.partitionSlot], filter: `${col.eventType} eq 'KeylessSlot'` })).value;
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const id = String(row[col.id]);
      const messageId = String(row[col.messageId]);
      // Created rows (messageId = the row id, or the browser's given one): the slot of the id Dataverse stored.
      const expected = messageId === 'Keyless-Upsert' ? partitionSlotOfKey('keyless-upsert') : partitionSlotOfRow({ rowId: id });
      expect({ messageId, slot: row[col.partitionSlot] }).toEqual({ messageId, slot: expected });
    }
  });
});
