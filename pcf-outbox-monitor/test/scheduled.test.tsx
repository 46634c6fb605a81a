// Scheduled events in the monitor: a Pending row never attempted, not held, whose obx_nextattempton is ahead shows as
// "Scheduled until <time>" (the contract's one definition, scheduledUntil); a row backing off or held behind its key
// stays "Pending"; and Cancel is offered for the scheduled row (cancel works until it is sent).
import { HELD_BEHIND_KEY_REASON, OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { fireEvent, screen } from '@testing-library/react';
import { gridColumns } from '../OutboxMonitor/core/rows';
import { mountMonitor, settleAndCleanup } from './harness';
import { outboxRow } from './fakeContext';

const c = OutboxMessage.columns;
const S = OutboxStatus;

afterEach(settleAndCleanup);

const inAnHour = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
const shown = `Scheduled until ${inAnHour.toISOString().slice(0, 10)} ${inAnHour.toISOString().slice(11, 19)} UTC`;

it('shows a scheduled row as "Scheduled until <time>", and rows backing off or held as Pending', () => {
  mountMonitor({
    columns: [...gridColumns.map((col) => col.name), c.nextAttemptOn],
    rows: [
      outboxRow({ [c.name]: 'reminder', [c.nextAttemptOn]: inAnHour.toISOString() }),
      outboxRow({ [c.name]: 'retrying', [c.attempts]: 2, [c.lastError]: 'Attempt 2 failed: timeout', [c.nextAttemptOn]: inAnHour.toISOString() }),
      outboxRow({ [c.name]: 'held', [c.lastError]: HELD_BEHIND_KEY_REASON, [c.nextAttemptOn]: inAnHour.toISOString() }),
      outboxRow({ [c.name]: 'due', [c.nextAttemptOn]: new Date(Date.now() - 1000).toISOString() }),
    ],
  });
  const badges = [...document.querySelectorAll('[data-status]')].map((b) => b.textContent);
  expect(badges).toEqual([shown, 'Pending', 'Pending', 'Pending']);
  expect(document.querySelectorAll('[data-scheduled="true"]')).toHaveLength(1);
});

it('without obx_nextattempton in the view a scheduled row reads as Pending (nothing is guessed)', () => {
  mountMonitor({ rows: [outboxRow({ [c.name]: 'reminder', [c.nextAttemptOn]: inAnHour.toISOString() })] });
  expect([...document.querySelectorAll('[data-status]')].map((b) => b.textContent)).toEqual(['Pending']);
});

it('offers Cancel for a scheduled row', () => {
  mountMonitor({
    columns: [...gridColumns.map((col) => col.name), c.nextAttemptOn],
    rows: [outboxRow({ [c.name]: 'reminder', [c.status]: S.Pending, [c.nextAttemptOn]: inAnHour.toISOString() })],
  });
  const toggle = document.querySelector('[role="row"] [data-selection-toggle="true"]');
  if (!toggle) throw new Error('no row toggle');
  fireEvent.click(toggle);
  expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Cancel selected rows' }).disabled).toBe(false);
});

it('a scheduled row before its time is not counted as the oldest pending work (header and health)', async () => {
  const longAgo = new Date(Date.now() - 3 * 3_600_000).toISOString();
  mountMonitor({
    columns: [...gridColumns.map((col) => col.name), c.nextAttemptOn],
    rows: [
      outboxRow({ [c.name]: 'reminder', [c.createdOn]: longAgo, [c.nextAttemptOn]: inAnHour.toISOString() }),
      outboxRow({ [c.name]: 'due now' }),
    ],
  });
  // The due row was created a minute ago (outboxRow): the age shown is that, not the reminder's three hours.
  const age = await screen.findByText(/^1 min$/);
  expect(age).toBeTruthy();
});
