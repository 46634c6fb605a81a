// The command bar's Web API row store against the Dataverse emulator over a real socket, with "the publisher" writing
// the row between the command's read and its write: the write carries the row's ETag, Dataverse answers 412, the
// operator is told the row's new status, and nothing the publisher wrote is overwritten.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { startDataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { runCommand, WebApiRowStore, type CommandEnvironment } from '../../src';

const col = OutboxMessage.columns;
const token = 'commands-emulator-token';

let emulator: { url: string; close(): Promise<void> | void };
let api: string;
let ifMatchSent: string[];
let beforePatch: Map<string, () => Promise<void>>;

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
  const created = await request('POST', OutboxMessage.entitySetName, { [col.name]: 'cmd', [col.messageId]: `m-${Math.random()}`, [col.target]: 'q', [col.status]: status });
  return String(created[OutboxMessage.primaryIdAttribute]);
}

const racingFetch: typeof fetch = async (input, init) => {
  const headers = (init?.headers ?? {}) as Record<string, string>;
  if (init?.method === 'PATCH') {
    ifMatchSent.push(headers['If-Match'] ?? '(none)');
    const url = input instanceof URL ? input.href : typeof input === 'string' ? input : input.url;
    const id = /\(([^)]+)\)/.exec(url)?.[1] ?? '';
    const first = beforePatch.get(id);
    beforePatch.delete(id);
    await first?.();
  }
  return fetch(input, init);
};

function environment(): CommandEnvironment {
  return {
    store: new WebApiRowStore({ baseUrl: api, fetch: racingFetch, headers: { Authorization: `Bearer ${token}` } }),
    confirm: async () => true,
    alert: async () => undefined,
    showProgress: () => undefined,
    closeProgress: () => undefined,
    progressThreshold: 100,
    concurrency: 2,
  };
}

beforeAll(async () => {
  emulator = await startDataverseEmulator({ port: 0 });
  api = `${emulator.url.replace(/\/+$/, '')}/api/data/v9.2/`;
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(() => {
  ifMatchSent = [];
  beforePatch = new Map();
});

it('cancel races the publisher marking the row Published: 412, reported with the new status, the row stays Published', async () => {
  const racing = await row(OutboxStatus.Pending);
  const other = await row(OutboxStatus.Pending);
  beforePatch.set(racing, async () => {
    await request('PATCH', `${OutboxMessage.entitySetName}(${racing})`, { [col.status]: OutboxStatus.Published, [col.attempts]: 1 });
  });
  const run = await runCommand('cancel', [racing, other], environment());
  expect(run.results).toEqual([
    { id: racing, outcome: 'changed', detail: 'this row changed since you opened it: now Published; refresh and try again' },
    { id: other, outcome: 'done' },
  ]);
  expect((await request('GET', `${OutboxMessage.entitySetName}(${racing})`))[col.status]).toBe(OutboxStatus.Published);
  expect((await request('GET', `${OutboxMessage.entitySetName}(${other})`))[col.status]).toBe(OutboxStatus.Cancelled);
  expect(ifMatchSent).toHaveLength(2);
  for (const sent of ifMatchSent) expect(sent).toMatch(/^W\/"\d+"$/);
});

it('replay races the ack listener: the Acked row keeps its status and replay count', async () => {
  const published = await row(OutboxStatus.Published);
  beforePatch.set(published, async () => {
    await request('PATCH', `${OutboxMessage.entitySetName}(${published})`, { [col.status]: OutboxStatus.Acked });
  });
  const run = await runCommand('replay', [published], environment());
  expect(run.results[0]).toEqual(expect.objectContaining({ outcome: 'changed', detail: 'this row changed since you opened it: now Acked; refresh and try again' }));
  const stored = await request('GET', `${OutboxMessage.entitySetName}(${published})`);
  expect([stored[col.status], stored[col.replayCount] ?? 0]).toEqual([OutboxStatus.Acked, 0]);
});
