// The PCF adapter (index.ts) and the components together, against a fake context: dataset paging, sorting, filtering,
// selection and open record; webAPI calls for the health counts and for actions; errors shown to the user.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { mountMonitor, settleAndCleanup, type Mounted } from './harness';
import { outboxRow, type Row } from './fakeContext';

const c = OutboxMessage.columns;
const S = OutboxStatus;

afterEach(settleAndCleanup);

function rowsOf(mounted: Mounted): string[] {
  return within(mounted.view.container)
    .queryAllByRole('row')
    .map((r) => r.getAttribute('aria-rowindex') && r.textContent)
    .filter((t): t is string => Boolean(t) && !t!.includes('Status'));
}

function gridRow(name: string): HTMLElement {
  const cell = screen.getByText(name);
  const row = cell.closest('[role="row"]');
  if (!row) throw new Error(`no row for ${name}`);
  return row as HTMLElement;
}

function select(name: string): void {
  const toggle = gridRow(name).querySelector('[data-selection-toggle="true"]');
  if (!toggle) throw new Error(`no selection toggle for ${name}`);
  fireEvent.click(toggle);
}

function calls(mounted: Mounted, method: string): unknown[][] {
  return mounted.calls.filter((call) => call.method === method).map((call) => call.args);
}

async function settle(mounted: Mounted): Promise<void> {
  await act(async () => {
    await mounted.settled();
  });
}

function table(count: number, make: (i: number) => Partial<Row> = () => ({})): Row[] {
  return Array.from({ length: count }, (_, i) => outboxRow({ [c.name]: `row ${String(i).padStart(2, '0')}`, ...make(i) }));
}

describe('dataset adapter', () => {
  it('sets the page size from the property, shows the page and pages through the dataset API', async () => {
    const m = mountMonitor({ rows: table(7), pageSize: 3 });
    expect(calls(m, 'paging.setPageSize')).toEqual([[3]]);
    expect(calls(m, 'mode.trackContainerResize')).toEqual([[true]]);
    expect(screen.getByText('row 00')).toBeTruthy();
    expect(screen.queryByText('row 03')).toBeNull();
    expect(screen.getByText(/Page 1 · 3 rows shown of 7/)).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(calls(m, 'paging.loadExactPage')).toEqual([[2]]);
    await settle(m);
    expect(await screen.findByText('row 03')).toBeTruthy();
    expect(screen.queryByText('row 00')).toBeNull();
    expect(screen.getByText(/Page 2 · 3 rows shown of 7/)).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    await settle(m);
    expect(await screen.findByText('row 06')).toBeTruthy();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Next page' }).disabled).toBe(true);

    fireEvent.click(screen.getByRole('button', { name: 'First page' }));
    await settle(m);
    expect(calls(m, 'paging.loadExactPage')).toEqual([[2], [3], [1]]);
    expect(await screen.findByText('row 00')).toBeTruthy();
  });

  it('uses the default page size when the property is empty', () => {
    const m = mountMonitor({ rows: table(1) });
    expect(calls(m, 'paging.setPageSize')).toEqual([[250]]);
  });

  it('sorts through the dataset sorting list and refreshes', async () => {
    const m = mountMonitor({ rows: table(3, (i) => ({ [c.attempts]: [5, 1, 3][i] })) });
    const header = screen.getByRole('columnheader', { name: /Attempts/ });
    fireEvent.click(within(header).getByText('Attempts'));
    expect(m.context.parameters.records.sorting).toEqual([{ name: c.attempts, sortDirection: 0 }]);
    expect(calls(m, 'refresh')).toHaveLength(1);
    await settle(m);
    await waitFor(() => expect(rowsOf(m).map((t) => t.match(/row \d\d/)?.[0])).toEqual(['row 01', 'row 02', 'row 00']));

    fireEvent.click(within(screen.getByRole('columnheader', { name: /Attempts/ })).getByText('Attempts'));
    expect(m.context.parameters.records.sorting).toEqual([{ name: c.attempts, sortDirection: 1 }]);
    await settle(m);
    await waitFor(() => expect(rowsOf(m).map((t) => t.match(/row \d\d/)?.[0])).toEqual(['row 00', 'row 02', 'row 01']));
    expect(screen.getByRole('columnheader', { name: /Attempts/ }).getAttribute('aria-sort')).toBe('descending');
  });

  it('filters by status chips through the dataset filtering API', async () => {
    const m = mountMonitor({ rows: table(4, (i) => ({ [c.status]: [S.Pending, S.Failed, S.Failed, S.Acked][i] })) });
    fireEvent.click(screen.getByRole('button', { name: 'Failed' }));
    expect(calls(m, 'filtering.setFilter')).toEqual([
      [{ filterOperator: 1, conditions: [{ attributeName: c.status, conditionOperator: 0, value: String(S.Failed) }] }],
    ]);
    await settle(m);
    await waitFor(() => expect(screen.queryByText('row 00')).toBeNull());
    expect(screen.getByText('row 01')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Failed' }).getAttribute('aria-pressed')).toBe('true');

    fireEvent.click(screen.getByRole('button', { name: 'All' }));
    expect(calls(m, 'filtering.clearFilter')).toHaveLength(1);
    await settle(m);
    expect(await screen.findByText('row 00')).toBeTruthy();
  });

  it('opens a record on double click and passes the selection to the dataset', () => {
    const m = mountMonitor({ rows: table(2) });
    fireEvent.doubleClick(screen.getByText('row 01'));
    const opened = calls(m, 'openDatasetItem');
    expect(opened).toHaveLength(1);
    expect(opened[0]?.[0]).toMatchObject({ id: { guid: m.table[1]?.obx_outboxmessageid }, etn: OutboxMessage.logicalName });

    select('row 00');
    expect(calls(m, 'setSelectedRecordIds').at(-1)).toEqual([[m.table[0]?.obx_outboxmessageid]]);
  });

  it('re-reads rows only when the dataset changed', () => {
    const m = mountMonitor({ rows: table(3) });
    const reads = m.getValueCalls();
    m.update(['layout'], (ctx) => {
      (ctx.mode as { allocatedWidth: number }).allocatedWidth = 400;
    });
    expect(m.getValueCalls()).toBe(reads);
    // narrow: secondary columns are dropped
    expect(screen.queryByRole('columnheader', { name: /Session key/ })).toBeNull();
    m.update(['dataset']);
    expect(m.getValueCalls()).toBeGreaterThan(reads);
  });
});

describe('health header', () => {
  it('counts the judged statuses on the server with bounded reads, not just the loaded page', async () => {
    const now = new Date();
    const rows = [
      ...table(3, () => ({ [c.status]: S.Pending, [c.createdOn]: new Date(now.getTime() - 400_000).toISOString() })),
      ...table(4, () => ({ [c.status]: S.Acked, [c.publishedOn]: new Date(now.getTime() - 120_000).toISOString() })),
      ...table(2, () => ({ [c.status]: S.Failed })),
      ...table(1, () => ({ [c.status]: S.DeadLettered })),
    ];
    const m = mountMonitor({ rows, pageSize: 2 });
    const failed = await screen.findByRole('group', { name: /^Failed: 2/ });
    expect(failed.getAttribute('data-level')).toBe('red');
    expect(screen.getByRole('group', { name: /^Dead-lettered: 1, Alert/ })).toBeTruthy();
    expect(screen.getByRole('group', { name: /^Oldest pending: 6 min, Warning/ })).toBeTruthy();
    expect(screen.getByRole('group', { name: /^Since last publish: 2 min, Healthy/ })).toBeTruthy();
    expect(screen.getByRole('group', { name: /^Overall: Alert/ })).toBeTruthy();
    const byStatus = screen.getByLabelText('Rows by status');
    expect(byStatus.textContent).toBe('Pending: 3Failed: 2Dead-lettered: 1');
    expect(screen.getByRole('img', { name: 'Last 24 hours: 4 published, 2 failed' })).toBeTruthy();

    const counts = calls(m, 'webAPI.retrieveMultipleRecords').filter((args) => String(args[1]).startsWith(`?$select=${OutboxMessage.primaryIdAttribute}&`));
    expect(counts.map((args) => args[0])).toEqual([OutboxMessage.logicalName, OutboxMessage.logicalName, OutboxMessage.logicalName]);
    expect(counts.every((args) => String(args[1]).endsWith('&$top=100'))).toBe(true);
  });

  it('applies obx_HealthThresholds from the environment variable value', async () => {
    mountMonitor({ rows: table(2, () => ({ [c.status]: S.Failed })), thresholdsJson: '{"maxFailed":5}' });
    expect((await screen.findByRole('group', { name: /^Failed: 2/ })).getAttribute('data-level')).toBe('green');
  });

  it('shows a specific message when a count fails, and keeps the rest', async () => {
    mountMonitor({ rows: table(2), failQueries: { [`$select=${OutboxMessage.primaryIdAttribute}&`]: { message: 'Generic SQL error', errorCode: -2147204784 } } });
    expect(await screen.findByText('Status counts unavailable: Generic SQL error (code -2147204784)')).toBeTruthy();
    expect(screen.getByRole('group', { name: /^Failed: n\/a, Unknown/ })).toBeTruthy();
    expect(screen.getByRole('group', { name: /^Oldest pending: 1 min/ })).toBeTruthy();
    expect(screen.getByText('row 00')).toBeTruthy();
  });

  it('reloads when the dataset changes', async () => {
    const m = mountMonitor({ rows: table(1) });
    await screen.findByRole('group', { name: /^Failed: 0/ });
    const before = calls(m, 'webAPI.retrieveMultipleRecords').length;
    m.table.push(outboxRow({ [c.status]: S.Failed }));
    fireEvent.click(screen.getByRole('button', { name: 'Refresh the outbox' }));
    await settle(m);
    await screen.findByRole('group', { name: /^Failed: 1/ });
    expect(calls(m, 'webAPI.retrieveMultipleRecords').length).toBeGreaterThan(before);
  });
});

describe('actions', () => {
  it('retries a Failed row after confirmation, shows the result per row and refreshes', async () => {
    const m = mountMonitor({ rows: table(2, (i) => ({ [c.status]: [S.Failed, S.Pending][i], [c.attempts]: [10, 0][i] })) });
    const retry = (): HTMLButtonElement => screen.getByRole<HTMLButtonElement>('button', { name: 'Retry selected rows' });
    expect(retry().disabled).toBe(true);
    select('row 00');
    expect(retry().disabled).toBe(false);
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Replay selected rows' }).disabled).toBe(true);
    fireEvent.click(retry());

    const dialog = await screen.findByRole('alertdialog');
    expect(within(dialog).getByText('Retry 1 row?')).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Retry' }));

    const results = await screen.findByRole('status', { name: 'Retry results' });
    expect(results.textContent).toContain('row 00: queued again');
    const id = m.table[0].obx_outboxmessageid;
    // A conditional update with the ETag read with the row (context.webAPI.updateRecord cannot send If-Match).
    // The contract's retry patch (contract/src/operatorActions.ts).
    expect(calls(m, 'fetch.PATCH')).toEqual([[id, 'W/"1"', { [c.status]: S.Pending, [c.attempts]: 0, [c.nextAttemptOn]: null, [c.lastError]: null }]]);
    expect(calls(m, 'webAPI.updateRecord')).toEqual([]);
    expect(calls(m, 'refresh').length).toBeGreaterThanOrEqual(1);
    await settle(m);
    await waitFor(() => expect(gridRow('row 00').querySelector('[data-status]')?.getAttribute('data-status')).toBe('Pending'));
  });

  it('replays with the next replay number and cancels only what may be cancelled', async () => {
    const m = mountMonitor({
      rows: table(3, (i) => ({ [c.status]: [S.DeadLettered, S.Published, S.Acked][i], [c.replayCount]: [2, 0, 0][i] })),
    });
    select('row 00');
    select('row 01');
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Cancel selected rows' }).disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Replay selected rows' }));
    fireEvent.click(within(await screen.findByRole('alertdialog')).getByRole('button', { name: 'Replay' }));
    await screen.findByRole('status', { name: 'Replay results' });
    const updates = calls(m, 'fetch.PATCH');
    expect(updates.map((u) => u[2])).toEqual([
      // The contract's replay patch: a new delivery, with the earlier answer and error cleared.
      { [c.status]: S.Pending, [c.replayCount]: 3, [c.attempts]: 0, [c.nextAttemptOn]: null, [c.lastError]: null, [c.ackedOn]: null },
      { [c.status]: S.Pending, [c.replayCount]: 1, [c.attempts]: 0, [c.nextAttemptOn]: null, [c.lastError]: null, [c.ackedOn]: null },
    ]);
  });

  it('leaves rows whose status moved on since they were shown, and shows failures per row without stopping the others', async () => {
    const rows = table(3, () => ({ [c.status]: S.Failed }));
    const m = mountMonitor({ rows, failUpdates: { [rows[1].obx_outboxmessageid]: { message: 'Principal user is missing prvWriteobx_outboxmessage privilege', errorCode: -2147220960 } } });
    select('row 00');
    select('row 01');
    select('row 02');
    // The publisher acknowledged row 02 meanwhile: the action must not push it back.
    m.table[2][c.status] = S.Acked;
    fireEvent.click(screen.getByRole('button', { name: 'Cancel selected rows' }));
    fireEvent.click(within(await screen.findByRole('alertdialog')).getByRole('button', { name: 'Cancel' }));
    const results = await screen.findByRole('status', { name: 'Cancel results' });
    expect(results.textContent).toContain('Cancel: 1 cancelled, 2 not changed');
    expect(results.textContent).toContain('row 00: cancelled');
    expect(results.textContent).toContain('row 01: failed: Updating the row failed (403: Principal user is missing prvWriteobx_outboxmessage privilege)');
    expect(results.textContent).toContain('row 02: this row changed since you opened it: now Acked; refresh and try again');
    expect(m.table.map((r) => r[c.status])).toEqual([S.Cancelled, S.Failed, S.Acked]);
    expect(calls(m, 'fetch.PATCH').map((u) => u[0])).toEqual([rows[0].obx_outboxmessageid, rows[1].obx_outboxmessageid]);
  });

  it('does nothing when the confirmation is dismissed', async () => {
    const m = mountMonitor({ rows: table(1, () => ({ [c.status]: S.Failed })) });
    select('row 00');
    fireEvent.click(screen.getByRole('button', { name: 'Retry selected rows' }));
    fireEvent.click(within(await screen.findByRole('alertdialog')).getByRole('button', { name: 'Go back' }));
    await waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
    expect(calls(m, 'fetch.PATCH')).toEqual([]);
  });
});

describe('payload panel', () => {
  it('shows the formatted JSON payload and the full last error on demand', async () => {
    const longError = `Service Bus rejected the message: ${'x'.repeat(300)} END`;
    const m = mountMonitor({ rows: table(1, () => ({ [c.status]: S.Failed, [c.lastError]: longError, [c.payload]: '{"orderId":42,"lines":[1,2]}' })) });
    const cell = gridRow('row 00').querySelector('[data-last-error]');
    expect(cell?.textContent?.length).toBeLessThanOrEqual(80);
    fireEvent.click(screen.getByRole('button', { name: 'Show payload and full error of row 00' }));
    const payload = await screen.findByLabelText('Payload');
    expect(payload.textContent).toBe('{\n  "orderId": 42,\n  "lines": [\n    1,\n    2\n  ]\n}');
    expect(screen.getByLabelText('Last error', { selector: 'pre' }).textContent).toBe(longError);
    expect(calls(m, 'webAPI.retrieveRecord')[0]?.[1]).toBe(m.table[0].obx_outboxmessageid);
  });
});

describe('scale and theme', () => {
  it('virtualises a page of thousands of rows: only what is on screen is rendered', () => {
    mountMonitor({ rows: table(3000), pageSize: 5000 });
    expect(screen.getByText(/Page 1 · 3,000 rows shown of 3,000/)).toBeTruthy();
    const rendered = document.querySelectorAll('[role="row"][aria-rowindex]').length;
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(200);
  });

  it("follows the host's theme tokens when the host passes them", () => {
    const m = mountMonitor({ rows: table(1) });
    const tokens = {
      colorBrandBackground: '#8a2be2',
      colorBrandBackgroundHover: '#7a1bd2',
      colorBrandBackgroundPressed: '#6a0bc2',
      colorNeutralForeground1: '#f0f0f0',
      colorNeutralForeground2: '#d0d0d0',
      colorNeutralForegroundDisabled: '#707070',
      colorNeutralBackground1: '#1f1f1f',
      colorNeutralBackground2: '#2a2a2a',
      colorNeutralStroke1: '#555555',
    };
    m.update(['fluentDesignLanguage'], (ctx) => {
      (ctx as unknown as { fluentDesignLanguage: unknown }).fluentDesignLanguage = { tokenTheme: tokens, isDarkTheme: true, brand: {} };
    });
    const root = document.querySelector<HTMLElement>('[data-narrow]');
    expect(root?.style.color).toBe('rgb(240, 240, 240)');
    expect(root?.style.background).toBe('rgb(31, 31, 31)');
  });
});

describe('health reloads', () => {
  it('keeps the health report while paging, sorting or filtering (the outbox did not change)', async () => {
    const m = mountMonitor({ rows: table(5), pageSize: 2 });
    await screen.findByRole('group', { name: /^Failed: 0/ });
    // Each health load counts with one bounded read per judged status.
    const aggregates = (): number => calls(m, 'webAPI.retrieveMultipleRecords').filter((a) => String(a[1]).startsWith(`?$select=${OutboxMessage.primaryIdAttribute}&`)).length / 3;
    expect(aggregates()).toBe(1);
    fireEvent.click(screen.getByRole('button', { name: 'Next page' }));
    await settle(m);
    await screen.findByText('row 02');
    fireEvent.click(screen.getByRole('button', { name: 'Failed' }));
    await settle(m);
    fireEvent.click(within(screen.getByRole('columnheader', { name: /Attempts/ })).getByText('Attempts'));
    await settle(m);
    expect(aggregates()).toBe(1);
    fireEvent.click(screen.getByRole('button', { name: 'Refresh the outbox' }));
    await settle(m);
    await waitFor(() => expect(aggregates()).toBe(2));
  });
});
