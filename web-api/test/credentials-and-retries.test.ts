// Bearer tokens and waits in the one place the product keeps them, against the Dataverse emulator over a real socket:
// a credential is asked once and refreshed before it expires, a same-origin page sends none, a token a header cannot
// carry is refused without being shown, and 429/503 wait as Retry-After says (capped), reported through onRetry.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient, type DataverseRetryInfo } from '../src';
import { failureOf } from './support/failureOf';

let dv: DataverseEmulator;
const sent: { url: string; headers: Headers }[] = [];
const recordingFetch: typeof fetch = (input, init) => {
  sent.push({ url: String(input), headers: new Headers(init?.headers) });
  return fetch(input, init);
};

beforeAll(async () => {
  dv = await startDataverseEmulator({ port: 0 });
});
afterAll(async () => {
  await dv.close();
});
afterEach(() => {
  dv.clearFaults();
  sent.length = 0;
});

test('a token credential is asked once for <url>/.default and sent as a bearer token; one near expiry is asked again', async () => {
  const scopes: (string | string[])[] = [];
  const credential = (lifetimeMs: number) => ({ getToken: (scope: string | string[]) => (scopes.push(scope), Promise.resolve({ token: `t${scopes.length}`, expiresOnTimestamp: Date.now() + lifetimeMs })) });
  const client = new DataverseClient(dv.url, credential(60 * 60_000), { fetch: recordingFetch });
  await client.retrieveMultiple('accounts', { top: 1 });
  await client.retrieveMultiple('accounts', { top: 1 });
  expect(scopes).toEqual([`${dv.url}/.default`]);
  expect(sent.map((s) => s.headers.get('authorization'))).toEqual(['Bearer t1', 'Bearer t1']);
  // A token within five minutes of expiry is not reused: the next call asks for a fresh one.
  const nearExpiry = new DataverseClient(dv.url, credential(60_000), { fetch: recordingFetch });
  await nearExpiry.retrieveMultiple('accounts', { top: 1 });
  await nearExpiry.retrieveMultiple('accounts', { top: 1 });
  expect(scopes).toHaveLength(3);
  expect(sent.map((s) => s.headers.get('authorization'))).toEqual(['Bearer t1', 'Bearer t1', 'Bearer t2', 'Bearer t3']);
});

test('a null credential (a same-origin page) sends no Authorization header: the emulator answers 401 as Dataverse does', async () => {
  const client = new DataverseClient(dv.url, null, { fetch: recordingFetch, userAgent: null });
  const error = await failureOf(client.retrieveMultiple('accounts', { top: 1 }));
  expect([error.code, error.statusCode]).toEqual(['Unauthorized', 401]);
  expect(sent).toHaveLength(1);
  expect(sent[0]!.headers.has('authorization')).toBe(false);
  expect(sent[0]!.headers.has('user-agent')).toBe(false);
});

test('a token a header cannot carry is refused before anything is sent, and never shown', async () => {
  const secret = 'abc\r\nX-Injected: yes';
  const fromCredential = new DataverseClient(dv.url, { getToken: () => Promise.resolve({ token: secret, expiresOnTimestamp: Date.now() + 3_600_000 }) }, { fetch: recordingFetch });
  const error = await failureOf(fromCredential.retrieveMultiple('accounts', { top: 1 }));
  expect(error.code).toBe('Unauthorized');
  expect(error.message).not.toContain('abc');
  const staticToken = await failureOf(new DataverseClient(dv.url, { token: secret }, { fetch: recordingFetch }).retrieveMultiple('accounts'));
  expect(staticToken.code).toBe('Unauthorized');
  expect(staticToken.message).not.toContain('abc');
  expect(sent).toHaveLength(0);
});

test('429: waits exactly Retry-After (no jitter), reports each wait, and after the last retry throws Throttled with Retry-After', async () => {
  const retries: DataverseRetryInfo[] = [];
  const client = new DataverseClient(dv.url, { token: 'retry' }, { retryOptions: { maxRetries: 1 }, onRetry: (i) => retries.push(i) });
  dv.injectFault({ kind: '429', count: 1, retryAfterSeconds: 1, entitySet: 'accounts' });
  const started = Date.now();
  await client.retrieveMultiple('accounts', { top: 1 });
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  expect(retries.map((r) => [r.retry, r.maxRetries, r.waitInMs, r.error.code])).toEqual([[1, 1, 1000, 'Throttled']]);

  // A long Retry-After is capped by maxRetryDelayInMs; once retries run out the error keeps what the server asked.
  const capped = new DataverseClient(dv.url, { token: 'retry' }, { retryOptions: { maxRetries: 1, maxRetryDelayInMs: 50 } });
  dv.injectFault({ kind: '429', count: 2, retryAfterSeconds: 30, entitySet: 'accounts' });
  const throttled = await failureOf(capped.retrieveMultiple('accounts', { top: 1 }));
  expect([throttled.code, throttled.statusCode, throttled.retryAfterInMs]).toEqual(['Throttled', 429, 30_000]);
});

test('503 is resent even for a create (not processed); every other refusal of a create is final', async () => {
  const retries: DataverseRetryInfo[] = [];
  const client = new DataverseClient(dv.url, { token: 'retry' }, { retryOptions: { retryDelayInMs: 10 }, onRetry: (i) => retries.push(i) });
  dv.injectFault({ kind: '503', count: 2, entitySet: OutboxMessage.entitySetName, method: 'POST' });
  const c = OutboxMessage.columns;
  const { id } = await client.create(OutboxMessage.entitySetName, { [c.name]: 'after-503', [c.messageId]: 'after-503', [c.target]: 'orders', [c.payload]: '{}' });
  expect(retries.map((r) => r.error.code)).toEqual(['ServerError', 'ServerError']);
  const row = await client.retrievePage(`${OutboxMessage.entitySetName}?$select=${c.status}&$filter=${c.messageId} eq 'after-503'`);
  expect(row.value.map((r) => r[c.id])).toEqual([id]);
  // Formatted values come with every query page (Prefer: odata.include-annotations="*").
  expect(row.value[0]![`${c.status}@OData.Community.Display.V1.FormattedValue`]).toBe('Pending');
  expect(row.value[0]![c.status]).toBe(OutboxStatus.Pending);
});
