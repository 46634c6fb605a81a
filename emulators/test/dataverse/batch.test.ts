// Conformance: $batch (Microsoft Learn: "Execute batch operations using the Web API"): change sets are atomic,
// Content-ID references, continue-on-error, responses in the multipart format.
import { OutboxMessage } from '@dataverse-outbox/contract';
import type { DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { outboxRow, startEmulator, type WebApi } from './support';

const SET = OutboxMessage.entitySetName;
let emulator: DataverseEmulator;
let api: WebApi;

beforeAll(async () => {
  ({ emulator, api } = await startEmulator());
});
afterAll(async () => {
  await emulator.close();
});

interface Req {
  method: string;
  url: string;
  body?: unknown;
  contentId?: string;
  headers?: Record<string, string>;
}

function httpPart(r: Req): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (r.contentId) lines.push(`Content-ID: ${r.contentId}`);
  lines.push('', `${r.method} ${r.url} HTTP/1.1`);
  if (r.body !== undefined) lines.push('Content-Type: application/json; type=entry');
  for (const [k, v] of Object.entries(r.headers ?? {})) lines.push(`${k}: ${v}`);
  lines.push('', r.body !== undefined ? JSON.stringify(r.body) : '');
  return lines.join('\r\n');
}

function batchBody(boundary: string, items: (Req | Req[])[]): string {
  let out = '';
  items.forEach((item, i) => {
    out += `--${boundary}\r\n`;
    if (Array.isArray(item)) {
      const cs = `changeset_${i}`;
      out += `Content-Type: multipart/mixed; boundary=${cs}\r\n\r\n`;
      for (const r of item) out += `--${cs}\r\n${httpPart(r)}\r\n`;
      out += `--${cs}--\r\n`;
    } else out += `${httpPart(item)}\r\n`;
  });
  return `${out}--${boundary}--\r\n`;
}

async function postBatch(items: (Req | Req[])[], prefer?: string): Promise<{ status: number; contentType: string; text: string; statuses: number[] }> {
  const boundary = 'batch_test';
  const res = await api.request('POST', '$batch', {
    rawBody: batchBody(boundary, items),
    headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}`, ...(prefer ? { Prefer: prefer } : {}) },
  });
  const statuses = [...res.text.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: res.text, statuses };
}

test('a change set commits all its requests and answers in a nested changesetresponse with Content-IDs', async () => {
  const res = await postBatch([
    [
      { method: 'POST', url: `/api/data/v9.2/accounts`, body: { name: 'Fabrikam' }, contentId: '1' },
      { method: 'POST', url: `${emulator.apiUrl}${SET}`, body: outboxRow('batch-ok', { obx_sourceentity: 'account' }), contentId: '2' },
    ],
  ]);
  expect(res.status).toBe(200);
  expect(res.contentType).toMatch(/^multipart\/mixed; boundary=batchresponse_/);
  expect(res.text).toMatch(/Content-Type: multipart\/mixed; boundary=changesetresponse_/);
  expect(res.text).toMatch(/Content-ID: 1\r\n/);
  expect(res.statuses).toEqual([204, 204]);
  expect(await api.rows(SET, "$filter=obx_messageid eq 'batch-ok'")).toHaveLength(1);
  expect(await api.rows('accounts', "$filter=name eq 'Fabrikam'")).toHaveLength(1);
});

test('a change set whose second request fails leaves no trace of the first (atomic change set)', async () => {
  await api.create(SET, outboxRow('taken'));
  const res = await postBatch([
    [
      { method: 'POST', url: 'accounts', body: { name: 'Ghost Ltd' }, contentId: '1' },
      { method: 'POST', url: SET, body: outboxRow('taken'), contentId: '2' },
    ],
  ]);
  // Without continue-on-error Dataverse answers the whole batch 400 Bad Request, its body ending with the failure.
  expect(res.status).toBe(400);
  expect(res.statuses).toEqual([412]);
  expect(res.text).toContain('0x80040237');
  expect(await api.rows('accounts', "$filter=name eq 'Ghost Ltd'")).toHaveLength(0);
});

test('Content-ID references: $1 in a later URL and in @odata.bind', async () => {
  const res = await postBatch([
    [
      { method: 'POST', url: 'accounts', body: { name: 'Parent Co' }, contentId: '1' },
      { method: 'POST', url: 'contacts', body: { lastname: 'Lee', 'parentcustomerid_account@odata.bind': '$1' }, contentId: '2' },
      { method: 'PATCH', url: '$1', body: { telephone1: '555-0100' }, contentId: '3' },
    ],
  ]);
  expect(res.statuses).toEqual([204, 204, 204]);
  const account = (await api.rows('accounts', "$filter=name eq 'Parent Co'&$select=telephone1"))[0] as Record<string, unknown>;
  expect(account['telephone1']).toBe('555-0100');
  const contacts = await api.rows('contacts', `$filter=_parentcustomerid_value eq ${String(account['accountid'])}&$select=fullname`);
  expect(contacts.map((c) => c['fullname'])).toEqual(['Lee']);
});

test('without continue-on-error the batch stops at the first failure; with it, it goes on', async () => {
  const items: Req[] = [
    { method: 'GET', url: `${SET}(obx_messageid='does-not-exist')` },
    { method: 'POST', url: 'accounts', body: { name: 'After Failure' } },
  ];
  const stop = await postBatch(items);
  expect(stop.statuses).toEqual([404]);
  expect(await api.rows('accounts', "$filter=name eq 'After Failure'")).toHaveLength(0);
  const cont = await postBatch(items, 'odata.continue-on-error');
  expect(cont.statuses).toEqual([404, 204]);
  expect(await api.rows('accounts', "$filter=name eq 'After Failure'")).toHaveLength(1);
});

test('GET outside change sets returns JSON bodies inside the multipart response', async () => {
  await api.create(SET, outboxRow('batch-get'));
  const res = await postBatch([{ method: 'GET', url: `${SET}(obx_messageid='batch-get')?$select=obx_messageid` }]);
  expect(res.statuses).toEqual([200]);
  expect(res.text).toContain('"obx_messageid":"batch-get"');
});

test('a batch counts as one request for the service protection request limit', async () => {
  emulator.resetRequestCounters();
  await postBatch([[{ method: 'POST', url: 'accounts', body: { name: 'One' } }, { method: 'POST', url: 'accounts', body: { name: 'Two' } }]]);
  const counters = emulator.getRequestCounters();
  expect(counters.total.requests).toBe(1);
  expect(counters.total.recordsWritten).toBe(2);
  expect(counters.total.byOperation['POST $batch']).toBe(1);
});
