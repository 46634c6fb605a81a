// Health from the rows the host loaded, for hosts without the Dataverse Web API (Microsoft's PCF test harness): the same
// report the header shows, computed from those rows only and saying so. With the Web API, services.ts counts on the
// server instead (bounded reads of the statuses health judges).
import { defaultHealthThresholds, OutboxMessage } from '@dataverse-outbox/contract';
import type { StatusCounts } from './health';
import type { OutboxRow } from './rows';
import type { HealthReport, Outcome } from './services';
import { statusOrder } from './status';

const c = OutboxMessage.columns;

/** What cannot be known from loaded rows alone (the view carries neither publish times nor the whole table). */
export const notFromLoadedRows = {
  lastPublish: 'time since the last publish',
  series: 'the last 24 hours',
} as const;

function countsOf(rows: readonly OutboxRow[]): StatusCounts {
  const byStatus = Object.fromEntries(statusOrder.map((name) => [name, 0])) as Record<(typeof statusOrder)[number], number>;
  const unknown = new Map<string, number>();
  for (const row of rows) {
    if (row.status.kind === 'known') byStatus[row.status.name] += 1;
    else {
      const label = row.status.kind === 'missing' ? 'no status' : `status ${JSON.stringify(row.status.raw)}`;
      unknown.set(label, (unknown.get(label) ?? 0) + 1);
    }
  }
  return { byStatus, unknown: [...unknown].map(([label, count]) => ({ label, count })), total: rows.length, capped: [] };
}

function oldestPending(rows: readonly OutboxRow[]): Date | null {
  let oldest: Date | null = null;
  for (const row of rows) {
    // A scheduled event before its time is not late work.
    if (row.status.kind !== 'known' || row.status.name !== 'Pending' || !row.createdOn || row.scheduledUntil) continue;
    if (!oldest || row.createdOn.getTime() < oldest.getTime()) oldest = row.createdOn;
  }
  return oldest;
}

/** The header's report from `rows` (read from a view with `columns`), judged against the default thresholds. */
export function healthFromRows(rows: readonly OutboxRow[], columns: ReadonlySet<string>, now: Date): HealthReport {
  const unavailable = (what: string): Outcome<never> => ({ ok: false, error: what });
  return {
    generatedAt: now,
    counts: columns.has(c.status) ? { ok: true, value: countsOf(rows) } : unavailable('Counts by status (the view has no Status column)'),
    oldestPending: columns.has(c.status) && columns.has(c.createdOn) ? { ok: true, value: oldestPending(rows) } : unavailable('Oldest pending row (the view needs Status and Created on)'),
    lastPublish: unavailable(notFromLoadedRows.lastPublish),
    series: unavailable(notFromLoadedRows.series),
    thresholds: { ...defaultHealthThresholds },
    scope: { loadedRows: rows.length },
  };
}
