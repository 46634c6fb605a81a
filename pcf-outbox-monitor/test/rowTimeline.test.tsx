// The row timeline in the details panel, through the real control against the fake context: what loadDetails reads,
// the steps and durations as rendered, the proportional bar, and hostile cells rendered as text (or not at all).
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { fireEvent, render, screen, within } from '@testing-library/react';
import * as React from 'react';
import { RowTimeline } from '../OutboxMonitor/components/RowTimeline';
import { buildTimeline } from '../OutboxMonitor/core/timeline';
import { outboxRow } from './fakeContext';
import { mountMonitor, settleAndCleanup, type Mounted } from './harness';

const c = OutboxMessage.columns;
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

afterEach(settleAndCleanup);

function retrieveQueries(m: Mounted): string[] {
  return m.calls.filter((call) => call.method === 'webAPI.retrieveRecord').map((call) => String(call.args[2]));
}

async function openTimeline(name: string): Promise<HTMLElement> {
  fireEvent.click(screen.getByRole('button', { name: `Show payload and full error of ${name}` }));
  return screen.findByRole('region', { name: 'Timeline' });
}

/** Each table row as "label | time | took" (the label without its colour swatch and detail line). */
function rowsOf(timeline: HTMLElement): string[] {
  return Array.from(timeline.querySelectorAll('tbody tr')).map((tr) => {
    const [step, time, took] = Array.from(tr.querySelectorAll('td'));
    const label = Array.from(step?.childNodes ?? []).filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('');
    return [label, time?.textContent, took?.textContent].join(' | ');
  });
}

it('reads the timeline columns with the details, and shows each step with its time and the time it took', async () => {
  const m = mountMonitor({
    rows: [
      outboxRow({
        [c.name]: 'order 1',
        [c.status]: OutboxStatus.Acked,
        [c.attempts]: 3,
        [c.createdOn]: '2030-01-31T10:00:00Z',
        [c.publishedOn]: '2030-01-31T10:47:00Z',
        [c.ackedOn]: '2030-01-31T10:47:20Z',
        [c.modifiedOn]: '2030-01-31T10:47:22Z',
        [c.traceContext]: `00-${traceId}-00f067aa0ba902b7-01`,
      }),
    ],
  });
  const timeline = await openTimeline('order 1');
  const [query = ''] = retrieveQueries(m);
  for (const column of [c.createdOn, c.publishedOn, c.ackedOn, c.modifiedOn, c.attempts, c.nextAttemptOn, c.traceContext, c.status, c.payload]) expect(query).toContain(column);

  expect(rowsOf(timeline)).toEqual([
    'Committed | 2030-01-31 10:00:00 UTC | —',
    'Published | 2030-01-31 10:47:00 UTC | 47 min',
    'Processed by the consumer | 2030-01-31 10:47:20 UTC | 20 s',
    'Acknowledged | 2030-01-31 10:47:22 UTC | 2 s',
  ]);
  expect(within(timeline).getByText('3 attempts')).toBeTruthy();
  // The longest wait stands out: the widest segment, and its row is bold.
  const bar = within(timeline).getByRole('img', { name: 'Where the time went: Published 47 min, Processed by the consumer 20 s, Acknowledged 2 s' });
  const segments = Array.from(bar.children) as HTMLElement[];
  expect(segments.map((s) => [s.dataset['segment'], s.style.flexGrow])).toEqual([
    ['Published', '2820'],
    ['Processed by the consumer', '20'],
    ['Acknowledged', '2'],
  ]);
  expect((timeline.querySelector('tr[data-step="Published"]') as HTMLElement).style.fontWeight).toBe('600');
  expect((timeline.querySelector('tr[data-step="Acknowledged"]') as HTMLElement).style.fontWeight).toBe('');
  expect(within(timeline).getByText(traceId).tagName).toBe('CODE');
  // Above the payload.
  expect(timeline.compareDocumentPosition(screen.getByLabelText('Payload')) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
});

it('a Published row waits for its consumer: that step says how long so far, the later one is pending', async () => {
  mountMonitor({ rows: [outboxRow({ [c.name]: 'order 2', [c.status]: OutboxStatus.Published, [c.attempts]: 1, [c.publishedOn]: new Date(Date.now() - 125_000).toISOString() })] });
  const timeline = await openTimeline('order 2');
  const processed = timeline.querySelector('tr[data-step="Processed by the consumer"]') as HTMLElement;
  expect(processed.dataset['state']).toBe('pending');
  expect(processed.textContent).toMatch(/pending2 min so far$/);
  expect(timeline.querySelector('tr[data-step="Acknowledged"]')?.textContent).toBe('■ Acknowledgedpending—');
});

it('clock skew is said in words, never a negative duration; an invalid trace context is not shown', async () => {
  mountMonitor({
    rows: [
      outboxRow({
        [c.name]: 'order 3',
        [c.status]: OutboxStatus.Acked,
        [c.attempts]: 1,
        [c.createdOn]: '2030-01-31T10:00:00Z',
        [c.publishedOn]: '2030-01-31T10:05:00Z',
        [c.ackedOn]: '2030-01-31T10:04:00Z',
        [c.modifiedOn]: 'not a date',
        [c.traceContext]: `00-${traceId.toUpperCase()}-00f067aa0ba902b7-01`,
      }),
    ],
  });
  const timeline = await openTimeline('order 3');
  expect(rowsOf(timeline)).toEqual([
    'Committed | 2030-01-31 10:00:00 UTC | —',
    'Published | 2030-01-31 10:05:00 UTC | 5 min',
    'Processed by the consumer | 2030-01-31 10:04:00 UTC | clock skew',
    'Acknowledged | time unknown | —',
  ]);
  expect(Array.from(timeline.querySelectorAll('tbody td:last-child')).map((td) => td.textContent)).not.toContainEqual(expect.stringMatching(/^-/));
  expect(timeline.textContent).not.toMatch(/Trace id/i);
});

it('a user whose profile hides the secured columns sees the commit only, and why', async () => {
  mountMonitor({
    rows: [
      outboxRow({ [c.name]: 'order 4', [c.status]: null, [c.payload]: null, [c.lastError]: null, [c.attempts]: null, [c.publishedOn]: null, [c.createdOn]: '2030-01-31T10:00:00Z' }),
    ],
  });
  const timeline = await openTimeline('order 4');
  expect(rowsOf(timeline)).toEqual(['Committed | 2030-01-31 10:00:00 UTC | —', 'Published | time unknown | —', 'Processed by the consumer | time unknown | —', 'Acknowledged | time unknown | —']);
  expect(within(timeline).getByText('The status is not readable: the later steps are unknown.')).toBeTruthy();
  expect(within(timeline).queryByRole('img')).toBeNull();
});

it('renders every value as text: no element comes from a cell', () => {
  const timeline = buildTimeline(
    {
      status: OutboxStatus.Failed,
      createdOn: '<img src=x onerror="window.__pwned=1">',
      nextAttemptOn: null,
      attempts: '<b>9</b>',
      lastError: '<script>window.__pwned=2</script>',
      publishedOn: null,
      ackedOn: null,
      modifiedOn: '2030-01-31T10:00:00Z',
      traceContext: '<script>window.__pwned=3</script>',
    },
    new Date('2030-01-31T12:00:00Z'),
  );
  const { container } = render(<RowTimeline timeline={timeline} />);
  expect(container.querySelectorAll('img, script, b')).toHaveLength(0);
  expect(container.textContent).toContain('gave up after attempts unknown');
  expect((window as { __pwned?: number }).__pwned).toBeUndefined();
});
