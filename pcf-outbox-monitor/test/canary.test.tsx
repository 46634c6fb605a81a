// Canary rows (issue 21) in the monitor: tagged "canary" in the event type column (contract isCanary), business rows not.
import { canaryEventType, OutboxMessage } from '@dataverse-outbox/contract';
import { mountMonitor, settleAndCleanup } from './harness';
import { outboxRow } from './fakeContext';

const c = OutboxMessage.columns;

afterEach(settleAndCleanup);

it('tags canary rows and only them', () => {
  mountMonitor({
    rows: [outboxRow({ [c.name]: 'canary', [c.eventType]: canaryEventType }), outboxRow({ [c.name]: 'order', [c.eventType]: 'SalesOrderWon' })],
  });
  const tagged = [...document.querySelectorAll('[data-canary="true"]')];
  expect(tagged.map((t) => t.textContent)).toEqual([`canary${canaryEventType}`]);
  expect(document.body.textContent).toContain('SalesOrderWon');
});
