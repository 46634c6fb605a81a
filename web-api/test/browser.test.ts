// The browser path: the package bundled by esbuild as an ES2017 IIFE (as a web resource or a host page would bundle it)
// runs in a real chromium on a page of the Dataverse emulator's origin, so the page's own fetch, Headers, AbortSignal
// and Web Crypto carry the calls: paging, ETags, change sets, a 400 batch and Retry-After.
import path from 'node:path';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

type WebApi = typeof import('../src');

let dv: DataverseEmulator;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
  const bundle = await build({
    entryPoints: [path.join(__dirname, '..', 'src', 'index.ts')],
    bundle: true,
    format: 'iife',
    globalName: 'DataverseWebApi',
    platform: 'browser',
    target: 'es2017',
    write: false,
    conditions: ['development'],
    logLevel: 'silent',
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Any page of the emulator's origin (it answers 401 without a token): the client's calls are then same-origin.
  await page.goto(`${dv.url}/`);
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await dv?.close();
});

test('in chromium: pages, ETags, change sets and a 400 batch through the page\'s fetch', async () => {
  const result = await page.evaluate(async ({ origin, outboxSet }) => {
    const { DataverseClient, isDataverseError } = (globalThis as unknown as { DataverseWebApi: WebApi }).DataverseWebApi;
    const client = new DataverseClient(origin, { token: 'browser' }, { userAgent: null, retryOptions: { retryDelayInMs: 20, maxRetries: 2 } });
    const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'no error', (e: unknown) => (isDataverseError(e) ? `${e.code} ${e.statusCode ?? ''} ${e.contentId ?? ''}`.trim() : String(e)));

    await client.createMultiple('accounts', 'account', ['b-1', 'b-2', 'b-3', 'b-4', 'b-5'].map((name) => ({ name })));
    const names: string[] = [];
    for await (const row of client.listAll('accounts', { select: ['name'], filter: "startswith(name,'b-')", maxPageSize: 2 })) names.push(String(row.name));

    const { id } = await client.create('accounts', { name: 'b-etag' });
    const etag = String((await client.retrieve('accounts', id))!['@odata.etag']);
    await client.update('accounts', id, { name: 'b-etag-2' }, { ifMatch: etag });
    const stale = await codeOf(client.update('accounts', id, { name: 'b-etag-3' }, { ifMatch: etag }));

    const changeSet = await client.executeChangeSet([
      { method: 'POST', url: 'accounts', body: { name: 'b-cs' } },
      { method: 'PATCH', url: '$1', body: { name: 'b-cs-2' } },
    ]);
    const refused = await codeOf(
      client.executeChangeSet([
        { method: 'POST', url: 'accounts', body: { name: 'b-ghost' } },
        { method: 'PATCH', url: 'accounts(00000000-0000-0000-0000-0000000000ee)', headers: { 'If-Match': '*' }, body: { name: 'x' } },
      ]),
    );
    const ghosts = (await client.retrieveMultiple('accounts', { filter: "name eq 'b-ghost'" })).value.length;
    const outbox = await client.retrievePage(`${outboxSet}?$top=1`);
    return { names: names.sort(), stale, changeSet: changeSet.map((r) => r.status), refused, ghosts, outboxRows: outbox.value.length };
  }, { origin: dv.url, outboxSet: OutboxMessage.entitySetName });

  expect(result).toEqual({
    names: ['b-1', 'b-2', 'b-3', 'b-4', 'b-5'],
    stale: 'PreconditionFailed 412',
    changeSet: [204, 204],
    refused: 'NotFound 404 2',
    ghosts: 0,
    outboxRows: 0,
  });
  expect(pageErrors).toEqual([]);
});

test('in chromium: a 429 waits as Retry-After says, then the call succeeds', async () => {
  dv.injectFault({ kind: '429', count: 1, retryAfterSeconds: 1, entitySet: 'accounts' });
  const result = await page.evaluate(async (origin) => {
    const { DataverseClient } = (globalThis as unknown as { DataverseWebApi: WebApi }).DataverseWebApi;
    const waits: number[] = [];
    const client = new DataverseClient(origin, { token: 'browser' }, { userAgent: null, onRetry: (i) => waits.push(i.waitInMs) });
    const started = Date.now();
    const page = await client.retrieveMultiple('accounts', { top: 1 });
    return { waits, elapsed: Date.now() - started, rows: page.value.length };
  }, dv.url);
  expect(result.waits).toEqual([1000]);
  expect(result.elapsed).toBeGreaterThanOrEqual(950);
  expect(result.rows).toBe(1);
});
