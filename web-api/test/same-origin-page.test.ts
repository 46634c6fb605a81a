// What a page inside the app needs of the client: its Web API root (absolute, or the same-origin path resolved against
// the page), the session cookie sent ('same-origin' credentials, no token), one try per request when asked, and the
// key and URL checks refusing control characters without ES2018 regex syntax (the web resources are ES2017). Against
// the Dataverse emulator over a real socket.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { DataverseClient, DataverseError, httpUrlProblem, webApiRootParts } from '../src';

let dv: DataverseEmulator;
const sent: { url: string; init: RequestInit | undefined }[] = [];

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

it('reads a Web API root: absolute, or same-origin against the page; anything else is refused unseen', () => {
  expect(webApiRootParts('https://contoso.crm.dynamics.com/api/data/v9.2/')).toEqual({ url: 'https://contoso.crm.dynamics.com', apiVersion: '9.2' });
  expect(webApiRootParts('/api/data/v9.1', 'https://contoso.crm4.dynamics.com/main.aspx?appid=1')).toEqual({ url: 'https://contoso.crm4.dynamics.com', apiVersion: '9.1' });
  expect(() => webApiRootParts('/api/data/v9.2/')).toThrow('needs the page URL');
  expect(() => webApiRootParts('https://contoso.crm.dynamics.com/')).toThrow('does not end in /api/data/v<version>/');
  expect(() => webApiRootParts('https://user:secret@contoso.crm.dynamics.com/api/data/v9.2/')).toThrow(/user name or password/);
  expect(() => webApiRootParts('https://user:secret@contoso.crm.dynamics.com/api/data/v9.2/')).not.toThrow(/secret/);
});

it('control characters (C0, DEL, C1) are refused in a base URL and in an alternate key', async () => {
  for (const control of ['\u0000', '\u001f', '\u007f', '\u0085', '\u009f']) {
    expect(httpUrlProblem(`https://contoso${control}.crm.dynamics.com`)).toBe('it contains white space or control characters');
  }
  expect(httpUrlProblem('https://contoso.crm.dynamics.com')).toBeUndefined();
  const client = new DataverseClient(dv.url, { token: 't' });
  await expect(client.retrieve(OutboxMessage.entitySetName, "obx_messageid='a\u0085b'")).rejects.toThrow(/row id/);
  // A key without control characters still reaches Dataverse (and is not there).
  await expect(client.retrieve(OutboxMessage.entitySetName, "obx_messageid='a\u00e9b'")).resolves.toBeUndefined();
});

it("a same-origin page sends 'same-origin' credentials and no token, and fails at once when asked for no retries", async () => {
  const pageFetch: typeof fetch = (input, init) => {
    sent.push({ url: String(input), init });
    // The emulator wants a token where the app would take the session cookie.
    return fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), Authorization: 'Bearer page' } });
  };
  const client = new DataverseClient(dv.url, null, { fetch: pageFetch, credentials: 'same-origin', userAgent: null, retryOptions: { maxRetries: 0, retryUnreachable: false } });
  const { id } = await client.create(OutboxMessage.entitySetName, { [OutboxMessage.columns.name]: 'page', [OutboxMessage.columns.messageId]: `m-${Date.now()}`, [OutboxMessage.columns.target]: 'q', [OutboxMessage.columns.status]: OutboxStatus.Failed });
  expect(sent[0]?.init?.credentials).toBe('same-origin');
  expect((sent[0]?.init?.headers as Record<string, string>).Authorization).toBeUndefined();
  expect((sent[0]?.init?.headers as Record<string, string>)['User-Agent']).toBeUndefined();

  sent.length = 0;
  dv.injectFault({ kind: '429', count: 1, retryAfterSeconds: 1, entitySet: OutboxMessage.entitySetName });
  const error = await client.retrieve(OutboxMessage.entitySetName, id).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DataverseError);
  expect((error as DataverseError).code).toBe('Throttled');
  expect(sent).toHaveLength(1);
});
