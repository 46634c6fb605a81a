/**
 * @jest-environment node
 */
// The row timeline's rules (core/timeline.ts): which steps a row has reached by its status, the durations between them,
// and what hostile or disagreeing cells turn into (never a negative duration, never an unchecked trace id).
import { HELD_BEHIND_KEY_REASON, OutboxStatus } from '@dataverse-outbox/contract';
import { buildTimeline, type TimelineCells, type TimelineStep } from '../OutboxMonitor/core/timeline';

const S = OutboxStatus;
const now = new Date('2030-01-31T12:00:00Z');
const at = (hhmmss: string): string => `2030-01-31T${hhmmss}Z`;
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function cells(overrides: Partial<TimelineCells>): TimelineCells {
  return {
    status: S.Pending,
    createdOn: at('10:00:00'),
    nextAttemptOn: null,
    attempts: 0,
    lastError: null,
    publishedOn: null,
    ackedOn: null,
    modifiedOn: null,
    traceContext: null,
    ...overrides,
  };
}

/** label, state, seconds (or "skew"), "so far" marker: the parts a person reads. */
function summary(steps: readonly TimelineStep[]): string[] {
  return steps.map((s) => [s.label, s.state, s.skew ? 'skew' : (s.seconds ?? '-'), s.running ? 'so far' : ''].join(' ').trim());
}

describe('a row that went all the way', () => {
  it('an Acked row: committed, published after its attempts, processed, acknowledged, each with the time since the one before', () => {
    const timeline = buildTimeline(
      cells({ status: S.Acked, attempts: 3, publishedOn: at('10:03:00'), ackedOn: at('10:03:20'), modifiedOn: at('10:03:21.500'), traceContext: traceparent }),
      now,
    );
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published done 180', 'Processed by the consumer done 20', 'Acknowledged done 1.5']);
    expect(timeline.steps[1]?.detail).toBe('3 attempts');
    expect(timeline.steps[2]?.detail).toMatch(/one time for both/);
    expect(timeline.steps[3]?.detail).toBe('recorded in Dataverse');
    expect(timeline.steps.map((s) => s.at?.toISOString())).toEqual([at('10:00:00.000'), at('10:03:00.000'), at('10:03:20.000'), at('10:03:21.500')]);
    expect(timeline.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(timeline.note).toBeUndefined();
  });

  it('a row rejected by its consumer (DeadLettered with an acknowledgement) shows the rejection as processing', () => {
    const timeline = buildTimeline(cells({ status: S.DeadLettered, attempts: 1, publishedOn: at('10:00:01'), ackedOn: at('10:00:03'), modifiedOn: at('10:00:04') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published done 1', 'Rejected by the consumer done 2', 'Acknowledged done 1']);
    expect(timeline.steps[1]?.detail).toBe('1 attempt');
  });

  it('a row Service Bus dead-lettered (no acknowledgement): published, never processed', () => {
    const timeline = buildTimeline(cells({ status: S.DeadLettered, attempts: 1, publishedOn: at('10:00:01'), modifiedOn: at('11:00:00') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published done 1', 'Rejected by the consumer never -', 'Acknowledged never -']);
    expect(timeline.steps[2]?.detail).toBe('dead-lettered by Service Bus: no answer');
  });
});

describe('a row on its way: the step it waits for says how long so far', () => {
  it('Pending, never attempted: waiting to be published since the commit', () => {
    const timeline = buildTimeline(cells({}), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published pending 7200 so far', 'Processed by the consumer pending -', 'Acknowledged pending -']);
  });

  it('Published: waiting for the consumer since the send', () => {
    const timeline = buildTimeline(cells({ status: S.Published, attempts: 1, publishedOn: at('11:59:00') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published done 7140', 'Processed by the consumer pending 60 so far', 'Acknowledged pending -']);
  });

  it('a scheduled event not due yet: the wait for its time, which ends in the future', () => {
    const timeline = buildTimeline(cells({ nextAttemptOn: at('13:00:00') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Scheduled pending 7200 so far', 'Published pending -', 'Processed by the consumer pending -', 'Acknowledged pending -']);
    expect(timeline.steps[1]?.at?.toISOString()).toBe(at('13:00:00.000'));
    expect(timeline.steps[1]?.detail).toBe('scheduled: not sent before this time');
  });

  it('a retry whose backoff has passed: the wait is done, publishing is what it waits for now', () => {
    const timeline = buildTimeline(cells({ attempts: 2, lastError: 'ServiceBusy', nextAttemptOn: at('11:00:00') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Waiting done 3600', 'Published pending 3600 so far', 'Processed by the consumer pending -', 'Acknowledged pending -']);
    expect(timeline.steps[1]?.detail).toBe('retry after 2 attempts');
  });

  it('a row held behind its session key is not called scheduled', () => {
    const timeline = buildTimeline(cells({ lastError: HELD_BEHIND_KEY_REASON, nextAttemptOn: at('12:05:00') }), now);
    expect(timeline.steps[1]).toMatchObject({ label: 'Waiting', state: 'pending', detail: 'held behind an earlier row of its session key' });
  });

  it('a Pending row keeps no old delivery: a replayed row with an earlier obx_publishedon is waiting to be published again', () => {
    const timeline = buildTimeline(cells({ attempts: 0, publishedOn: at('10:01:00') }), now);
    expect(timeline.steps[1]).toMatchObject({ label: 'Published', state: 'pending', at: undefined });
  });
});

describe('rows that stopped', () => {
  it('Failed: the publisher gave up; no publish, processing or acknowledgement steps', () => {
    const timeline = buildTimeline(cells({ status: S.Failed, attempts: 10, lastError: 'Gave up', modifiedOn: at('10:30:00') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Failed done 1800']);
    expect(timeline.steps[1]?.detail).toBe('gave up after 10 attempts');
  });

  it('Cancelled: when it was cancelled', () => {
    expect(summary(buildTimeline(cells({ status: S.Cancelled, modifiedOn: at('10:00:30') }), now).steps)).toEqual(['Committed done -', 'Cancelled done 30']);
  });
});

describe('hostile and disagreeing cells', () => {
  it('a step earlier than the one before (three clocks) is clock skew, never a negative duration; the next is measured from it', () => {
    const timeline = buildTimeline(cells({ status: S.Acked, attempts: 1, publishedOn: at('10:05:00'), ackedOn: at('10:04:00'), modifiedOn: at('10:04:10') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published done 300', 'Processed by the consumer done skew', 'Acknowledged done 10']);
    expect(timeline.steps.every((s) => s.seconds === undefined || s.seconds >= 0)).toBe(true);
  });

  it('a commit time in the future gives no "so far" wait (it would be negative)', () => {
    const timeline = buildTimeline(cells({ createdOn: at('12:30:00') }), now);
    expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published pending -', 'Processed by the consumer pending -', 'Acknowledged pending -']);
  });

  it('unreadable or missing dates: the step is reached with its time unknown, and no duration spans it', () => {
    for (const bad of ['yesterday', '2030-13-45T99:00:00Z', 8.64e15 + 1, {}, true, [at('10:00:00')]]) {
      const timeline = buildTimeline(cells({ status: S.Acked, attempts: 1, publishedOn: bad, ackedOn: at('10:00:02'), modifiedOn: at('10:00:03') }), now);
      expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published unknown -', 'Processed by the consumer done -', 'Acknowledged done 1']);
    }
    const noCommit = buildTimeline(cells({ createdOn: undefined }), now);
    expect(summary(noCommit.steps)).toEqual(['Committed unknown -', 'Published pending -', 'Processed by the consumer pending -', 'Acknowledged pending -']);
    const noAck = buildTimeline(cells({ status: S.Acked, attempts: 1, publishedOn: at('10:00:01'), ackedOn: '', modifiedOn: at('10:00:05') }), now);
    expect(summary(noAck.steps)).toEqual(['Committed done -', 'Published done 1', 'Processed by the consumer unknown -', 'Acknowledged done -']);
  });

  it('attempt counts: huge ones are shown in full, anything that is not a whole number is "attempts unknown"', () => {
    const detail = (attempts: unknown): string | undefined => buildTimeline(cells({ status: S.Published, attempts, publishedOn: at('10:00:01') }), now).steps[1]?.detail;
    expect(detail(2_147_483_647)).toBe('2,147,483,647 attempts');
    expect(detail('12')).toBe('12 attempts');
    for (const bad of [1e308, Number.MAX_SAFE_INTEGER + 2, -1, 1.5, NaN, Infinity, '12abc', '1e3', '99999999999999999999', null, {}, []]) expect(detail(bad)).toBe('attempts unknown');
  });

  it('a trace id only from a valid W3C traceparent', () => {
    const traceOf = (traceContext: unknown): string | undefined => buildTimeline(cells({ traceContext }), now).traceId;
    expect(traceOf(traceparent)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const bad of [
      traceparent.toUpperCase(),
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `${traceparent};tracestate=x`,
      `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`,
      '<script>alert(1)</script>',
      42,
      null,
      undefined,
    ]) {
      expect(traceOf(bad)).toBeUndefined();
    }
    expect('traceId' in buildTimeline(cells({ traceContext: 'nope' }), now)).toBe(false);
  });

  it('no readable status (column security, or a value this version does not know): only the commit is placed', () => {
    for (const status of [null, undefined, 42, 'Acked', '<b>x</b>']) {
      const timeline = buildTimeline(cells({ status, publishedOn: at('10:00:01'), ackedOn: at('10:00:02'), modifiedOn: at('10:00:03') }), now);
      expect(summary(timeline.steps)).toEqual(['Committed done -', 'Published unknown -', 'Processed by the consumer unknown -', 'Acknowledged unknown -']);
      expect(timeline.note).toBe('The status is not readable: the later steps are unknown.');
    }
  });

  it('the status may come as text digits, as a dataset reads it', () => {
    expect(buildTimeline(cells({ status: String(S.Published), publishedOn: at('10:00:01') }), now).steps[1]?.state).toBe('done');
  });
});
