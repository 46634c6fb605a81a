// One row's life as the columns record it, so a person can see where the time went: committed (createdon), a wait for a
// scheduled time or a retry (obx_nextattempton, only while Pending: the publisher clears it when it sends), published
// (obx_publishedon: the start of the publish cycle that sent it; obx_attempts sends), processed (obx_ackedon: the
// consumer's processedAt from its acknowledgement; the row records no separate delivery time) and acknowledged (modifiedon
// of a row in a final acked status: nothing writes such a row again, so it is when Dataverse recorded the ack).
// The times come from three clocks (Dataverse, the publisher's, the consumer's), so a step may read earlier than the one
// before it: that is shown as clock skew, never as a negative duration. Every cell may be missing or hostile.
import { HELD_BEHIND_KEY_REASON, parseTraceParent, scheduledUntil } from '@dataverse-outbox/contract';
import { formatCount, readDate, secondsBetween } from './format';
import { readStatus, statusLabels } from './status';

/** The raw cells of a row the timeline reads, as the Web API returned them (never trusted). */
export interface TimelineCells {
  status: unknown;
  createdOn: unknown;
  nextAttemptOn: unknown;
  attempts: unknown;
  lastError: unknown;
  publishedOn: unknown;
  ackedOn: unknown;
  modifiedOn: unknown;
  traceContext: unknown;
}

/**
 * done: reached at `at`; unknown: reached (or, with no readable status, maybe), time not readable; pending: not reached
 * yet, the row may still get there; never: not reached, and its final status says it will not be.
 */
export type StepState = 'done' | 'unknown' | 'pending' | 'never';

export interface TimelineStep {
  label: string;
  state: StepState;
  /** When it happened; for a pending wait, when it ends. */
  at?: Date;
  /** Seconds from the previous reached step (or, for the first pending step, waited so far): never negative. */
  seconds?: number;
  /** True when `seconds` is the wait so far, still running. */
  running?: boolean;
  /** The step's time is before the previous reached step's: the clocks disagree. */
  skew?: boolean;
  detail?: string;
}

export interface Timeline {
  steps: TimelineStep[];
  /** The W3C trace id from obx_tracecontext, only when it is a valid traceparent. */
  traceId?: string;
  note?: string;
}

/** Whole numbers up to 2^53; anything else (negative, fractional, text, 1e308) is unreadable. */
function readCount(raw: unknown): number | undefined {
  const n = typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : raw;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

const dateOf = (raw: unknown): Date | undefined => readDate(raw) ?? undefined;
const text = (raw: unknown): string | undefined => (typeof raw === 'string' && raw.trim() !== '' ? raw : undefined);

export function buildTimeline(cells: TimelineCells, now: Date): Timeline {
  const status = readStatus(cells.status);
  const name = status.kind === 'known' ? status.name : undefined;
  const attempts = readCount(cells.attempts);
  const lastError = text(cells.lastError);
  const ackedOn = dateOf(cells.ackedOn);
  const next = dateOf(cells.nextAttemptOn);
  const sent = name === 'Published' || name === 'Acked' || name === 'DeadLettered';
  // Only a consumer's answer sets obx_ackedon on a final row; a Service Bus dead letter leaves it empty.
  const answered = name === 'Acked' || (name === 'DeadLettered' && readDate(cells.ackedOn) !== undefined);
  const tries = attempts === undefined ? 'attempts unknown' : `${formatCount(attempts)} attempt${attempts === 1 ? '' : 's'}`;

  const raw: { label: string; reached: boolean; at?: Date; detail?: string }[] = [{ label: 'Committed', reached: true, at: dateOf(cells.createdOn) }];
  if (name === 'Pending' && next) {
    const scheduled = scheduledUntil({ status: status.kind === 'known' ? status.value : null, attempts: attempts ?? null, nextAttemptOn: next, lastError: lastError ?? null }, now);
    const detail = scheduled
      ? 'scheduled: not sent before this time'
      : lastError === HELD_BEHIND_KEY_REASON
        ? 'held behind an earlier row of its session key'
        : attempts
          ? `retry after ${tries}`
          : 'not before this time';
    raw.push({ label: scheduled ? 'Scheduled' : 'Waiting', reached: next.getTime() <= now.getTime(), at: next, detail });
  }
  if (name === 'Failed' || name === 'Cancelled') {
    raw.push({ label: statusLabels[name], reached: true, at: dateOf(cells.modifiedOn), detail: name === 'Failed' ? `gave up after ${tries}` : undefined });
  } else {
    raw.push(
      { label: 'Published', reached: sent, at: sent ? dateOf(cells.publishedOn) : undefined, detail: sent ? tries : undefined },
      {
        label: name === 'DeadLettered' ? 'Rejected by the consumer' : 'Processed by the consumer',
        reached: answered,
        at: answered ? ackedOn : undefined,
        detail: answered ? "delivered and processed: the consumer's processedAt (one time for both)" : name === 'DeadLettered' ? 'dead-lettered by Service Bus: no answer' : undefined,
      },
      { label: 'Acknowledged', reached: answered, at: answered ? dateOf(cells.modifiedOn) : undefined, detail: answered ? 'recorded in Dataverse' : undefined },
    );
  }

  // A step not reached is pending only while the row can still get there (Pending, Published); otherwise it never will.
  const open = name === 'Pending' || name === 'Published';
  const steps: TimelineStep[] = [];
  let previous: Date | undefined;
  let first = true;
  // forEach, not for-of: pcf-scripts' Babel would inline an iterator helper into the bundle (test/bundle.test.ts budget).
  raw.forEach((step) => {
    const state: StepState = step.reached ? (step.at ? 'done' : 'unknown') : open ? 'pending' : name ? 'never' : 'unknown';
    const out: TimelineStep = { label: step.label, state, at: step.at, detail: step.detail };
    if (state === 'done' && step.at) {
      const seconds = previous && secondsBetween(previous, step.at);
      if (seconds !== undefined && seconds < 0) out.skew = true;
      else if (seconds !== undefined) out.seconds = seconds;
      previous = step.at;
    } else if (state === 'unknown') {
      // A reached step without a readable time: the next duration would span two steps, so none is given.
      previous = undefined;
    } else if (state === 'pending' && first) {
      // The first step not reached: how long the row has waited for it so far.
      first = false;
      if (previous && previous.getTime() <= now.getTime()) {
        out.seconds = secondsBetween(previous, now);
        out.running = true;
      }
    }
    steps.push(out);
  });
  const traceId = parseTraceParent(cells.traceContext)?.traceId;
  // With no readable status nothing after the commit can be placed (the grid row already says why).
  const note = name ? undefined : 'The status is not readable: the later steps are unknown.';
  const timeline: Timeline = { steps };
  if (traceId) timeline.traceId = traceId;
  if (note) timeline.note = note;
  return timeline;
}
