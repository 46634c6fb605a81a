// Hostile input to the monitor's operator actions and what they show: ids the grid should never give, ETags no server
// should send, huge and markup-laden values, a selection of thousands. Each case asserts its specific outcome AND that
// the good rows of the same selection still got the action.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { fireEvent, screen, within } from '@testing-library/react';
import { runAction, type ActionResult, type ActionTarget, type RowVersionPort, type VersionedRow } from '../../OutboxMonitor/core/runAction';
import { createWebApiRows } from '../../OutboxMonitor/webApiRows';
import { outboxRow } from '../fakeContext';
import { mountMonitor, settleAndCleanup } from '../harness';

const c = OutboxMessage.columns;
const S = OutboxStatus;
const wait = 15_000;

afterEach(settleAndCleanup);

declare global {
  interface Window {
    __pwned?: number;
  }
}

let seq = 0;
const guid = (): string => `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`;

/** An in-memory outbox behind the port: versions, ETags, and a record of every request (what reached "Dataverse"). */
class MemoryRows implements RowVersionPort {
  readonly rows = new Map<string, { status: unknown; replayCount: unknown; version: number }>();
  readonly requests: string[] = [];
  etagOf: (id: string, version: number) => unknown = (_id, version) => `W/"${version}"`;

  add(status: unknown, replayCount: unknown = 0): string {
    const id = guid();
    this.rows.set(id, { status, replayCount, version: 1 });
    return id;
  }

  readRow(id: string): Promise<VersionedRow | undefined> {
    this.requests.push(`GET ${id}`);
    const row = this.rows.get(id);
    return Promise.resolve(row ? { status: row.status, replayCount: row.replayCount, etag: this.etagOf(id, row.version) } : undefined);
  }

  updateIfUnchanged(id: string, etag: string, data: Record<string, unknown>): Promise<'updated' | 'changed' | 'missing'> {
    this.requests.push(`PATCH ${id} ${etag}`);
    const row = this.rows.get(id);
    if (!row) return Promise.resolve('missing');
    if (etag !== `W/"${row.version}"`) return Promise.resolve('changed');
    Object.assign(row, { status: data[c.status], replayCount: data[c.replayCount] ?? row.replayCount, version: row.version + 1 });
    return Promise.resolve('updated');
  }
}

/** Two good Failed rows around the hostile one: both must be retried whatever happens to it. */
async function retryAround(store: MemoryRows, hostile: ActionTarget): Promise<{ bad: ActionResult; good: ActionResult[] }> {
  const before = store.add(S.Failed);
  const after = store.add(S.Failed);
  const results = await runAction(store, 'retry', [
    { id: before, name: 'good before', seenStatus: S.Failed },
    hostile,
    { id: after, name: 'good after', seenStatus: S.Failed },
  ]);
  const good = [results[0], results[2]];
  for (const [i, id] of [before, after].entries()) {
    expect(good[i]).toEqual(expect.objectContaining({ outcome: 'done', message: 'queued again' }));
    expect(store.rows.get(id)?.status).toBe(S.Pending);
  }
  return { bad: results[1], good };
}

const badIds: Array<[string, unknown]> = [
  ['an OData injection instead of an id', "1 or obx_status eq 612000000"],
  ['a path escape after a real id', '00000000-0000-4000-8000-000000000001)/../accounts('],
  ['an empty id', ''],
  ['a 100,000-character id', 'a'.repeat(100_000)],
  ['a non-string id from a broken host', 42],
];

describe.each(badIds)('hostile: the grid gives %s', (_label, id) => {
  it('hostile: is refused as "not a row id" before any request, and the other rows are retried', async () => {
    const store = new MemoryRows();
    const { bad } = await retryAround(store, { id: id as string, name: 'bad id', seenStatus: S.Failed });
    expect(bad.outcome).toBe('failed');
    expect(bad.message).toMatch(/^not changed: the grid gave an id that is not a row id \(/);
    expect(bad.message.length).toBeLessThan(200);
    // Only the two good rows were read and written: nothing was sent for the bad id.
    expect(store.requests).toHaveLength(4);
  });
});

const badEtags: Array<[string, unknown]> = [
  ['no ETag at all', undefined],
  ['the wildcard *', '*'],
  ['a header injection (CR LF)', 'W/"1"\r\nX-Injected: 1'],
  ['a list of ETags', 'W/"1", W/"2"'],
  ['a number instead of a string', 1],
  ['an unquoted tag', 'W/1'],
];

describe.each(badEtags)('hostile: Dataverse returns %s as the row ETag', (_label, etag) => {
  it('hostile: the row is not written (never forced) and the other rows are retried', async () => {
    const store = new MemoryRows();
    const id = store.add(S.Failed);
    store.etagOf = (rowId, version) => (rowId === id ? etag : `W/"${version}"`);
    const { bad } = await retryAround(store, { id, name: 'bad etag', seenStatus: S.Failed });
    expect(bad).toEqual(expect.objectContaining({ outcome: 'failed', message: expect.stringMatching(/no usable version \(ETag\)/) }));
    expect(store.rows.get(id)?.status).toBe(S.Failed);
    expect(store.requests.filter((r) => r.startsWith(`PATCH ${id}`))).toEqual([]);
  });
});

it('hostile: a status value this version does not know is a conflict naming it, not a write', async () => {
  const store = new MemoryRows();
  const id = store.add(999);
  const { bad } = await retryAround(store, { id, name: 'unknown status', seenStatus: S.Failed });
  expect(bad).toEqual(expect.objectContaining({ outcome: 'conflict', message: 'this row changed since you opened it: now unknown (999); refresh and try again' }));
  expect(store.rows.get(id)?.status).toBe(999);
});

it('hostile: a replay count that is not a number replays as the first replay instead of writing NaN', async () => {
  const store = new MemoryRows();
  const id = store.add(S.DeadLettered, 'NaN');
  const good = store.add(S.DeadLettered, 4);
  const results = await runAction(store, 'replay', [
    { id, name: 'odd count', seenStatus: S.DeadLettered },
    { id: good, name: 'good', seenStatus: S.DeadLettered },
  ]);
  expect(results.map((r) => r.outcome)).toEqual(['done', 'done']);
  expect(store.rows.get(id)?.replayCount).toBe(1);
  expect(store.rows.get(good)?.replayCount).toBe(5);
});

it('hostile: a 1 MB row name is shortened in the result; the action itself is unaffected', async () => {
  const store = new MemoryRows();
  const id = store.add(S.Failed);
  const { bad } = await retryAround(store, { id, name: 'N'.repeat(1_048_576), seenStatus: S.Failed });
  expect(bad.outcome).toBe('done');
  expect(bad.name.length).toBeLessThanOrEqual(120);
});

it('hostile: a selection of 3,000 rows with one changed meanwhile: 2,999 done, one conflict, none lost', async () => {
  const store = new MemoryRows();
  const targets: ActionTarget[] = Array.from({ length: 3000 }, (_, i) => ({ id: store.add(S.Pending), name: `row ${i}`, seenStatus: S.Pending }));
  const changed = targets[1500].id;
  store.rows.get(changed)!.status = S.Published;
  const results = await runAction(store, 'cancel', targets);
  expect(results).toHaveLength(3000);
  expect(results.map((r) => r.id)).toEqual(targets.map((t) => t.id));
  expect(results.filter((r) => r.outcome === 'done')).toHaveLength(2999);
  expect(results[1500]).toEqual(expect.objectContaining({ outcome: 'conflict' }));
  expect([...store.rows.values()].filter((r) => r.status === S.Cancelled)).toHaveLength(2999);
});

/** A page fetch whose answer for one row is hostile; every other request is answered normally. */
function webApiWith(hostileRow: string, answer: () => { status: number; body: unknown }): { rows: RowVersionPort; store: MemoryRows } {
  const store = new MemoryRows();
  const pageFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const id = /\(([^)]+)\)/.exec(url)?.[1] ?? '';
    // A real Response, as a browser's fetch answers (204 and an absent body have none; null is the JSON text "null").
    const reply = (status: number, body: unknown): Response =>
      status === 204 || body === undefined ? new Response(null, { status }) : new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
    if (id === hostileRow) {
      const { status, body } = answer();
      return reply(status, body);
    }
    if ((init?.method ?? 'GET') === 'GET') {
      const row = await store.readRow(id);
      return row ? reply(200, { [c.status]: row.status, [c.replayCount]: row.replayCount, '@odata.etag': row.etag }) : reply(404, {});
    }
    const outcome = await store.updateIfUnchanged(id, (init?.headers as Record<string, string>)['If-Match'] ?? '', JSON.parse(typeof init?.body === 'string' ? init.body : '{}') as Record<string, unknown>);
    return reply(outcome === 'updated' ? 204 : outcome === 'changed' ? 412 : 404, null);
  }) as typeof fetch;
  return { rows: createWebApiRows({ apiBase: '/api/data/v9.2/', fetch: pageFetch }), store };
}

const badAnswers: Array<[string, { status: number; body: unknown }, RegExp]> = [
  ['a 500 whose error message is 1 MB of markup', { status: 500, body: { error: { message: `<script>x</script>${'E'.repeat(1_048_576)}` } } }, /^failed: Reading the row failed \(500: <script>x<\/script>E+…\)$/],
  ['a 200 whose body is not a row (null)', { status: 200, body: null }, /^failed: Reading the row failed \(the answer was not a row\)$/],
  ['a 429 without a JSON body', { status: 429, body: undefined }, /^failed: Reading the row failed \(429/],
];

describe.each(badAnswers)('hostile: the Web API answers one row with %s', (_label, answer, expected) => {
  it('hostile: that row fails with a short, specific message and the other rows are retried', async () => {
    const hostile = guid();
    const { rows, store } = webApiWith(hostile, () => answer);
    const good = [store.add(S.Failed), store.add(S.Failed)];
    const results = await runAction(rows, 'retry', [
      { id: good[0], name: 'good 1', seenStatus: S.Failed },
      { id: hostile, name: 'hostile', seenStatus: S.Failed },
      { id: good[1], name: 'good 2', seenStatus: S.Failed },
    ]);
    expect(results[1].outcome).toBe('failed');
    expect(results[1].message).toMatch(expected);
    expect(results[1].message.length).toBeLessThan(400);
    expect([results[0].outcome, results[2].outcome]).toEqual(['done', 'done']);
    for (const id of good) expect(store.rows.get(id)?.status).toBe(S.Pending);
  });
});

it('hostile: markup in row names and server errors is shown as text in the dialog and the results, and runs nothing', async () => {
  const evilName = '<img src=x onerror="window.__pwned = 1">order';
  const rows = [
    outboxRow({ [c.name]: evilName, [c.status]: S.Failed }),
    outboxRow({ [c.name]: 'plain order', [c.status]: S.Failed }),
    outboxRow({ [c.name]: '<b>refused</b>', [c.status]: S.Failed }),
  ];
  mountMonitor({ rows, failUpdates: { [rows[2].obx_outboxmessageid]: { message: '<script>window.__pwned = 2</script>denied' } } });
  for (const name of [evilName, 'plain order', '<b>refused</b>']) {
    const toggle = screen.getByText(name).closest('[role="row"]')?.querySelector('[data-selection-toggle="true"]');
    fireEvent.click(toggle!);
  }
  fireEvent.click(screen.getByRole('button', { name: 'Retry selected rows' }));
  const dialog = await screen.findByRole('alertdialog', {}, { timeout: wait });
  expect(within(dialog).getByText(evilName)).toBeTruthy();
  fireEvent.click(within(dialog).getByRole('button', { name: 'Retry' }));
  const results = await screen.findByRole('status', { name: 'Retry results' }, { timeout: wait });
  expect(results.textContent).toContain(`${evilName}: queued again`);
  expect(results.textContent).toContain('<b>refused</b>: failed: Updating the row failed (403: <script>window.__pwned = 2</script>denied)');
  expect(results.querySelectorAll('img, script, b')).toHaveLength(0);
  expect(window.__pwned).toBeUndefined();
  expect(rows.map((r) => r[c.status])).toEqual([S.Pending, S.Pending, S.Failed]);
});
