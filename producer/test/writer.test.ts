// OutboxWriter against the Dataverse emulator over a real socket: one change set per transaction, the outbox row built by
// the contract's builder (upsert on obx_messageid for a producer's key, create otherwise, obx_status never sent), bad
// input refused with OutboxRowError before anything is sent, and a failed change set raising its inner request's error.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus, partitionSlotOfKey, partitionSlotOfRow } from '@dataverse-outbox/contract';
import { DataverseClient, DataverseError, type DataverseRequestInfo, type EntityRecord } from '@dataverse-outbox/web-api';
import { isOutboxRowError, OutboxRowError, OutboxWriter, outboxRowRequest } from '../src';

const SET = OutboxMessage.entitySetName;
const C = OutboxMessage.columns;
let dv: DataverseEmulator;
let client: DataverseClient;
let writer: OutboxWriter;
const exchanges: DataverseRequestInfo[] = [];

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'producer-writer' }, { retryOptions: { retryDelayInMs: 20, maxRetries: 2 }, onResponse: (i) => exchanges.push(i) });
  writer = new OutboxWriter(client);
});
afterAll(async () => {
  await client.close();
  await dv.close();
});

async function failureOf<E extends Error>(p: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (e instanceof type) return e;
    throw e;
  }
  throw new Error(`expected a ${type.name}`);
}

function lastBatchStatus(): number | undefined {
  return [...exchanges].reverse().find((x) => x.path.endsWith('$batch'))?.status;
}

async function accountsNamed(name: string): Promise<number> {
  return (await client.retrieveMultiple('accounts', { filter: `name eq '${name}'` })).value.length;
}

async function outboxRow(messageId: string): Promise<EntityRecord | undefined> {
  const rows = (await client.retrieveMultiple(SET, { filter: `${C.messageId} eq '${messageId.replace(/'/g, "''")}'` })).value;
  expect(rows.length).toBeLessThanOrEqual(1);
  return rows[0];
}

const row = (messageId: string): Record<string, unknown> => ({ obx_name: messageId, obx_target: 'orders', obx_payload: '{}', obx_contenttype: 'application/json', obx_messageid: messageId });

describe('the outbox row it writes', () => {
  it('without a messageId: a create whose row id is the messageId, the target normalised, Pending by the column default', async () => {
    const { request } = outboxRowRequest({ target: ' Orders ', eventType: 'OrderPlaced', payload: { n: 1 } });
    expect(request.method).toBe('POST');
    expect(request.body).not.toHaveProperty(C.status);

    const { messageIds } = await writer.transaction((tx) => void tx.enqueue({ target: ' Orders ', eventType: 'OrderPlaced', payload: { n: 1 }, sourceEntity: 'account', sourceId: '{AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE}' }));
    const stored = await client.retrieve(SET, messageIds[0]!);
    expect(stored).toMatchObject({
      [C.messageId]: messageIds[0],
      [C.target]: 'orders',
      [C.payload]: '{"n":1}',
      [C.contentType]: 'application/json',
      [C.status]: OutboxStatus.Pending,
      [C.sourceId]: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      [C.name]: 'OrderPlaced account:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    });
  });

  it('with a messageId: an upsert on obx_messageid without the row id, the key or obx_status', () => {
    const { messageId, request } = outboxRowRequest({ target: 'orders', payload: {}, messageId: 'order#7' });
    expect(messageId).toBe('order#7');
    expect(request.method).toBe('PATCH');
    expect(request.url).toBe(`${SET}(obx_messageid='order%237')`);
    expect(Object.keys(request.body ?? {}).sort()).toEqual([C.contentType, C.name, C.payload, C.target, C.partitionSlot].sort());
  });

  it('stores the partition slot of its session key (so one partition publishes the key in order); a keyless row the slot of its id', async () => {
    const { messageIds } = await writer.transaction((tx) => {
      tx.enqueue({ target: 'orders', payload: { n: 1 }, sessionKey: ' customer-42 ' });
      tx.enqueue({ target: 'orders', payload: { n: 2 }, sessionKey: 'customer-42', messageId: 'slot-keyed-upsert' });
      tx.enqueue({ target: 'orders', payload: { n: 3 } });
    });
    const [keyed, upserted, keyless] = await Promise.all(messageIds.map((id) => outboxRow(id)));
    expect(keyed?.[C.partitionSlot]).toBe(partitionSlotOfKey('customer-42'));
    expect(upserted?.[C.partitionSlot]).toBe(partitionSlotOfKey('customer-42'));
    expect(keyless?.[C.partitionSlot]).toBe(partitionSlotOfRow({ rowId: String(keyless?.[C.id]) }));
  });

  it('a retried transaction with the same messageId lands on the same row, and never moves a published row back to Pending', async () => {
    const send = (n: number): ReturnType<OutboxWriter['transaction']> =>
      writer.transaction((tx) => {
        tx.create('accounts', { name: `Retry ${n}` });
        tx.enqueue({ target: 'orders', payload: { n: 1 }, messageId: 'producer-retry-1' });
      });
    await send(1);
    const first = (await outboxRow('producer-retry-1'))!;
    await client.update(SET, String(first[C.id]), { [C.status]: OutboxStatus.Published });
    await send(2);
    const after = (await outboxRow('producer-retry-1'))!;
    expect(after[C.id]).toBe(first[C.id]);
    expect(after[C.status]).toBe(OutboxStatus.Published);
    // Nor to another partition: a keyless upsert's slot comes from its messageId, which the retry repeats.
    expect(after[C.partitionSlot]).toBe(first[C.partitionSlot]);
    expect(after[C.partitionSlot]).toBe(partitionSlotOfKey('producer-retry-1'));
  });

  it('a producer messageId with # ? % / and a quote is stored exactly, and a retried transaction updates the same row', async () => {
    // "order#1" once failed the whole transaction (404 for the segment cut at "#"); "p%41q" was stored as "pAq".
    const ids = ['order#1', 'a?b=1', 'p%41q', 'x/y', "it's", 'sp ace'];
    for (let round = 0; round < 2; round++) {
      await writer.transaction((tx) => {
        for (const messageId of ids) tx.enqueue({ target: 'orders', payload: { round }, messageId });
      });
    }
    for (const id of ids) expect((await outboxRow(id))?.[C.payload]).toBe('{"round":1}');
  });
});

describe('bad input: OutboxRowError before anything is sent', () => {
  it.each([
    ['a target with a space', { target: 'ord ers', payload: {} }, 'InvalidTarget', 'target'],
    ['a sourceId that is not a GUID', { target: 'orders', payload: {}, sourceId: '42' }, 'InvalidField', 'sourceId'],
    ['a payload nested 65 deep', { target: 'orders', payload: JSON.parse('['.repeat(65) + ']'.repeat(65)) as unknown }, 'PayloadTooDeep', 'payload'],
    ['a session key of 129 characters', { target: 'orders', payload: {}, sessionKey: 'k'.repeat(129) }, 'FieldTooLong', 'sessionKey'],
  ] as const)('%s', async (_label, message, code, field) => {
    const before = exchanges.length;
    const error = await failureOf(
      writer.transaction((tx) => {
        tx.create('accounts', { name: 'Never written' });
        tx.enqueue(message);
      }),
      OutboxRowError,
    );
    expect(isOutboxRowError(error)).toBe(true);
    expect([error.code, error.field, error.position]).toEqual([code, field, 0]);
    expect(exchanges.length).toBe(before);
    expect(await accountsNamed('Never written')).toBe(0);
  });

  it('the same messageId twice in one transaction, in any case (Dataverse keys ignore case)', async () => {
    const error = await failureOf(
      writer.transaction((tx) => {
        tx.enqueue({ target: 'orders', payload: {}, messageId: 'Twice-1' });
        tx.enqueue({ target: 'orders', payload: {}, messageId: 'twice-1' });
      }),
      OutboxRowError,
    );
    expect([error.code, error.field, error.position]).toEqual(['DuplicateMessageId', 'messageId', 1]);
    expect(error.message).toMatch(/^Outbox message 2: messageId "twice-1" is already used by message 1/);
  });
});

// Moved with the writer from publisher-function/test/dataverse/batch-errors.test.ts: a change set answered 400 as a
// whole raises its failing request's error, classified as for a single request, and writes nothing.
describe('a failed change set', () => {
  test('a duplicate obx_messageid in a change set answered 400 raises DuplicateKey with the inner 412 and 0x80040237, and writes nothing', async () => {
    await client.create(SET, row('writer-taken'));
    const error = await failureOf(
      writer.transaction((tx) => {
        tx.create('accounts', { name: 'Writer Ghost' });
        tx.create(SET, row('writer-taken'));
      }),
      DataverseError,
    );
    expect(lastBatchStatus()).toBe(400);
    expect(error.code).toBe('DuplicateKey');
    expect(error.statusCode).toBe(412);
    expect(error.dataverseCode).toBe('0x80040237');
    expect(error.message).toMatch(/request 2 failed with HTTP 412 \(0x80040237\): .+/);
    expect(await accountsNamed('Writer Ghost')).toBe(0);
  });

  test('a stale If-Match raises PreconditionFailed (inner 412, 0x80060882), not a bare BadRequest', async () => {
    const { id } = await client.create('accounts', { name: 'Writer Etag' });
    const etag = String((await client.retrieve('accounts', id))!['@odata.etag']);
    await client.update('accounts', id, { name: 'Writer Etag 2' });
    const error = await failureOf(
      writer.transaction((tx) => {
        tx.update('accounts', id, { name: 'Writer Etag 3' }, { ifMatch: etag });
        tx.enqueue({ target: 'orders', payload: { id } });
      }),
      DataverseError,
    );
    expect(lastBatchStatus()).toBe(400);
    expect(error.code).toBe('PreconditionFailed');
    expect(error.statusCode).toBe(412);
    expect(error.dataverseCode).toBe('0x80060882');
  });

  test('updating a row that does not exist raises NotFound (inner 404) with its Dataverse code', async () => {
    const error = await failureOf(
      writer.transaction((tx) => {
        tx.update('accounts', '00000000-0000-0000-0000-0000000000aa', { name: 'nobody' });
      }),
      DataverseError,
    );
    expect(lastBatchStatus()).toBe(400);
    expect(error.code).toBe('NotFound');
    expect(error.statusCode).toBe(404);
    expect(error.dataverseCode).toBe('0x80040217');
  });

  test('a bad column raises BadRequest with the inner message naming the column', async () => {
    const error = await failureOf(
      writer.transaction((tx) => {
        tx.create('accounts', { name: 'Bad column', notacolumn: 1 });
      }),
      DataverseError,
    );
    expect(error.code).toBe('BadRequest');
    expect(error.statusCode).toBe(400);
    expect(error.dataverseCode).toMatch(/^0x/);
    expect(error.message).toContain('notacolumn');
  });
});
