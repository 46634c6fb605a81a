/**
 * @jest-environment node
 */
// The monitor's writes through real parts: runAction over the fetch adapter (webApiRows.ts) against the Dataverse
// emulator over HTTP. "The publisher" and "the ack listener" change rows between the operator's read and write: the
// write carries the row's ETag, gets 412, and the row keeps what they wrote.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { runAction, type ActionTarget } from '../OutboxMonitor/core/runAction';
import { createWebApiRows, webApiBaseOf } from '../OutboxMonitor/webApiRows';

const c = OutboxMessage.columns;
const S = OutboxStatus;
const token = 'monitor-conditional-test';

let dataverse: DataverseEmulator;
/** PATCH requests the monitor sent, with their If-Match header. */
let patches: Array<{ id: string; ifMatch: string | null }>;
/** Runs once, right before the monitor's next PATCH of that row reaches Dataverse (another writer gets in first). */
let beforePatch: Map<string, () => Promise<void>>;

async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${dataverse.apiUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'Content-Type': 'application/json', Prefer: 'return=representation' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function createRow(name: string, status: number, extra: Record<string, unknown> = {}): Promise<ActionTarget> {
  const row = await api('POST', OutboxMessage.entitySetName, { [c.name]: name, [c.messageId]: `msg-${name}`, [c.target]: 'erp-orders', [c.status]: status, ...extra });
  return { id: String(row[OutboxMessage.primaryIdAttribute]), name, seenStatus: status };
}

async function stored(id: string): Promise<Record<string, unknown>> {
  return api('GET', `${OutboxMessage.entitySetName}(${id})`);
}

/** Another writer (publisher, ack listener) updating a row unconditionally, as they do. */
function otherWriter(id: string, changes: Record<string, unknown>): () => Promise<void> {
  return async () => {
    await api('PATCH', `${OutboxMessage.entitySetName}(${id})`, changes);
  };
}

// The page's fetch: in a model-driven app the session cookie authenticates; here the token plays that part.
const pageFetch: typeof fetch = async (input, init) => {
  const url = input instanceof URL ? input.href : typeof input === 'string' ? input : input.url;
  const headers: Record<string, string> = { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${token}` };
  if (init?.method === 'PATCH') {
    const id = /\(([^)]+)\)/.exec(url)?.[1] ?? '';
    patches.push({ id, ifMatch: headers['If-Match'] ?? null });
    const first = beforePatch.get(id);
    beforePatch.delete(id);
    await first?.();
  }
  return fetch(input, { ...init, headers });
};

const rows = () => createWebApiRows({ apiBase: dataverse.apiUrl, fetch: pageFetch });

beforeAll(async () => {
  dataverse = await startDataverseEmulator({ port: 0 });
});

afterAll(async () => {
  await dataverse?.close();
});

beforeEach(() => {
  patches = [];
  beforePatch = new Map();
});

it('cancel races the publisher: 412, shown as a conflict, the row stays Published; the other rows are cancelled', async () => {
  const racing = await createRow('racing', S.Pending);
  const others: [ActionTarget, ActionTarget] = [await createRow('other-1', S.Pending), await createRow('other-2', S.Failed)];
  beforePatch.set(racing.id, otherWriter(racing.id, { [c.status]: S.Published, [c.publishedOn]: new Date().toISOString(), [c.attempts]: 1 }));

  const results = await runAction(rows(), 'cancel', [others[0], racing, others[1]]);

  expect(results.map((r) => [r.name, r.outcome, r.message])).toEqual([
    ['other-1', 'done', 'cancelled'],
    ['racing', 'conflict', 'this row changed since you opened it: now Published; refresh and try again'],
    ['other-2', 'done', 'cancelled'],
  ]);
  expect((await stored(racing.id))[c.status]).toBe(S.Published);
  expect((await stored(racing.id))[c.attempts]).toBe(1);
  for (const other of others) expect((await stored(other.id))[c.status]).toBe(S.Cancelled);
  // Every write was conditional on the version read with the row; none was forced.
  expect(patches).toHaveLength(3);
  for (const patch of patches) expect(patch.ifMatch).toMatch(/^W\/"\d+"$/);
});

it('replay races the ack listener: the Acked row is not sent back to Pending', async () => {
  const published = await createRow('published', S.Published, { [c.replayCount]: 0 });
  beforePatch.set(published.id, otherWriter(published.id, { [c.status]: S.Acked, [c.ackedOn]: new Date().toISOString() }));
  const [result] = await runAction(rows(), 'replay', [published]);
  expect(result).toEqual(expect.objectContaining({ outcome: 'conflict', ok: false, message: 'this row changed since you opened it: now Acked; refresh and try again' }));
  const row = await stored(published.id);
  expect(row[c.status]).toBe(S.Acked);
  expect(row[c.replayCount]).toBe(0);
});

it('a row that moved on between the grid and the action is not written at all', async () => {
  const failed = await createRow('failed-then-retried-elsewhere', S.Failed);
  await otherWriter(failed.id, { [c.status]: S.Pending, [c.attempts]: 0 })();
  const [result] = await runAction(rows(), 'cancel', [failed]);
  expect(result?.outcome).toBe('conflict');
  expect(result?.message).toBe('this row changed since you opened it: now Pending; refresh and try again');
  expect(patches).toEqual([]);
  expect((await stored(failed.id))[c.status]).toBe(S.Pending);
});

it('a row deleted meanwhile is reported, not re-created (PATCH would upsert without If-Match)', async () => {
  const gone = await createRow('deleted', S.Failed);
  beforePatch.set(gone.id, async () => {
    await fetch(`${dataverse.apiUrl}${OutboxMessage.entitySetName}(${gone.id})`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  });
  const [result] = await runAction(rows(), 'retry', [gone]);
  expect(result).toEqual(expect.objectContaining({ outcome: 'missing', message: 'not changed: the row no longer exists' }));
  const response = await fetch(`${dataverse.apiUrl}${OutboxMessage.entitySetName}(${gone.id})`, { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status).toBe(404);
});

it('retry and replay write what the command bar writes, conditionally', async () => {
  const failed = await createRow('failed', S.Failed, { [c.attempts]: 10, [c.lastError]: 'boom' });
  const dead = await createRow('dead', S.DeadLettered, { [c.replayCount]: 2 });
  expect((await runAction(rows(), 'retry', [failed]))[0]?.outcome).toBe('done');
  expect((await runAction(rows(), 'replay', [dead]))[0]?.outcome).toBe('done');
  expect(await stored(failed.id)).toEqual(expect.objectContaining({ [c.status]: S.Pending, [c.attempts]: 0, [c.nextAttemptOn]: null }));
  expect(await stored(dead.id)).toEqual(expect.objectContaining({ [c.status]: S.Pending, [c.replayCount]: 3 }));
});

it('finds the Web API under the app client URL, else on the page origin', () => {
  expect(webApiBaseOf({ page: { getClientUrl: () => 'https://contoso.crm.dynamics.com/' } })).toBe('https://contoso.crm.dynamics.com/api/data/v9.2/');
  expect(webApiBaseOf({})).toBe('/api/data/v9.2/');
  expect(webApiBaseOf({ page: { getClientUrl: () => 'javascript:alert(1)' } })).toBe('/api/data/v9.2/');
});
