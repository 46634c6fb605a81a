// The one $batch builder and parser against the Dataverse emulator over a real socket: requests outside and inside
// change sets, Content-ID references, a batch refused as a whole (400) read for its failing request, and bodies that
// carry multipart look-alikes.
import { OutboxMessage } from '@dataverse-outbox/contract';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient, buildBatchBody, parseBatchResponse } from '../src';
import { failureOf } from './support/failureOf';

const SET = OutboxMessage.entitySetName;
const C = OutboxMessage.columns;
let dv: DataverseEmulator;
let client: DataverseClient;

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'web-api-batch' }, { retryOptions: { retryDelayInMs: 20, maxRetries: 2 } });
});
afterAll(async () => {
  await client.close();
  await dv.close();
});

const outboxRow = (messageId: string): Record<string, unknown> => ({ [C.name]: messageId, [C.messageId]: messageId, [C.target]: 'orders', [C.payload]: '{}', [C.contentType]: 'application/json' });

test('a batch with a request outside and a change set inside: one response per request, in order, with Content-IDs and status texts', async () => {
  const { id } = await client.create('accounts', { name: 'batch-existing' });
  const responses = await client.executeBatch([
    { method: 'GET', url: `accounts(${id})?$select=name` },
    [
      { method: 'POST', url: 'accounts', body: { name: 'batch-new' } },
      { method: 'PATCH', url: '$1', body: { name: 'batch-new-renamed' } },
    ],
  ]);
  expect(responses.map((r) => [r.status, r.contentId])).toEqual([
    [200, undefined],
    [204, '1'],
    [204, '2'],
  ]);
  expect(responses[0]!.body).toMatchObject({ name: 'batch-existing' });
  expect(responses[1]!.statusText).toBe('No Content');
  // Header names are read in lower case, as the rest of the client reads them.
  expect(responses[1]!.headers['odata-entityid']).toMatch(/accounts\([0-9a-f-]{36}\)$/);
  expect((await client.retrieveMultiple('accounts', { filter: "name eq 'batch-new-renamed'" })).value).toHaveLength(1);
});

test('a change set refused as a whole (400): the error is the failing request\'s, with its Content-ID, Dataverse\'s own message and the batch\'s responses; nothing is written', async () => {
  await client.create(SET, outboxRow('batch-taken'));
  const error = await failureOf(
    client.executeChangeSet([
      { method: 'POST', url: 'accounts', body: { name: 'batch-ghost' } },
      { method: 'POST', url: SET, body: outboxRow('batch-taken') },
    ]),
  );
  expect([error.code, error.statusCode, error.dataverseCode, error.contentId]).toEqual(['DuplicateKey', 412, '0x80040237', '2']);
  expect(error.message).toMatch(/^\$batch request 2 failed with HTTP 412 \(0x80040237\): /);
  expect(error.dataverseMessage).toBeDefined();
  expect(error.message.endsWith(error.dataverseMessage!)).toBe(true);
  expect(error.batchResponses?.map((r) => r.status)).toContain(412);
  expect((await client.retrieveMultiple('accounts', { filter: "name eq 'batch-ghost'" })).value).toHaveLength(0);
});

test('bodies holding CRLFs and boundary look-alikes travel intact (random boundaries from Web Crypto)', async () => {
  const tricky = 'line 1\r\n--batch_\r\n--changeset_x--\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 500 Nope';
  const [created] = await client.executeChangeSet([{ method: 'POST', url: 'accounts', headers: { Prefer: 'return=representation' }, body: { name: tricky } }]);
  expect(created!.status).toBe(201);
  expect((created!.body as { name: string }).name).toBe(tricky);
  const a = buildBatchBody([{ method: 'GET', url: 'x' }]);
  const b = buildBatchBody([{ method: 'GET', url: 'x' }]);
  expect(a.contentType).toMatch(/^multipart\/mixed; boundary=batch_[0-9a-f]{32}$/);
  expect(a.contentType).not.toBe(b.contentType);
});

test('the parser reads a nested change set response and refuses a body without a boundary', () => {
  const body = [
    '--batchresponse_1',
    'Content-Type: multipart/mixed; boundary=changesetresponse_1',
    '',
    '--changesetresponse_1',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    'Content-ID: 1',
    '',
    'HTTP/1.1 204 No Content',
    'OData-EntityId: https://x/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)',
    '',
    '',
    '--changesetresponse_1--',
    '--batchresponse_1',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    '',
    'HTTP/1.1 200 OK',
    'Content-Type: application/json',
    '',
    '{"value":[]}',
    '--batchresponse_1--',
    '',
  ].join('\r\n');
  expect(parseBatchResponse('multipart/mixed; boundary=batchresponse_1', body)).toEqual([
    { status: 204, statusText: 'No Content', headers: { 'odata-entityid': 'https://x/api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)' }, body: undefined, contentId: '1' },
    { status: 200, statusText: 'OK', headers: { 'content-type': 'application/json' }, body: { value: [] }, contentId: undefined },
  ]);
  expect(() => parseBatchResponse('application/json', body)).toThrow(/no multipart boundary/);
});
