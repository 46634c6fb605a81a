// Scheduled events: a producer may give an outbox message a "not before" time (OutboxRowInput.notBefore). The writer
// stores it in obx_nextattempton when it creates the row, with obx_attempts 0 and no obx_lasterror; the publisher does
// not read the row before then (its publish query skips rows whose obx_nextattempton is in the future), and wakes up
// at the earliest such time so the row goes out within a second of it. Cancel works as for any Pending row.
//
// Order per key: a scheduled row does not hold back its key. It joins its key's order when it comes due, as a Service
// Bus scheduled message joins its session when it is enqueued: rows of its key that were committed before it and are
// still Pending then go first, and rows of its key that are due earlier (committed after it) are sent without waiting
// for it. (Holding the key would freeze every later event of, say, an order until a reminder due next month is sent.)
//
// The same column carries the publisher's retry backoff (obx_attempts > 0) and its holds behind a failing row of the
// key (obx_lasterror says so): only a Pending row with neither is "scheduled", the one definition below.
import { OutboxMessage, OutboxStatus } from './generated/names';

/** How far ahead a message may be scheduled: one year (365 days). Further is refused as a likely unit mistake. */
export const MAX_SCHEDULE_AHEAD_MS = 365 * 24 * 60 * 60 * 1000;

/** The row fields that say whether it is scheduled; dates as Date or as the Web API's ISO text. */
export interface SchedulableRow {
  status?: number | null;
  attempts?: number | null;
  nextAttemptOn?: Date | string | null;
  lastError?: string | null;
}

/**
 * The time a Pending row is scheduled for, when it is a scheduled event that is not due yet at `now`: never attempted
 * (obx_attempts 0), not held (no obx_lasterror) and obx_nextattempton in the future. Undefined otherwise.
 */
export function scheduledUntil(row: SchedulableRow, now: Date): Date | undefined {
  if (row.status !== OutboxStatus.Pending || (row.attempts ?? 0) !== 0) return undefined;
  if (typeof row.lastError === 'string' && row.lastError.trim() !== '') return undefined;
  const next = row.nextAttemptOn instanceof Date ? row.nextAttemptOn : typeof row.nextAttemptOn === 'string' && row.nextAttemptOn !== '' ? new Date(row.nextAttemptOn) : undefined;
  if (!next || Number.isNaN(next.getTime()) || next.getTime() <= now.getTime()) return undefined;
  return next;
}

/** True for a Pending scheduled event that is not due yet at `now` (see scheduledUntil). */
export function isScheduled(row: SchedulableRow, now: Date): boolean {
  return scheduledUntil(row, now) !== undefined;
}

/**
 * OData `$filter` condition that leaves out scheduled events not due yet at `now` (the query form of scheduledUntil):
 * the pending-age figures (health, the monitor, the stall gauge) measure how long due work waits, and a row scheduled
 * for next week is not late. Combine it with `obx_status eq Pending`.
 */
export function notScheduledFilter(now: Date): string {
  const c = OutboxMessage.columns;
  return `(${c.nextAttemptOn} eq null or ${c.nextAttemptOn} le ${now.toISOString()} or ${c.attempts} gt 0 or ${c.lastError} ne null)`;
}

/** The obx_lasterror a publisher writes on a row it holds behind an earlier row of its key: not a scheduled event. */
export const HELD_BEHIND_KEY_REASON = 'Held behind an earlier row of its session key that is waiting to retry';
