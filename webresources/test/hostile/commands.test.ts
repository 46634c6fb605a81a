// Hostile input to the command bar's Retry / Replay / Cancel: ids a ribbon or a script should never pass, answers no
// Dataverse should give (unusable ETags, errors with markup), thousands of selected rows. One Dataverse emulator over
// HTTP for the file. Each case asserts its specific outcome AND that the good rows of the same run were changed.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { startDataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { describeValue, InvalidIdentifierError } from '@dataverse-outbox/contract';
import { runCommand, summarise, WebApiRowStore, type CommandEnvironment, type CommandRun, type OutboxRowStore, type RowResult } from '../../src';
import { MemoryRowStore } from '../support/memory-row-store';

const col = OutboxMessage.columns;
const { Pending, Failed, Cancelled } = OutboxStatus;
const token = 'hostile-commands-token';

let emulator: { url: string; close(): Promise<void> | void };
let api: string;
/** Rewrites Dataverse's answer to a GET of one row (a hostile or broken server); undefined = answer as it is. */
let rewriteRead: Map<string, (body: Record<string, unknown>) => Response>;
let requestedUrls: string[];

async function request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(api + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'Content-Type': 'application/json', Prefer: 'return=representation' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function row(status: number): Promise<string> {
  const created = await request('POST', OutboxMessage.entitySetName, { [col.name]: 'hostile', [col.messageId]: `m-${Math.random()}`, [col.target]: 'q', [col.status]: status });
  return String(created[OutboxMessage.primaryIdAttribute]);
}

async function statusOf(id: string): Promise<unknown> {
  return (await request('GET', `${OutboxMessage.entitySetName}(${id})?$select=${col.status}`))[col.status];
}

const serverFetch: typeof fetch = async (input, init) => {
  const url = input instanceof URL ? input.href : typeof input === 'string' ? input : input.url;
  requestedUrls.push(`${init?.method ?? 'GET'} ${url}`);
  const response = await fetch(input, init);
  const id = /\(([^)]+)\)/.exec(url)?.[1] ?? '';
  const rewrite = (init?.method ?? 'GET') === 'GET' ? rewriteRead.get(id) : undefined;
  return rewrite ? rewrite((await response.json()) as Record<string, unknown>) : response;
};

function environment(store: OutboxRowStore = new WebApiRowStore({ baseUrl: api, fetch: serverFetch, headers: { Authorization: `Bearer ${token}` } })): CommandEnvironment {
  return { store, confirm: async () => true, alert: async () => undefined, showProgress: () => undefined, closeProgress: () => undefined, progressThreshold: 5, concurrency: 4 };
}

/** Retries two good Failed rows plus the hostile ids; both good rows must be Pending afterwards. */
async function retryWithGoodRows(hostile: unknown[]): Promise<{ run: CommandRun; bad: RowResult[] }> {
  const good = [await row(Failed), await row(Failed)];
  const run = await runCommand('retry', [good[0], ...hostile, good[1]], environment());
  expect(run.results.filter((r) => good.includes(r.id))).toEqual(good.map((id) => ({ id, outcome: 'done' })));
  for (const id of good) expect(await statusOf(id)).toBe(Pending);
  return { run, bad: run.results.filter((r) => !good.includes(r.id)) };
}

beforeAll(async () => {
  emulator = await startDataverseEmulator({ port: 0 });
  api = `${emulator.url.replace(/\/+$/, '')}/api/data/v9.2/`;
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(() => {
  rewriteRead = new Map();
  requestedUrls = [];
});

const badIds: Array<[string, unknown, string]> = [
  ['an OData injection', "00000000-0000-4000-8000-000000000001 or obx_status eq 612000000", describeValue("00000000-0000-4000-8000-000000000001 or obx_status eq 612000000")],
  ['a path escape', "00000000-0000-4000-8000-000000000001)/../accounts(", '"00000000-0000-4000-8000-000000000001)/../accounts("'],
  ['a 1 MB id', 'f'.repeat(1_048_576), `"${'f'.repeat(60)}…" (1048576 characters)`],
  ['a number', 612000000, 'number'],
  ['an object', { id: '00000000-0000-4000-8000-000000000001' }, 'object'],
  ['a GUID with a NUL inside', '00000000-0000-4000-8000-00000000\u00000001', '"00000000-0000-4000-8000-00000000\\u00000001"'],
];

describe.each(badIds)('hostile: a selection holding %s', (_label, id, shown) => {
  it('hostile: is reported as not a row id, never sent to Dataverse, and the good rows are retried', async () => {
    const { bad } = await retryWithGoodRows([id]);
    expect(bad).toEqual([{ id: shown, outcome: 'invalid', detail: 'not a row id (must be a GUID); nothing was changed for it' }]);
    // Only the two good rows were addressed (one read and one write each).
    expect(requestedUrls).toHaveLength(4);
  });
});

it('hostile: the same row selected as {UPPER}, lower and with spaces is changed once', async () => {
  const id = await row(Failed);
  const { run } = await retryWithGoodRows([`{${id.toUpperCase()}}`, id, ` ${id} `]);
  expect(run.results.filter((r) => r.id === id)).toEqual([{ id, outcome: 'done' }]);
  expect(requestedUrls.filter((u) => u.startsWith('PATCH') && u.includes(id))).toHaveLength(1);
});

const badEtags: Array<[string, unknown]> = [
  ['the wildcard *', '*'],
  ['no ETag', undefined],
  ['a CR LF header injection', 'W/"1"\r\nX-Injected: yes'],
  ['an ETag list', 'W/"1",W/"2"'],
];

describe.each(badEtags)('hostile: Dataverse answers with %s as the row ETag', (_label, etag) => {
  it('hostile: the row is not written (no forced update) and the good rows are retried', async () => {
    const id = await row(Failed);
    rewriteRead.set(id, (body) => new Response(JSON.stringify({ ...body, '@odata.etag': etag }), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    const { bad } = await retryWithGoodRows([id]);
    expect(bad).toEqual([{ id, outcome: 'failed', detail: expect.stringMatching(/^Dataverse returned no usable version \(ETag\) for this row, so it was not changed/) }]);
    expect(await statusOf(id)).toBe(Failed);
    expect(requestedUrls.filter((u) => u.startsWith('PATCH') && u.includes(id))).toEqual([]);
  });
});

it('hostile: a row read answered with a 500 carrying markup fails alone with that message as text', async () => {
  const id = await row(Failed);
  rewriteRead.set(id, () => new Response(JSON.stringify({ error: { code: '0x80040216', message: '<script>alert(1)</script>' } }), { status: 500, headers: { 'Content-Type': 'application/json' } }));
  const { bad } = await retryWithGoodRows([id]);
  expect(bad).toEqual([{ id, outcome: 'failed', detail: `Reading outbox row ${id} failed (500: <script>alert(1)</script>)` }]);
  expect(await statusOf(id)).toBe(Failed);
});

it('hostile: a row read answered with HTML instead of JSON fails alone', async () => {
  const id = await row(Failed);
  rewriteRead.set(id, () => new Response('<html>gateway</html>', { status: 502, headers: { 'Content-Type': 'text/html' } }));
  const { bad } = await retryWithGoodRows([id]);
  expect(bad).toEqual([{ id, outcome: 'failed', detail: expect.stringMatching(/^Reading outbox row .* failed \(502/) }]);
});

it('hostile: a row deleted after it was selected is reported missing and not re-created', async () => {
  const id = await row(Failed);
  await fetch(`${api}${OutboxMessage.entitySetName}(${id})`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  const { bad } = await retryWithGoodRows([id]);
  expect(bad).toEqual([{ id, outcome: 'missing', detail: 'the row no longer exists' }]);
  expect((await fetch(`${api}${OutboxMessage.entitySetName}(${id})`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(404);
});

it('hostile: the enable rule statuses read refuses a non-GUID id before building $filter', async () => {
  const store = new WebApiRowStore({ baseUrl: api, fetch: serverFetch, headers: { Authorization: `Bearer ${token}` } });
  const good = await row(Failed);
  await expect(store.statuses([good, "x') or (true"])).rejects.toBeInstanceOf(InvalidIdentifierError);
  expect(requestedUrls).toEqual([]);
  await expect(store.statuses([good])).resolves.toEqual(new Map([[good, Failed]]));
});

it('hostile: 2,000 selected rows with a few bad ones: every good row is cancelled and the summary stays short', async () => {
  const memory = new MemoryRowStore();
  const ids = Array.from({ length: 2000 }, (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`);
  ids.forEach((id) => memory.add(id, Pending));
  memory.failOn.add(ids[10]);
  memory.rows.delete(ids[20]);
  const run = await runCommand('cancel', [...ids, 'not-a-guid'], environment(memory));
  expect(run.results).toHaveLength(2001);
  expect(run.results.filter((r) => r.outcome === 'done')).toHaveLength(1998);
  expect([...memory.rows.values()].filter((r) => r.status === Cancelled)).toHaveLength(1998);
  const text = summarise('cancel', run.results);
  expect(text.split('\n')[0]).toBe('Cancel: 1998 done, 1 missing, 1 failed, 1 invalid.');
  expect(text.split('\n').length).toBeLessThanOrEqual(17);
});
