// The header's counts cost the same whatever the table holds: one `$top`-bounded read per status health judges
// (Pending, Failed, DeadLettered; the contract's healthCountLimits), a full page shown as a lower bound ("100+"), and
// no count of the finished rows (Published, Acked, Cancelled), which would read the whole history.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { screen } from '@testing-library/react';
import { mountMonitor, settleAndCleanup, type Mounted } from './harness';
import { outboxRow, type Row } from './fakeContext';

const c = OutboxMessage.columns;
const S = OutboxStatus;

afterEach(settleAndCleanup);

function rows(failed: number): Row[] {
  const make = (count: number, status: number): Row[] => Array.from({ length: count }, () => outboxRow({ [c.status]: status }));
  return [...make(3, S.Pending), ...make(400, S.Acked), ...make(failed, S.Failed)];
}

function countQueries(m: Mounted): string[] {
  return m.calls
    .filter((call) => call.method === 'webAPI.retrieveMultipleRecords' && String(call.args[1]).startsWith(`?$select=${OutboxMessage.primaryIdAttribute}&`))
    .map((call) => String(call.args[1]));
}

it('reads at most 100 rows per judged status: exact under the limit, "100+" when the page is full, judged red', async () => {
  const m = mountMonitor({ rows: rows(120) });
  const failed = await screen.findByRole('group', { name: /^Failed: 100\+, Alert/ });
  expect(failed.getAttribute('data-level')).toBe('red');
  expect(screen.getByLabelText('Rows by status').textContent).toBe('Pending: 3Failed: 100+Dead-lettered: 0');

  const queries = countQueries(m);
  expect(queries).toHaveLength(3);
  for (const status of [S.Pending, S.Failed, S.DeadLettered]) {
    expect(queries).toContain(`?$select=${OutboxMessage.primaryIdAttribute}&$filter=${c.status} eq ${status}&$orderby=${c.sequence} asc&$top=100`);
  }
});

it('reads one row past a higher threshold, so 120 Failed rows under maxFailed 150 are exact and green', async () => {
  const m = mountMonitor({ rows: rows(120), thresholdsJson: '{"maxFailed":150}' });
  expect((await screen.findByRole('group', { name: /^Failed: 120, Healthy/ })).getAttribute('data-level')).toBe('green');
  expect(countQueries(m).filter((q) => q.endsWith('$top=151'))).toHaveLength(1);
});

it('a capped count over a higher threshold still alerts', async () => {
  mountMonitor({ rows: rows(160), thresholdsJson: '{"maxFailed":150}' });
  expect((await screen.findByRole('group', { name: /^Failed: 151\+, Alert/ })).getAttribute('data-level')).toBe('red');
});
