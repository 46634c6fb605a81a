// A $batch answered 400 Bad Request as a whole (Dataverse, no continue-on-error: it stops at the first failure) is read
// for its failing request: the writer and the client raise that request's status, Dataverse code and message, classified
// exactly as for a single request. Through the Dataverse emulator over a real socket.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { DataverseClient, DataverseError, OutboxWriter, type DataverseRequestInfo } from '../../src';

const SET = OutboxMessage.entitySetName;
let dv: DataverseEmulator;
let client: DataverseClient;
let writer: OutboxWriter;
const exchanges: DataverseRequestInfo[] = [];

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'batch-errors' }, { retryOptions: { retryDelayInMs: 20, maxRetries: 2 }, onResponse: (i) => exchanges.push(i) });
  writer = new OutboxWriter(client);
});
afterAll(async () => {
  await client.close();
  await dv.close();
});

async function failureOf(p: Promise<unknown>): Promise<DataverseError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DataverseError) return e;
    throw e;
  }
  throw new Error('expected a DataverseError');
}

function lastBatchStatus(): number | undefined {
  return [...exchanges].reverse().find((x) => x.path.endsWith('$batch'))?.status;
}

async function accountsNamed(name: string): Promise<number> {
  return (await client.retrieveMultiple('accounts', { filter: `name eq '${name}'` })).value.length;
}

const row = (messageId: string): Record<string, unknown> => ({ obx_name: messageId, obx_target: 'orders', obx_payload: '{}', obx_contenttype: 'application/json', obx_messageid: messageId });

test('OutboxWriter.transaction: a duplicate obx_messageid in a change set answered 400 raises DuplicateKey with the inner 412 and 0x80040237, and writes nothing', async () => {
  await client.create(SET, row('writer-taken'));
  const error = await failureOf(
    writer.transaction((tx) => {
      tx.create('accounts', { name: 'Writer Ghost' });
      tx.create(SET, row('writer-taken'));
    }),
  );
  expect(lastBatchStatus()).toBe(400);
  expect(error.code).toBe('DuplicateKey');
  expect(error.statusCode).toBe(412);
  expect(error.dataverseCode).toBe('0x80040237');
  expect(error.message).toMatch(/request 2 failed with HTTP 412 \(0x80040237\): .+/);
  expect(await accountsNamed('Writer Ghost')).toBe(0);
});

test('OutboxWriter.transaction: a stale If-Match raises PreconditionFailed (inner 412, 0x80060882), not a bare BadRequest', async () => {
  const { id } = await client.create('accounts', { name: 'Writer Etag' });
  const etag = String((await client.retrieve('accounts', id))!['@odata.etag']);
  await client.update('accounts', id, { name: 'Writer Etag 2' });
  const error = await failureOf(
    writer.transaction((tx) => {
      tx.update('accounts', id, { name: 'Writer Etag 3' }, { ifMatch: etag });
      tx.enqueue({ target: 'orders', payload: { id } });
    }),
  );
  expect(lastBatchStatus()).toBe(400);
  expect(error.code).toBe('PreconditionFailed');
  expect(error.statusCode).toBe(412);
  expect(error.dataverseCode).toBe('0x80060882');
});

test('OutboxWriter.transaction: updating a row that does not exist raises NotFound (inner 404) with its Dataverse code', async () => {
  const error = await failureOf(
    writer.transaction((tx) => {
      tx.update('accounts', '00000000-0000-0000-0000-0000000000aa', { name: 'nobody' });
    }),
  );
  expect(lastBatchStatus()).toBe(400);
  expect(error.code).toBe('NotFound');
  expect(error.statusCode).toBe(404);
  expect(error.dataverseCode).toBe('0x80040217');
});

test('OutboxWriter.transaction: a bad column raises BadRequest with the inner message naming the column', async () => {
  const error = await failureOf(
    writer.transaction((tx) => {
      tx.create('accounts', { name: 'Bad column', notacolumn: 1 });
    }),
  );
  expect(error.code).toBe('BadRequest');
  expect(error.statusCode).toBe(400);
  expect(error.dataverseCode).toMatch(/^0x/);
  expect(error.message).toContain('notacolumn');
});

test('client.executeChangeSet throws the inner error of a 400 batch too (the one reading path for every change set)', async () => {
  await client.create(SET, row('changeset-taken'));
  const error = await failureOf(client.executeChangeSet([{ method: 'POST', url: SET, body: row('changeset-taken') }]));
  expect(error.code).toBe('DuplicateKey');
  expect(error.dataverseCode).toBe('0x80040237');
});

test('with continue-on-error (the publisher marks) the batch is 200 and every request has its own result', async () => {
  const { id } = await client.create('accounts', { name: 'Marks' });
  const responses = await client.executeBatch(
    [
      { method: 'PATCH', url: `accounts(${id})`, body: { name: 'Marks 2' }, headers: { 'If-Match': '*' } },
      { method: 'PATCH', url: 'accounts(00000000-0000-0000-0000-0000000000bb)', body: { name: 'missing' }, headers: { 'If-Match': '*' } },
      { method: 'PATCH', url: `accounts(${id})`, body: { name: 'Marks 3' }, headers: { 'If-Match': '*' } },
    ],
    { continueOnError: true, idempotent: true },
  );
  expect(lastBatchStatus()).toBe(200);
  expect(responses.map((r) => r.status)).toEqual([204, 404, 204]);
  expect((await client.retrieve('accounts', id))!['name']).toBe('Marks 3');
});

test('the inner status decides the class: a 400 batch whose failing part is 429 is Throttled, one whose part is 503 is ServerError', async () => {
  // A server answering exactly as Microsoft Learn's "Handling errors" example does (400 BadRequest, the failing
  // request's response as the body), with the part's status and code varied: the emulator never throttles one part.
  const part = (status: number, code: string): string =>
    ['--batchresponse_x', 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '', `HTTP/1.1 ${status} Error`, 'Content-Type: application/json; odata.metadata=minimal', 'OData-Version: 4.0', '', JSON.stringify({ error: { code, message: `inner ${status}` } }), '--batchresponse_x--', ''].join('\r\n');
  let next = part(429, '0x80072322');
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    res.writeHead(400, { 'Content-Type': 'multipart/mixed; boundary=batchresponse_x', 'OData-Version': '4.0' });
    res.end(next);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const local = new DataverseClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { token: 't' }, { retryOptions: { retryDelayInMs: 10, maxRetries: 2 } });
  try {
    const throttled = await failureOf(local.executeChangeSet([{ method: 'POST', url: 'accounts', body: { name: 'x' } }]));
    expect([throttled.code, throttled.statusCode, throttled.dataverseCode]).toEqual(['Throttled', 429, '0x80072322']);
    expect(throttled.message).toContain('inner 429');
    next = part(503, '0x80040216');
    const server503 = await failureOf(new OutboxWriter(local).transaction((tx) => void tx.create('accounts', { name: 'x' })));
    expect([server503.code, server503.statusCode]).toEqual(['ServerError', 503]);
    // The batch itself was answered 400: processed and refused, so never sent again.
    expect(requests).toBe(2);
  } finally {
    await local.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
