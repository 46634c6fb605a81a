// A $batch answered 400 Bad Request as a whole (Dataverse, no continue-on-error: it stops at the first failure) is read
// for its failing request: the writer and the client raise that request's status, Dataverse code and message, classified
// exactly as for a single request. Through the Dataverse emulator over a real socket. The writer's own change-set
// cases moved with it to producer/test/writer.test.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { DataverseClient, DataverseError, type DataverseRequestInfo } from '../../src';
import { OutboxWriter } from '@dataverse-outbox/producer';

const SET = OutboxMessage.entitySetName;
let dv: DataverseEmulator;
let client: DataverseClient;
const exchanges: DataverseRequestInfo[] = [];

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'batch-errors' }, { retryOptions: { retryDelayInMs: 20, maxRetries: 2 }, onResponse: (i) => exchanges.push(i) });
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

const row = (messageId: string): Record<string, unknown> => ({ obx_name: messageId, obx_target: 'orders', obx_payload: '{}', obx_contenttype: 'application/json', obx_messageid: messageId });

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
