// The conflict as the operator sees it: the monitor mounted like the host does, the page's fetch answering as the Web
// API does (ETags, 412). A row the publisher changes between the read and the write is shown per row, never forced;
// the other selected rows still get the action, and the view refreshes.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { mountMonitor, settleAndCleanup, type Mounted } from './harness';
import { outboxRow, type Row } from './fakeContext';

const c = OutboxMessage.columns;
const S = OutboxStatus;

afterEach(settleAndCleanup);

/** The machine may be busy: wait for the UI generously (nothing here measures time). */
const wait = 15_000;

function select(name: string): void {
  const row = screen.getByText(name).closest('[role="row"]');
  const toggle = row?.querySelector('[data-selection-toggle="true"]');
  if (!toggle) throw new Error(`no selection toggle for ${name}`);
  fireEvent.click(toggle);
}

function calls(m: Mounted, method: string): unknown[][] {
  return m.calls.filter((call) => call.method === method).map((call) => call.args);
}

async function run(action: 'Retry' | 'Replay' | 'Cancel', names: string[]): Promise<HTMLElement> {
  for (const name of names) select(name);
  fireEvent.click(screen.getByRole('button', { name: `${action} selected rows` }));
  fireEvent.click(within(await screen.findByRole('alertdialog', {}, { timeout: wait })).getByRole('button', { name: action }));
  return screen.findByRole('status', { name: `${action} results` }, { timeout: wait });
}

it('shows a row the publisher changed meanwhile as a conflict, cancels the others and refreshes the view', async () => {
  const rows: Row[] = ['a', 'b', 'c'].map((n) => outboxRow({ [c.name]: `order ${n}`, [c.status]: S.Pending }));
  const m = mountMonitor({
    rows,
    // The publisher marks "order b" Published after the monitor read it and before its write arrives.
    beforeUpdate: (row, touch) => {
      if (row === rows[1] && row[c.status] === S.Pending) touch({ [c.status]: S.Published });
    },
  });
  const refreshesBefore = calls(m, 'refresh').length;
  const results = await run('Cancel', ['order a', 'order b', 'order c']);

  expect(results.textContent).toContain('Cancel: 2 cancelled, 1 not changed');
  const lines = within(results).getAllByRole('listitem');
  expect(lines.map((li) => [li.getAttribute('data-result'), li.textContent])).toEqual([
    ['ok', 'order a: cancelled'],
    ['conflict', 'order b: this row changed since you opened it: now Published; refresh and try again'],
    ['ok', 'order c: cancelled'],
  ]);
  expect(results.querySelector('[data-conflicts]')?.textContent).toMatch(/^1 row changed since you opened it/);
  expect(rows.map((r) => r[c.status])).toEqual([S.Cancelled, S.Published, S.Cancelled]);
  // Each write carried the ETag read with its row.
  expect(calls(m, 'fetch.PATCH').map((p) => p[1])).toEqual(['W/"1"', 'W/"1"', 'W/"1"']);
  await waitFor(() => expect(calls(m, 'refresh').length).toBeGreaterThan(refreshesBefore), { timeout: wait });
});

it('names every conflicting row when several changed', async () => {
  const rows: Row[] = ['x', 'y'].map((n) => outboxRow({ [c.name]: `order ${n}`, [c.status]: S.DeadLettered }));
  mountMonitor({ rows, beforeUpdate: (_row, touch) => touch({ [c.status]: S.Acked }) });
  const results = await run('Replay', ['order x', 'order y']);
  expect(results.textContent).toContain('Replay: 0 queued for replay, 2 not changed');
  expect(results.querySelector('[data-conflicts]')?.textContent).toMatch(/^2 rows changed since you opened them/);
  expect(within(results).getAllByRole('listitem').map((li) => li.getAttribute('data-result'))).toEqual(['conflict', 'conflict']);
  expect(rows.map((r) => [r[c.status], r[c.replayCount]])).toEqual([
    [S.Acked, 0],
    [S.Acked, 0],
  ]);
});
