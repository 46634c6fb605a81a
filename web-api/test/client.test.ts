// The Dataverse client against the Dataverse emulator over a real socket.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient, isDataverseError, type DataverseRequestInfo } from '../src';

let dv: DataverseEmulator;
let client: DataverseClient;
const exchanges: DataverseRequestInfo[] = [];

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  client = new DataverseClient(dv.url, { token: 'client-test' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 4 }, onResponse: (i) => exchanges.push(i) });
});
afterAll(async () => {
  await client.close();
  await dv.close();
});
afterEach(() => dv.clearFaults());

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

it('pages with odata.maxpagesize and nextLink, returning every row once', async () => {
  const ids = await client.createMultiple('accounts', 'account', Array.from({ length: 7 }, (_, i) => ({ name: `paging-${i}` })));
  expect(ids).toHaveLength(7);
  const seen: string[] = [];
  for await (const r of client.listAll('accounts', { select: ['name'], filter: "startswith(name,'paging-')", maxPageSize: 3 })) seen.push(String(r.name));
  expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `paging-${i}`));
});

it('honours ETags: a stale If-Match is a typed PreconditionFailed and changes nothing', async () => {
  const { id } = await client.create('accounts', { name: 'etag' });
  const row = await client.retrieve('accounts', id);
  const etag = String(row!['@odata.etag']);
  await client.update('accounts', id, { name: 'etag-2' }, { ifMatch: etag });
  const e = await errorOf(client.update('accounts', id, { name: 'etag-3' }, { ifMatch: etag }));
  expect(isDataverseError(e) && e.code).toBe('PreconditionFailed');
  expect(isDataverseError(e) && e.statusCode).toBe(412);
  expect((await client.retrieve('accounts', id))!.name).toBe('etag-2');
});

it('maps errors to a closed set of codes with Dataverse code and message', async () => {
  const notFound = await errorOf(client.update('accounts', '00000000-0000-0000-0000-00000000dead', { name: 'x' }, { ifMatch: '*' }));
  expect(isDataverseError(notFound) && notFound.code).toBe('NotFound');
  const bad = await errorOf(client.retrieveMultiple('accounts', { filter: 'name eq' }));
  expect(isDataverseError(bad) && bad.code).toBe('BadRequest');
  expect((bad as Error).message).toMatch(/^query accounts failed with HTTP 400 \(0x[0-9a-fA-F]+\): /);
});

it('waits as long as Retry-After says on 429, then succeeds', async () => {
  dv.injectFault({ kind: '429', count: 1, retryAfterSeconds: 2, entitySet: 'accounts' });
  const started = Date.now();
  const page = await client.retrieveMultiple('accounts', { top: 1 });
  expect(page.value.length).toBe(1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
});

it('retries idempotent requests on 503 and dropped connections, but never resends a create after a lost reply', async () => {
  dv.injectFault({ kind: '503', count: 2, entitySet: 'accounts', method: 'GET' });
  await expect(client.retrieveMultiple('accounts', { top: 1 })).resolves.toBeDefined();
  dv.injectFault({ kind: 'drop', count: 1, entitySet: 'accounts', method: 'POST', phase: 'after' });
  const lost = await errorOf(client.create('accounts', { name: 'lost-reply' }));
  expect(isDataverseError(lost) && lost.code).toBe('NetworkError');
  const rows = await client.retrieveMultiple('accounts', { filter: "name eq 'lost-reply'" });
  expect(rows.value).toHaveLength(1); // created once, not twice
});

it('stops at once when the abortSignal fires', async () => {
  dv.injectFault({ kind: '429', count: 1, retryAfterSeconds: 30, entitySet: 'accounts' });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const e = await errorOf(client.retrieveMultiple('accounts', { top: 1, abortSignal: controller.signal }));
  expect(isDataverseError(e) && e.code).toBe('Aborted');
});

it('runs a change set atomically and reports the failing request', async () => {
  const e = await errorOf(
    client.executeChangeSet([
      { method: 'POST', url: 'accounts', body: { name: 'cs-1' } },
      { method: 'PATCH', url: 'accounts(00000000-0000-0000-0000-00000000beef)', headers: { 'If-Match': '*' }, body: { name: 'cs-2' } },
    ]),
  );
  expect(isDataverseError(e) && e.code).toBe('NotFound');
  expect((await client.retrieveMultiple('accounts', { filter: "name eq 'cs-1'" })).value).toHaveLength(0);
  const ok = await client.executeChangeSet([{ method: 'POST', url: 'accounts', body: { name: 'cs-3' } }, { method: 'PATCH', url: '$1', body: { name: 'cs-4' } }]);
  expect(ok.map((r) => r.status)).toEqual([204, 204]);
  expect((await client.retrieveMultiple('accounts', { filter: "name eq 'cs-4'" })).value).toHaveLength(1);
  expect(exchanges.length).toBeGreaterThan(0);
});
