// Column security: Dataverse returns the secured columns a user may not read as null. The details panel says so in
// words instead of showing a blank, as text (never HTML), whether only the payload is hidden (Outbox Reader) or every
// secured column is (a user in no outbox column security profile).
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { fireEvent, screen } from '@testing-library/react';
import { mountMonitor, settleAndCleanup } from './harness';
import { outboxRow } from './fakeContext';

const c = OutboxMessage.columns;

afterEach(settleAndCleanup);

it('a Reader (payload hidden, status readable) sees why there is no payload, not a blank', async () => {
  mountMonitor({ rows: [outboxRow({ [c.name]: 'order 1', [c.status]: OutboxStatus.Published, [c.payload]: null })] });
  fireEvent.click(screen.getByRole('button', { name: 'Show payload and full error of order 1' }));
  const payload = await screen.findByLabelText('Payload');
  expect(payload.textContent).toBe('(no payload: hidden by column security, or none stored)');
  expect(await screen.findByText(/your column security profile may not read payloads \(Outbox Reader does not/)).toBeTruthy();
  expect(payload.children).toHaveLength(0);
});

it('a user in no outbox profile (status, payload and error hidden) sees "Hidden by column security" as text', async () => {
  const name = '<img src=x onerror="window.__pwned = 9">order 2';
  mountMonitor({ rows: [outboxRow({ [c.name]: name, [c.status]: null, [c.payload]: null, [c.lastError]: null, [c.target]: null })] });
  fireEvent.click(screen.getByRole('button', { name: `Show payload and full error of ${name}` }));
  // The grid row says why its status is empty.
  expect(screen.getByText(/No status \(hidden by column security, or never set\)/)).toBeTruthy();
  const payload = await screen.findByLabelText('Payload');
  expect(payload.textContent).toBe('Hidden by column security');
  expect(screen.getByLabelText('Last error', { selector: 'pre' }).textContent).toBe('Hidden by column security');
  expect(await screen.findByText(/your user is in no column security profile that may read the payload, status and error/)).toBeTruthy();
  expect(document.querySelectorAll('img')).toHaveLength(0);
  expect((window as { __pwned?: number }).__pwned).toBeUndefined();
});
