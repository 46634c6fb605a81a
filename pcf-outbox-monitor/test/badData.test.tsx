// Bad data never blanks the control: each problem gets a visible, specific message, and the rest keeps working.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { fireEvent, screen } from '@testing-library/react';
import { gridColumns } from '../OutboxMonitor/core/rows';
import { mountMonitor, settleAndCleanup } from './harness';
import { outboxRow } from './fakeContext';

const c = OutboxMessage.columns;
const S = OutboxStatus;

afterEach(settleAndCleanup);

function selectFirstRow(): void {
  const toggle = document.querySelector('[role="row"] [data-selection-toggle="true"]');
  if (!toggle) throw new Error('no row toggle');
  fireEvent.click(toggle);
}

it('names the columns the view is missing and keeps actions off without a status column', async () => {
  mountMonitor({
    rows: [outboxRow({ [c.name]: 'only row', [c.status]: S.Failed })],
    columns: gridColumns.map((col) => col.name).filter((name) => name !== c.status && name !== c.target),
  });
  expect(await screen.findByText(/This view has no Status \(obx_status\) column, so rows show no status/)).toBeTruthy();
  expect(await screen.findByText(/This view has no Target \(obx_target\) column; those cells show "—"/)).toBeTruthy();
  expect(screen.getByText('only row')).toBeTruthy();
  selectFirstRow();
  expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Retry selected rows' }).disabled).toBe(true);
  await screen.findByRole('group', { name: /^Failed: 1/ });
});

it('shows unknown status values on the row (the header counts only the statuses health judges)', async () => {
  mountMonitor({ rows: [outboxRow({ [c.name]: 'odd row', [c.status]: 612000099 }), outboxRow({ [c.status]: S.Pending })] });
  expect(screen.getByText('Unknown (612000099)')).toBeTruthy();
  expect(screen.getByText(/Unknown status value 612000099/)).toBeTruthy();
  expect((await screen.findByLabelText('Rows by status')).textContent).toBe('Pending: 1Failed: 0Dead-lettered: 0');
  selectFirstRow();
  for (const verb of ['Retry', 'Replay', 'Cancel']) {
    expect(screen.getByRole<HTMLButtonElement>('button', { name: `${verb} selected rows` }).disabled).toBe(true);
  }
});

it('reports unreadable cells (dates, numbers, empty status) on the row itself', () => {
  mountMonitor({
    rows: [outboxRow({ [c.name]: 'broken row', [c.status]: null, [c.createdOn]: 'not a date', [c.attempts]: 'three' })],
  });
  expect(screen.getByText(/No status \(hidden by column security, or never set\); Attempts is not a number \("three"\); Created on is not a date/)).toBeTruthy();
});

it('shows every failing health query with its reason and still renders the grid', async () => {
  mountMonitor({
    rows: [outboxRow({ [c.name]: 'still here' })],
    // The first matching needle answers: the bounded counts' own before '$top=1' (which their $top=100 also contains).
    failQueries: { '$select=obx_outboxmessageid&': { message: 'Generic SQL error' }, '$top=1': { message: 'timeout' }, ' ge ': { message: 'throttled', errorCode: 429 } },
  });
  expect(await screen.findByText('Status counts unavailable: Generic SQL error')).toBeTruthy();
  expect(screen.getByText('Oldest pending row unavailable: timeout')).toBeTruthy();
  expect(screen.getByText('Last publish time unavailable: timeout')).toBeTruthy();
  expect(screen.getByText('Last 24 hours unavailable: throttled (code 429)')).toBeTruthy();
  expect(screen.getByRole('group', { name: 'Overall: Unknown, Unknown' })).toBeTruthy();
  expect(screen.getByText('still here')).toBeTruthy();
});

it('says when the thresholds setting is unusable and falls back to the defaults', async () => {
  mountMonitor({ rows: [outboxRow()], thresholdsJson: '{"maxFailed": "lots"' });
  expect(await screen.findByText(/^obx_HealthThresholds is not valid JSON \(.+\): "\{\\"maxFailed\\": \\"lots\\""; using the defaults for what is unusable$/)).toBeTruthy();
});

it('says when the thresholds setting is not defined in the environment', async () => {
  mountMonitor({ rows: [outboxRow()], thresholdsJson: null });
  expect(await screen.findByText('obx_HealthThresholds is not defined in this environment; using the defaults')).toBeTruthy();
});

it('shows the dataset error instead of an empty grid', async () => {
  mountMonitor({ rows: [], datasetError: 'The view "Failed messages" was deleted' });
  expect(await screen.findByText(/Could not load the view: The view "Failed messages" was deleted/)).toBeTruthy();
  expect(screen.queryByText(/No outbox rows match/)).toBeNull();
});

it('says so when a row has no payload or a payload that is not JSON', async () => {
  mountMonitor({ rows: [outboxRow({ [c.name]: 'empty', [c.payload]: null }), outboxRow({ [c.name]: 'broken', [c.payload]: '{"a":' })] });
  fireEvent.click(screen.getByRole('button', { name: 'Show payload and full error of broken' }));
  expect(await screen.findByText('The payload is not valid JSON: shown as stored.')).toBeTruthy();
  expect(screen.getByLabelText('Payload').textContent).toBe('{"a":');
});

it('shows a specific message when a row cannot be loaded for its details', async () => {
  const m = mountMonitor({ rows: [outboxRow({ [c.name]: 'gone' })] });
  m.table.splice(0, 1); // deleted by the cleanup job after the grid loaded
  fireEvent.click(screen.getByRole('button', { name: 'Show payload and full error of gone' }));
  expect(await screen.findByText(/Could not load this message: Entity with id .* does not exist \(code -2147220969\)/)).toBeTruthy();
});
