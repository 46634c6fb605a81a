// Payloads and errors are data from other systems: they must render as text, never as HTML, and nothing in them may run.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { fireEvent, screen } from '@testing-library/react';
import { mountMonitor, settleAndCleanup } from './harness';
import { outboxRow } from './fakeContext';

const c = OutboxMessage.columns;

afterEach(settleAndCleanup);

declare global {
  interface Window {
    __pwned?: number;
  }
}

const payload = '{"note":"<script>window.__pwned = 1</script><img src=x onerror=\\"window.__pwned = 2\\">"}';
const lastError = '<b>boom</b><script>window.__pwned = 3</script><iframe src="javascript:window.__pwned = 4"></iframe>';
const name = '<img src=y onerror="window.__pwned = 5">order';

it('renders a payload, last error and name containing HTML and <script> as text, and runs nothing', async () => {
  mountMonitor({
    rows: [outboxRow({ [c.name]: name, [c.status]: OutboxStatus.Failed, [c.payload]: payload, [c.lastError]: lastError, [c.eventType]: '<u>Evt</u>' })],
  });
  // Grid cells: the markup is visible as characters.
  expect(screen.getByText(name)).toBeTruthy();
  expect(screen.getByText('<u>Evt</u>')).toBeTruthy();
  expect(document.querySelector('[data-last-error]')?.textContent).toContain('<b>boom</b><script>');

  fireEvent.click(screen.getByRole('button', { name: `Show payload and full error of ${name}` }));
  const shownPayload = await screen.findByLabelText('Payload');
  expect(shownPayload.textContent).toBe(JSON.stringify(JSON.parse(payload), null, 2));
  expect(shownPayload.textContent).toContain('<script>window.__pwned = 1</script>');
  expect(screen.getByLabelText('Last error', { selector: 'pre' }).textContent).toBe(lastError);

  // Nothing from the data became an element, and nothing ran.
  expect(document.querySelectorAll('script, img, iframe, b, u')).toHaveLength(0);
  expect(shownPayload.children).toHaveLength(0);
  expect(window.__pwned).toBeUndefined();
});
