// Bad input gets the error Dataverse would give and changes nothing: malformed JSON, unknown column, wrong type,
// unknown entity set, malformed $filter, malformed multipart, oversize payload.
import { OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
const L = OutboxMessage.logicalName;
let emulator: DataverseEmulator;
let api: WebApi;
let existingId: string;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator({ maxRequestBytes: 64 * 1024 }));
  existingId = await api.create(SET, outboxRow('keep-me'));
  await api.create('accounts', { name: 'Keep' });
});
afterAll(async () => {
  await emulator.close();
});

/** Everything a bad request could have touched. */
async function snapshot(): Promise<string> {
  const rows = await api.rows(SET, '$orderby=obx_messageid');
  const accounts = await api.rows('accounts', '$orderby=name');
  return JSON.stringify({ rows, accounts });
}

async function expectUnchanged(action: () => Promise<void>): Promise<void> {
  const before = await snapshot();
  await action();
  expect(await snapshot()).toBe(before);
}

const PAYLOAD_PREFIX = `Error identified in Payload provided by the user for Entity :'${L}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: `;

test('malformed JSON: 400 0x80048d19', async () => {
  await expectUnchanged(async () => {
    const res = await api.request('POST', SET, { rawBody: '{"obx_messageid": "x", ', headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    expect((res.json['error'] as { code: string }).code).toBe('0x80048d19');
    expect((res.json['error'] as { message: string }).message.startsWith(`${PAYLOAD_PREFIX}Invalid JSON.`)).toBe(true);
    const patch = await api.request('PATCH', `${SET}(${existingId})`, { rawBody: 'not json', headers: { 'Content-Type': 'application/json' } });
    expect(patch.status).toBe(400);
  });
});

test('unknown column: 400 0x80048d19 naming the property', async () => {
  await expectUnchanged(async () => {
    const res = await api.post(SET, { ...outboxRow('unknown-col'), obx_colour: 'red' });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: {
        code: '0x80048d19',
        message: `${PAYLOAD_PREFIX}The property 'obx_colour' does not exist on type 'Microsoft.Dynamics.CRM.${L}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      },
    });
    expect((await api.patch(`${SET}(${existingId})`, { obx_attempts: 1, nope: 1 })).status).toBe(400);
  });
});

test('wrong type: 400 0x80048d19 "Cannot convert the literal"; too long: 0x80044331', async () => {
  await expectUnchanged(async () => {
    const res = await api.patch(`${SET}(${existingId})`, { obx_attempts: 'three' });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: '0x80048d19', message: `${PAYLOAD_PREFIX}Cannot convert the literal 'three' to the expected type 'Edm.Int32'.` } });
    expect((await api.patch(`${SET}(${existingId})`, { obx_nextattempton: 'tomorrow' })).status).toBe(400);
    expect((await api.patch(`${SET}(${existingId})`, { obx_messageid: 42 })).status).toBe(400);
    const long = await api.patch(`${SET}(${existingId})`, { obx_sessionkey: 'k'.repeat(129) });
    expect(long.status).toBe(400);
    expect((long.json['error'] as { code: string }).code).toBe('0x80044331');
  });
});

test('unknown entity set: 404 0x80060888', async () => {
  await expectUnchanged(async () => {
    const res = await api.post('obx_nothings', { a: 1 });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: { code: '0x80060888', message: "Resource not found for the segment 'obx_nothings'." } });
    expect((await api.get('obx_nothings')).status).toBe(404);
  });
});

test('malformed $filter: 400 0x80060888 with the position', async () => {
  await expectUnchanged(async () => {
    const res = await api.get(`${SET}?$filter=${encodeURIComponent("obx_messageid eq 'unterminated")}`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: '0x80060888', message: "Syntax error at position 17 in 'obx_messageid eq 'unterminated'." } });
    const bulk = await api.get(`${SET}?$filter=${encodeURIComponent('(obx_attempts eq 1')}`);
    expect(bulk.status).toBe(400);
  });
});

test('malformed multipart: 400 and no part runs', async () => {
  await expectUnchanged(async () => {
    const part = `--batch_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nPOST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"name":"Should Not Exist"}\r\n`;
    // The closing delimiter is missing: the whole batch is refused before anything runs.
    const res = await api.request('POST', '$batch', { rawBody: part, headers: { 'Content-Type': 'multipart/mixed; boundary=batch_x' } });
    expect(res.status).toBe(400);
    expect((res.json['error'] as { code: string; message: string }).code).toBe('0x80048d19');
    expect((res.json['error'] as { message: string }).message).toContain("'--batch_x--' was not found");
    const noBoundary = await api.request('POST', '$batch', { rawBody: part, headers: { 'Content-Type': 'multipart/mixed' } });
    expect(noBoundary.status).toBe(400);
    const badLine = `--batch_x\r\nContent-Type: application/http\r\n\r\nFETCH accounts\r\n\r\n--batch_x--\r\n`;
    expect((await api.request('POST', '$batch', { rawBody: badLine, headers: { 'Content-Type': 'multipart/mixed; boundary=batch_x' } })).status).toBe(400);
  });
});

test('oversize payload: 413 and nothing written', async () => {
  await expectUnchanged(async () => {
    const res = await api.post(SET, outboxRow('too-big', { obx_payload: 'x'.repeat(100 * 1024) }));
    expect(res.status).toBe(413);
    expect((res.json['error'] as { message: string }).message).toBe('The request body exceeds the maximum allowed size of 65536 bytes.');
  });
  // The connection and the server stay usable.
  expect((await api.get('WhoAmI')).status).toBe(200);
});
