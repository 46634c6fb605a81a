// The $batch adapter (over the product's Web API client) against the Dataverse emulator over a real socket: a batch answered 400 Bad Request as a whole
// (Dataverse, no continue-on-error, stopped at the failing change set) is read for its failing request, and rejects with
// that request's status, Dataverse error code and message, like the client API's error callback for a single request.
import { OutboxMessage } from '@dataverse-outbox/contract';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient } from '@dataverse-outbox/web-api';
import { createHttpBatchExecutor, type BatchError } from '@dataverse-outbox/webresources/http-batch';
import type { CrudRequestLike } from '../../src/client/requests';

const token = 'http-batch-errors';
let emulator: DataverseEmulator;
const batchStatuses: number[] = [];

beforeAll(async () => {
  emulator = await startDataverseEmulator({ port: 0 });
});
afterAll(async () => {
  await emulator.close();
});

function executor() {
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    batchStatuses.push(response.status);
    return response;
  };
  return createHttpBatchExecutor({ client: new DataverseClient(emulator.url, { token }, { fetch: recordingFetch }), entitySetNames: { account: 'accounts' } });
}

const create = (etn: string, payload: Record<string, unknown>): CrudRequestLike => ({ getMetadata: () => ({ operationName: 'Create', operationType: 2, boundParameter: null }), etn, payload: payload as CrudRequestLike['payload'] });
const update = (etn: string, id: string, payload: Record<string, unknown>): CrudRequestLike => ({ getMetadata: () => ({ operationName: 'Update', operationType: 2, boundParameter: 'entity' }), etn, id, payload: payload as CrudRequestLike['payload'] });
const outbox = (messageId: string): Record<string, unknown> => ({ obx_name: messageId, obx_messageid: messageId, obx_target: 'orders', obx_payload: '{}' });

async function rejection(p: Promise<unknown>): Promise<BatchError> {
  try {
    await p;
  } catch (e) {
    return e as BatchError;
  }
  throw new Error('expected executeMultiple to reject');
}

async function count(set: string, filter: string): Promise<number> {
  const res = await fetch(`${emulator.apiUrl}${set}?$filter=${encodeURIComponent(filter)}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
  return ((await res.json()) as { value: unknown[] }).value.length;
}

test('a duplicate obx_messageid in a change set: the batch is 400 and executeMultiple rejects with the inner 412 and 0x80040237', async () => {
  await executor().executeMultiple([create(OutboxMessage.logicalName, outbox('http-batch-taken'))]);
  const error = await rejection(executor().executeMultiple([[create('account', { name: 'HTTP Batch Ghost' }), create(OutboxMessage.logicalName, outbox('http-batch-taken'))]]));
  expect(batchStatuses.at(-1)).toBe(400);
  expect(error.status).toBe(412);
  expect(error.errorCode).toBe(0x80040237);
  expect(error.message).toContain('obx_messageid');
  expect(error.contentId).toBe('2');
  expect(error.requestIndex).toBe(1);
  expect(await count('accounts', "name eq 'HTTP Batch Ghost'")).toBe(0);
});

test('an update of a missing row in a change set: rejects with the inner 404 and 0x80040217, nothing of the change set written', async () => {
  const error = await rejection(executor().executeMultiple([[create('account', { name: 'HTTP Batch Ghost 2' }), update('account', '00000000-0000-0000-0000-0000000000cc', { name: 'nobody' })]]));
  expect(batchStatuses.at(-1)).toBe(400);
  expect(error.status).toBe(404);
  expect(error.errorCode).toBe(0x80040217);
  expect(await count('accounts', "name eq 'HTTP Batch Ghost 2'")).toBe(0);
});
