// Hostile hosts: contexts that break the PCF typings' promises the way real hosts do (Microsoft's pcf-start harness has
// no dataset `sorting`, no `loadExactPage`, a webAPI that alerts on every call, a page whose getClientUrl throws, the
// empty GUID as user, and new data with an empty updatedProperties) and worse. Each case asserts its specific outcome
// AND that nothing was lost: every row of the view still renders and the health summary still counts them.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { toOutboxRow } from '../../OutboxMonitor/core/rows';
import { OutboxMonitor } from '../../OutboxMonitor/index';
import { createFakeContext, outboxRow, type FakeContext, type Row } from '../fakeContext';

const c = OutboxMessage.columns;
const S = OutboxStatus;

afterEach(async () => {
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
  cleanup();
});

type Overrides = Record<string, unknown>;

/** The same object with some members replaced or removed (undefined: `in` says false), as a host would give it. */
function reshaped<T extends object>(target: T, overrides: Overrides): T {
  return new Proxy(target, {
    get: (t, key) => (typeof key === 'string' && key in overrides ? overrides[key] : Reflect.get(t, key)),
    has: (t, key) => (typeof key === 'string' && key in overrides ? overrides[key] !== undefined : Reflect.has(t, key)),
  });
}

interface HostShape {
  dataset?: Overrides;
  paging?: Overrides;
  context?: Overrides;
  /** updatedProperties of the first render (default ["dataset"]). */
  updated?: unknown;
}

interface Mounted extends FakeContext {
  rerender: (updatedProperties: unknown) => void;
}

function mountIn(rows: Row[], shape: HostShape): Mounted {
  const fake = createFakeContext({ rows, pageSize: 3 });
  globalThis.fetch = fake.fetch;
  const real = fake.context as unknown as { parameters: { records: object & { paging: object } } };
  const dataset = reshaped(real.parameters.records, { ...(shape.paging ? { paging: reshaped(real.parameters.records.paging, shape.paging) } : {}), ...shape.dataset });
  const context = reshaped(fake.context, { parameters: { ...fake.context.parameters, records: dataset }, ...shape.context }) as unknown as ComponentFramework.Context<never>;
  const withUpdated = (updated: unknown): ComponentFramework.Context<never> => reshaped<ComponentFramework.Context<never>>(context, { updatedProperties: updated });
  const control = new OutboxMonitor();
  control.init(context);
  const view = render(control.updateView(withUpdated(shape.updated ?? ['dataset'])));
  const rerender = (updated: unknown): void => view.rerender(control.updateView(withUpdated(updated)));
  fake.onDatasetChanged(() => rerender(['dataset']));
  return { ...fake, rerender };
}

const table = (): Row[] => [
  outboxRow({ [c.name]: 'good pending', [c.status]: S.Pending }),
  outboxRow({ [c.name]: 'good failed', [c.status]: S.Failed, [c.attempts]: 10 }),
  outboxRow({ [c.name]: 'good acked', [c.status]: S.Acked }),
];

const webApiCalls = (m: FakeContext): number => m.calls.filter((call) => call.method.startsWith('webAPI.')).length;

/** Nothing lost: every row renders and the header counts them (from the server aggregate or from the loaded rows). */
async function expectEverythingShown(m: FakeContext): Promise<void> {
  for (const name of ['good pending', 'good failed', 'good acked']) expect(screen.getByText(name)).toBeTruthy();
  expect((await screen.findByText((_, el) => el?.getAttribute('data-count-status') === 'Failed')).textContent).toBe('Failed: 1');
  expect(screen.getByRole('group', { name: /^Failed: 1, Alert$/ })).toBeTruthy();
  expect(m.table).toHaveLength(3);
}

const noWebApi: { name: string; context: Overrides; reason: RegExp }[] = [
  { name: 'no webAPI at all', context: { webAPI: undefined }, reason: /gives the control no Web API/ },
  { name: 'webAPI methods that are not functions', context: { webAPI: { retrieveMultipleRecords: 'nope', retrieveRecord: 1 } }, reason: /no Web API/ },
  { name: 'a page whose getClientUrl throws (pcf-start)', context: { page: { getClientUrl: () => { throw new TypeError('t.xrmProxy.Page.getClientUrl is not a function'); } } }, reason: /no Dataverse environment/ },
  { name: 'a page whose getClientUrl is not a function', context: { page: { getClientUrl: 'https://org.crm.dynamics.com' } }, reason: /no Dataverse environment/ },
  { name: 'a page whose getClientUrl gives an empty string', context: { page: { getClientUrl: () => '' } }, reason: /no Dataverse environment/ },
  { name: 'a page whose getClientUrl gives a javascript: URL', context: { page: { getClientUrl: () => 'javascript:alert(1)' } }, reason: /no Dataverse environment/ },
  { name: 'the empty GUID as user, braced (pcf-start)', context: { userSettings: { userId: '{00000000-0000-0000-0000-000000000000}' } }, reason: /empty GUID/ },
  { name: 'the empty GUID as user, bare and padded', context: { userSettings: { userId: ' 00000000-0000-0000-0000-000000000000 ' } }, reason: /empty GUID/ },
];

describe.each(noWebApi)('hostile: host with $name', ({ context, reason }) => {
  it('hostile: never calls its Web API, shows one notice with the reason, health from the loaded rows, actions off', async () => {
    const m = mountIn(table(), { context });
    await expectEverythingShown(m);
    const notices = document.querySelectorAll('[data-host-notice="no-web-api"]');
    expect(notices).toHaveLength(1);
    // Fluent's MessageBar renders its text a moment later (for screen readers).
    await waitFor(() => expect(notices[0]?.textContent).toMatch(reason));
    expect(document.querySelector('[data-health-scope="loaded-rows"]')?.textContent).toMatch(/From the 3 rows loaded/);
    fireEvent.click((screen.getByText('good failed').closest('[role="row"]') as HTMLElement).querySelector('[data-selection-toggle="true"]') as HTMLElement);
    const retry = screen.getByRole<HTMLButtonElement>('button', { name: 'Retry selected rows' });
    expect(retry.disabled).toBe(true);
    expect(retry.title).toMatch(/needs the Dataverse Web API/);
    fireEvent.click(screen.getByRole('button', { name: 'Show payload and full error of good failed' }));
    expect(await screen.findByText(/Could not load this message: this needs the Dataverse Web API/)).toBeTruthy();
    expect(webApiCalls(m)).toBe(0);
    expect(m.calls.filter((call) => call.method.startsWith('fetch.'))).toEqual([]);
  });
});

it('hostile: a host with a real environment URL and user still gets the whole-outbox health through its Web API', async () => {
  const m = mountIn(table(), { context: { page: { getClientUrl: () => 'https://contoso.crm4.dynamics.com' }, userSettings: { userId: '{5D8A3C2E-0000-4000-8000-000000000001}' } } });
  await expectEverythingShown(m);
  expect(document.querySelector('[data-host-notice]')).toBeNull();
  expect(document.querySelector('[data-health-scope]')).toBeNull();
  expect(webApiCalls(m)).toBeGreaterThan(0);
});

const datasetShapes: { name: string; shape: HostShape; check?: (m: Mounted) => void | Promise<void> }[] = [
  {
    name: 'no sorting list (pcf-start)',
    shape: { dataset: { sorting: undefined } },
    check: (m) => {
      fireEvent.click(within(screen.getByRole('columnheader', { name: /Attempts/ })).getByText('Attempts'));
      expect(m.calls.filter((call) => call.method === 'refresh')).toEqual([]);
    },
  },
  { name: 'sorting null', shape: { dataset: { sorting: null } } },
  { name: 'sorting a string', shape: { dataset: { sorting: 'obx_name asc' } } },
  { name: 'sorting with a garbage entry', shape: { dataset: { sorting: [{ name: 42, sortDirection: 'up' }] } } },
  {
    name: 'no filtering (status chips hidden)',
    shape: { dataset: { filtering: undefined } },
    check: () => expect(screen.queryByRole('group', { name: 'Filter by status' })).toBeNull(),
  },
  { name: 'filtering without setFilter', shape: { dataset: { filtering: { clearFilter: () => undefined } } }, check: () => expect(screen.queryByRole('group', { name: 'Filter by status' })).toBeNull() },
  { name: 'no linking', shape: { dataset: { linking: undefined } } },
  { name: 'no paging at all', shape: { dataset: { paging: undefined } }, check: (m) => expect(m.calls.filter((call) => call.method === 'paging.setPageSize')).toEqual([]) },
  {
    name: 'paging without loadExactPage (pcf-start): Next uses loadNextPage',
    shape: { paging: { loadExactPage: undefined, hasNextPage: true } },
    check: (m) => {
      fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
      expect(m.calls.filter((call) => call.method.startsWith('paging.load'))).toEqual([{ method: 'paging.loadNextPage', args: [] }]);
    },
  },
  { name: 'paging.pageSize a string', shape: { paging: { pageSize: '25' } } },
  { name: 'paging.totalResultCount NaN', shape: { paging: { totalResultCount: Number.NaN } }, check: () => expect(screen.getByText(/Page 1 · 3 rows shown$/)).toBeTruthy() },
  {
    name: 'no refresh (sorting, chips and Refresh do nothing)',
    shape: { dataset: { refresh: undefined } },
    check: (m) => {
      fireEvent.click(screen.getByRole('button', { name: 'Refresh the outbox' }));
      expect(screen.queryByRole('group', { name: 'Filter by status' })).toBeNull();
      expect(m.calls.filter((call) => call.method === 'refresh')).toEqual([]);
    },
  },
  { name: 'no setSelectedRecordIds', shape: { dataset: { setSelectedRecordIds: undefined } }, check: () => void fireEvent.click((screen.getByText('good acked').closest('[role="row"]') as HTMLElement).querySelector('[data-selection-toggle="true"]') as HTMLElement) },
  { name: 'no openDatasetItem', shape: { dataset: { openDatasetItem: undefined } }, check: () => void fireEvent.doubleClick(screen.getByText('good acked')) },
  { name: 'updatedProperties undefined', shape: { updated: undefined } },
  { name: 'updatedProperties a string', shape: { updated: 'dataset' } },
  { name: 'updatedProperties empty on the first render (pcf-start)', shape: { updated: [] } },
];

describe.each(datasetShapes)('hostile: dataset with $name', ({ shape, check }) => {
  it('hostile: renders every row and the health summary, and the missing feature does nothing', async () => {
    const m = mountIn(table(), shape);
    await expectEverythingShown(m);
    await check?.(m);
  });
});

it('hostile: new data signalled with an empty updatedProperties (pcf-start) re-renders the rows and their health', async () => {
  const m = mountIn(table(), { context: { webAPI: undefined } });
  await expectEverythingShown(m);
  // The host swaps in a new record list (as pcf-start does when a CSV is applied), then renders with updatedProperties [].
  m.table.push(outboxRow({ [c.name]: 'arrived later', [c.status]: S.Failed }));
  const dataset = m.context.parameters.records as unknown as { paging: { setPageSize: (n: number) => void } };
  act(() => dataset.paging.setPageSize(10));
  await act(async () => {
    m.rerender([]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
  expect(screen.getByText('arrived later')).toBeTruthy();
  expect(screen.getByText('good pending')).toBeTruthy();
  expect((await screen.findByText((_, el) => el?.getAttribute('data-count-status') === 'Failed')).textContent).toBe('Failed: 2');
  // A render with the same records (a resize) reads no values again.
  const reads = m.getValueCalls();
  m.rerender([]);
  expect(m.getValueCalls()).toBe(reads);
});

const failedAsNumber = S.Failed.toLocaleString('en-US');
const numberLabels: { formatted: string; label: string | undefined }[] = [
  { formatted: failedAsNumber, label: undefined },
  { formatted: failedAsNumber.replace(/,/g, '.'), label: undefined },
  { formatted: failedAsNumber.replace(/,/g, '\u202f'), label: undefined },
  { formatted: String(S.Failed), label: undefined },
  { formatted: 'Échoué', label: 'Échoué' },
  { formatted: S.Pending.toLocaleString('en-US'), label: S.Pending.toLocaleString('en-US') },
];

it.each(numberLabels)('hostile: status Failed formatted as $formatted (pcf-start formats choices as numbers) is labelled $label', ({ formatted, label }) => {
  const cells: Record<string, { value: unknown; formatted: string | undefined }> = {
    [c.status]: { value: S.Failed, formatted },
    [c.name]: { value: 'next row', formatted: 'next row' },
  };
  const read = (column: string): { value: unknown; formatted: string | undefined } => cells[column] ?? { value: undefined, formatted: undefined };
  const row = toOutboxRow('00000000-0000-4000-8000-000000000001', read, new Set([c.status, c.name]));
  expect(row.statusLabel).toBe(label);
  expect(row.status).toEqual({ kind: 'known', value: S.Failed, name: 'Failed' });
  expect(row.name).toBe('next row');
});
