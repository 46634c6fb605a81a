// Over Dataverse's AggregateQueryRecordLimit (50,000 rows, 0x8004E023) the grouped status-count aggregate is refused:
// the header falls back to one aggregate per status and shows a status still over the limit as "50,000+".
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { screen } from '@testing-library/react';
import { mountMonitor, settleAndCleanup, type Mounted } from './harness';
import { outboxRow, type Row } from './fakeContext';

const c = OutboxMessage.columns;
const S = OutboxStatus;

afterEach(settleAndCleanup);

/** What context.webAPI rejects with for 0x8004E023 (the signed errorCode). */
const limitError = { message: 'AggregateQueryRecordLimit exceeded. Cannot perform this operation.', errorCode: -2147164125 };
/** Only the grouped query over the whole table ends its entity right after the count attribute (no filter). */
const groupedQuery = encodeURIComponent('aggregate="count"/></entity>');
const statusQuery = (status: number): string => encodeURIComponent(`value="${status}"`);

function rows(): Row[] {
  const make = (count: number, status: number): Row[] => Array.from({ length: count }, () => outboxRow({ [c.status]: status }));
  return [...make(3, S.Pending), ...make(4, S.Acked), ...make(2, S.Failed)];
}

function aggregateQueries(m: Mounted): string[] {
  return m.calls
    .filter((call) => call.method === 'webAPI.retrieveMultipleRecords' && String(call.args[1]).startsWith('?fetchXml='))
    .map((call) => decodeURIComponent(String(call.args[1])));
}

it('falls back to one count per status: exact small counts, "50,000+" for the capped one', async () => {
  const m = mountMonitor({ rows: rows(), failQueries: { [groupedQuery]: limitError, [statusQuery(S.Acked)]: limitError } });
  expect(await screen.findByRole('group', { name: /^Failed: 2, Alert/ })).toBeTruthy();
  const byStatus = screen.getByLabelText('Rows by status');
  expect(byStatus.textContent).toContain('Pending: 3');
  expect(byStatus.textContent).toContain('Failed: 2');
  expect(byStatus.textContent).toContain('Acked: 50,000+');
  expect(byStatus.textContent).toContain('Published: 0');
  expect(byStatus.textContent).toContain('Total: 50,005+');
  expect(screen.queryByText(/Status counts unavailable/)).toBeNull();

  const queries = aggregateQueries(m);
  expect(queries).toHaveLength(1 + 6);
  expect(queries[0]).not.toContain('<filter>');
  for (const status of Object.values(S)) expect(queries.some((q) => q.includes(`operator="eq" value="${status}"`))).toBe(true);
});

it('a capped Failed count is over the threshold: the tile shows "50,000+" and alerts', async () => {
  mountMonitor({ rows: rows(), thresholdsJson: '{"maxFailed":100}', failQueries: { [groupedQuery]: limitError, [statusQuery(S.Failed)]: limitError } });
  const failed = await screen.findByRole('group', { name: /^Failed: 50,000\+, Alert/ });
  expect(failed.getAttribute('data-level')).toBe('red');
  expect(screen.getByRole('group', { name: /^Overall: Alert/ })).toBeTruthy();
});

it('a table under the limit still takes one grouped aggregate', async () => {
  const m = mountMonitor({ rows: rows() });
  await screen.findByRole('group', { name: /^Failed: 2/ });
  expect(aggregateQueries(m)).toHaveLength(1);
});

it('errors other than 0x8004E023 still show as before', async () => {
  mountMonitor({ rows: rows(), failQueries: { [groupedQuery]: { message: 'Generic SQL error', errorCode: -2147204784 } } });
  expect(await screen.findByText('Status counts unavailable (aggregate query failed): Generic SQL error (code -2147204784)')).toBeTruthy();
});
