import { OutboxMessage, partitionSlotOfKey, partitionSlotOfRow } from '@dataverse-outbox/contract';
import {
  commitWithOutbox,
  CreateRequest,
  DeleteRequest,
  isOutboxCommitError,
  isOutboxRowError,
  OutboxCommitError,
  OutboxRowError,
  UpdateRequest,
  type BusinessChange,
  type OutboxCommitErrorCode,
  type OutboxMessageInput,
  type OutboxRowErrorCode,
  type OutboxRowField,
} from '../src';
import { RecordingWebApi } from './support/recording-web-api';

const col = OutboxMessage.columns;
const accountId = '5b8a3c1e-2f4d-4e6a-9b0c-1d2e3f4a5b6c';
const update: BusinessChange = { operation: 'update', entityLogicalName: 'account', id: accountId, data: { name: 'Contoso' } };
const message: OutboxMessageInput = { target: 'sales-orders', eventType: 'AccountRenamed', payload: { id: accountId, name: 'Contoso' } };

async function anyRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected commitWithOutbox to reject');
}

async function rejection(promise: Promise<unknown>): Promise<OutboxCommitError> {
  const error = await anyRejection(promise);
  expect(isOutboxCommitError(error)).toBe(true);
  return error as OutboxCommitError;
}

async function expectRejectedBeforeSending(
  changes: BusinessChange | BusinessChange[],
  messages: OutboxMessageInput | OutboxMessageInput[],
  code: OutboxCommitErrorCode,
  text: RegExp,
): Promise<OutboxCommitError> {
  const webApi = new RecordingWebApi();
  const e = await rejection(commitWithOutbox(changes, messages, { webApi }));
  expect(e.code).toBe(code);
  expect(e.message).toMatch(text);
  expect(e.sent).toBe(false);
  expect(webApi.calls).toHaveLength(0);
  return e;
}

/** A bad outbox message: the contract's OutboxRowError (the Node writer throws the same), nothing sent. */
async function expectMessageRejected(
  messages: OutboxMessageInput | OutboxMessageInput[],
  code: OutboxRowErrorCode,
  field: OutboxRowField,
  text: RegExp,
  options: { allowedTargets?: string[] } = {},
): Promise<OutboxRowError> {
  const webApi = new RecordingWebApi();
  const error = await anyRejection(commitWithOutbox(update, messages, { webApi, ...options }));
  expect(isOutboxRowError(error)).toBe(true);
  expect(isOutboxCommitError(error)).toBe(false);
  const e = error as OutboxRowError;
  expect([e.code, e.field]).toEqual([code, field]);
  expect(e.message).toMatch(text);
  expect(webApi.calls).toHaveLength(0);
  return e;
}

describe('commitWithOutbox: bad input is rejected with a specific error before anything is sent', () => {
  it('no changes', async () => {
    await expectRejectedBeforeSending([], message, 'NoChanges', /at least one business change/);
  });

  it('no messages', async () => {
    await expectRejectedBeforeSending(update, [], 'NoMessages', /at least one outbox message/);
  });

  it('missing target, named as the message that would fail', async () => {
    const error = await expectMessageRejected([message, { ...message, target: '' }], 'InvalidTarget', 'target', /target \(queue or topic name\) is required/);
    expect(error.position).toBe(1);
    expect(error.message).toMatch(/^Outbox message 2: /);
  });

  it.each([
    ['spaces inside', 'sales orders'],
    ['leading dash', '-orders'],
    ['illegal character', 'orders?x=1'],
    ['too long', 'q'.repeat(261)],
  ])('invalid target (%s)', async (_label, target) => {
    await expectMessageRejected({ ...message, target }, 'InvalidTarget', 'target', /target/);
  });

  it('target outside the allowed list when the caller passes one', async () => {
    await expectMessageRejected({ ...message, target: 'payments' }, 'TargetNotAllowed', 'target', /not one of the allowed targets \(sales-orders\)/, {
      allowedTargets: ['sales-orders'],
    });
  });

  it('circular payload', async () => {
    const payload: Record<string, unknown> = { order: { lines: [] as unknown[] } };
    ((payload.order as { lines: unknown[] }).lines as unknown[]).push(payload);
    await expectMessageRejected({ ...message, payload }, 'PayloadNotSerialisable', 'payload', /payload\.order\.lines\[0\] refers back to one of its parents/);
  });

  it('BigInt in the payload', async () => {
    await expectMessageRejected({ ...message, payload: { amount: BigInt(10) } }, 'PayloadNotSerialisable', 'payload', /payload\.amount is a BigInt/);
  });

  it.each([
    ['NaN', { total: Number.NaN }, /payload\.total is NaN/],
    ['Infinity', { total: Infinity }, /payload\.total is Infinity/],
    ['a function', { run: () => 1 }, /payload\.run is a function/],
    ['a Map', { items: new Map([['a', 1]]) }, /payload\.items is a Map/],
    ['undefined in an array', { items: [1, undefined] }, /payload\.items\[1\] is undefined/],
    ['an invalid Date', { at: new Date('nope') }, /payload\.at is an invalid Date/],
  ])('payload with %s', async (_label, payload, text) => {
    await expectMessageRejected({ ...message, payload }, 'PayloadNotSerialisable', 'payload', text);
  });

  it('a JSON string payload that is not JSON', async () => {
    await expectMessageRejected({ ...message, payload: '{"a":' }, 'InvalidPayload', 'payload', /not valid JSON/);
  });

  it('missing payload', async () => {
    const { payload: _omitted, ...withoutPayload } = message;
    await expectMessageRejected(withoutPayload as OutboxMessageInput, 'InvalidPayload', 'payload', /payload is required/);
  });

  it('payload longer than obx_payload holds', async () => {
    const payload = { text: 'x'.repeat(OutboxMessage.maxLength.obx_payload) };
    await expectMessageRejected({ ...message, payload }, 'PayloadTooLarge', 'payload', /at most 1048576/);
  });

  it('a column value longer than its column', async () => {
    await expectMessageRejected({ ...message, sessionKey: 'k'.repeat(129) }, 'FieldTooLong', 'sessionKey', /sessionKey is 129 characters; obx_sessionkey holds at most 128/);
    await expectMessageRejected({ ...message, messageId: 'm'.repeat(101) }, 'FieldTooLong', 'messageId', /obx_messageid holds at most 100/);
  });

  it('two messages with the same messageId in one commit', async () => {
    await expectMessageRejected([{ ...message, messageId: 'order-1' }, { ...message, messageId: 'order-1' }], 'DuplicateMessageId', 'messageId', /order-1/);
  });

  it.each([
    ['an id that is not a GUID', { ...update, id: '42' }, /id must be the GUID of an existing row/],
    ['a missing table name', { ...update, entityLogicalName: '' }, /entityLogicalName must be a table logical name/],
    ['an unknown operation', { ...update, operation: 'merge' } as unknown as BusinessChange, /operation must be 'create', 'update' or 'delete'/],
    ['an update without columns', { ...update, data: {} }, /no columns to update/],
    ['a BigInt column value', { ...update, data: { revenue: BigInt(1) } }, /data\.revenue is a BigInt/],
    ['an outbox row written as a business change', { ...update, entityLogicalName: OutboxMessage.logicalName }, /outbox rows are written from the messages argument/],
  ])('a business change with %s', async (_label, change, text) => {
    const error = await expectRejectedBeforeSending(change as BusinessChange, message, 'InvalidChange', text);
    expect(error.requestIndex).toBe(0);
  });

  it('more requests than one change set may hold', async () => {
    const changes: BusinessChange[] = Array.from({ length: 1000 }, () => update);
    await expectRejectedBeforeSending(changes, message, 'TooManyRequests', /1001 requests/);
  });
});

describe('commitWithOutbox: the change set', () => {
  it('puts the business changes and the outbox rows into ONE change set, each request with CRUD metadata', async () => {
    const webApi = new RecordingWebApi();
    const newOrderId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const result = await commitWithOutbox(
      [
        { operation: 'create', entityLogicalName: 'salesorder', id: newOrderId, data: { name: 'SO-1' } },
        update,
        { operation: 'delete', entityLogicalName: 'task', id: '{AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE}' },
      ],
      [message, { target: 'audit', payload: 'plain text', contentType: 'text/plain', sessionKey: 'acct-1', correlationId: 'corr-1' }],
      { webApi },
    );

    expect(webApi.calls).toHaveLength(1);
    const [requests] = webApi.calls;
    expect(requests).toHaveLength(1);
    const changeSet = requests[0] as unknown[];
    expect(Array.isArray(changeSet)).toBe(true);
    expect(changeSet).toHaveLength(5);

    const [create, upd, del, row1, row2] = changeSet as [CreateRequest, UpdateRequest, DeleteRequest, CreateRequest, CreateRequest];
    for (const request of changeSet as Array<CreateRequest | UpdateRequest | DeleteRequest>) {
      const metadata = request.getMetadata();
      expect(metadata.operationType).toBe(2);
      expect(metadata.boundParameter).toBeUndefined();
      expect(metadata.parameterTypes).toEqual({});
      // Microsoft's reference: getMetadata is exposed through the prototype.
      expect(Object.prototype.hasOwnProperty.call(request, 'getMetadata')).toBe(false);
    }
    expect(create.getMetadata().operationName).toBe('Create');
    expect(create.etn).toBe('salesorder');
    expect(create.payload).toEqual({ name: 'SO-1', salesorderid: newOrderId });
    expect(upd.getMetadata().operationName).toBe('Update');
    expect([upd.etn, upd.id, upd.payload]).toEqual(['account', accountId, { name: 'Contoso' }]);
    expect(del.getMetadata().operationName).toBe('Delete');
    expect(del.entityReference).toEqual({ entityType: 'task', id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' });

    expect(row1.etn).toBe(OutboxMessage.logicalName);
    expect(row1.payload).toEqual({
      [col.id]: result.outboxRowIds[0],
      [col.name]: `AccountRenamed salesorder:${newOrderId}`,
      [col.messageId]: result.outboxRowIds[0],
      [col.target]: 'sales-orders',
      [col.eventType]: 'AccountRenamed',
      [col.payload]: JSON.stringify(message.payload),
      [col.contentType]: 'application/json',
      [col.sourceEntity]: 'salesorder',
      [col.sourceId]: newOrderId,
      // No session key: the slot of the row id (partitionSlotOfRow), so keyless rows spread over the partitions.
      [col.partitionSlot]: partitionSlotOfRow({ rowId: result.outboxRowIds[0] as string }),
      // The commit's new trace context (contract/src/traceContext.ts), the same for every message of the commit.
      [col.traceContext]: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
    });
    expect(row2.payload[col.traceContext]).toBe(row1.payload[col.traceContext]);
    expect(row2.payload).toEqual(
      expect.objectContaining({
        [col.payload]: 'plain text',
        [col.contentType]: 'text/plain',
        [col.sessionKey]: 'acct-1',
        [col.correlationId]: 'corr-1',
        // With one: the slot of the key, so one partition publishes every row of acct-1, in order.
        [col.partitionSlot]: partitionSlotOfKey('acct-1'),
      }),
    );
    expect(result.businessIds).toEqual([newOrderId, accountId, 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee']);
    expect(result.messageIds).toEqual(result.outboxRowIds);
    // obx_status is left to its default (Pending): the Outbox Producer profile may not set it on create.
    expect(row1.payload).not.toHaveProperty(col.status);
  });

  it('generates the id of a created row so the outbox row can name it', async () => {
    const webApi = new RecordingWebApi();
    const result = await commitWithOutbox({ operation: 'create', entityLogicalName: 'opportunity', data: { name: 'Deal' } }, message, { webApi });
    const [create, row] = webApi.calls[0][0] as CreateRequest[];
    expect(create.payload.opportunityid).toBe(result.businessIds[0]);
    expect(row.payload[col.sourceId]).toBe(result.businessIds[0]);
  });

  it('names the failing request when Dataverse rolls the change set back', async () => {
    const webApi = new RecordingWebApi(async () => {
      throw { errorCode: 2147746581, message: 'Required field obx_target is missing', requestIndex: 1 };
    });
    const error = await rejection(commitWithOutbox(update, message, { webApi }));
    expect(error.code).toBe('CommitFailed');
    expect(error.sent).toBe(true);
    expect(error.requestIndex).toBe(1);
    expect(error.entity).toBe(OutboxMessage.logicalName);
    expect(error.serverErrorCode).toBe(2147746581);
    expect(error.message).toMatch(/rolled back, nothing was written: request 2 of 2 \(Create obx_outboxmessage .*\) failed: Required field obx_target is missing/);
  });

  it('says so when the server does not name the failing request', async () => {
    const webApi = new RecordingWebApi(async () => {
      throw { errorCode: 1, message: 'Generic SQL error' };
    });
    const error = await rejection(commitWithOutbox(update, message, { webApi }));
    expect(error.requestIndex).toBeUndefined();
    expect(error.message).toMatch(/the server did not say which request failed: Generic SQL error/);
  });

  it('reports a missing Xrm.WebApi.online instead of throwing a TypeError', async () => {
    const error = await rejection(commitWithOutbox(update, message));
    expect(error.code).toBe('WebApiUnavailable');
  });
});
