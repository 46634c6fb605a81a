// The grid's row model: one outbox row read from the bound view, with every oddity (missing column, unknown status,
// unreadable date) kept visible instead of silently dropped.
import { OutboxMessage, scheduledUntil } from '@dataverse-outbox/contract';
import { readDate } from './format';
import { readStatus, type StatusReading } from './status';

const c = OutboxMessage.columns;

/** Columns the grid shows, in order, with the label used in messages when the view lacks one. */
export const gridColumns = [
  { name: c.status, label: 'Status' },
  { name: c.name, label: 'Name' },
  { name: c.target, label: 'Target' },
  { name: c.eventType, label: 'Event type' },
  { name: c.sessionKey, label: 'Session key' },
  { name: c.attempts, label: 'Attempts' },
  { name: c.createdOn, label: 'Created on' },
  { name: c.lastError, label: 'Last error' },
] as const;

export type GridColumnName = (typeof gridColumns)[number]['name'];

export interface OutboxRow {
  id: string;
  name: string | undefined;
  status: StatusReading;
  /** The host's label for the status (the choice's display name), when it gave one. */
  statusLabel: string | undefined;
  target: string | undefined;
  eventType: string | undefined;
  sessionKey: string | undefined;
  attempts: number | undefined;
  createdOn: Date | undefined;
  lastError: string | undefined;
  /**
   * A Pending scheduled event not due yet: the time it is scheduled for (contract scheduledUntil). Needs the view to
   * have obx_nextattempton (and obx_attempts, obx_lasterror); without it the row reads as plain Pending.
   */
  scheduledUntil: Date | undefined;
  /** What was wrong with this row's data, in words (shown in the row). */
  problems: readonly string[];
}

/** Reads one column of one record: the raw value and the host's formatted value. */
export type CellReader = (column: string) => { value: unknown; formatted: string | undefined };

function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  const s = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  return s === undefined || s === '' ? undefined : s;
}

export function toOutboxRow(id: string, read: CellReader, availableColumns: ReadonlySet<string>, now: Date = new Date()): OutboxRow {
  const problems: string[] = [];
  const has = (column: string): boolean => availableColumns.has(column);

  const statusCell = has(c.status) ? read(c.status) : { value: undefined, formatted: undefined };
  const status = has(c.status) ? readStatus(statusCell.value) : ({ kind: 'missing' } as const);
  if (has(c.status) && status.kind === 'unknown') problems.push(`Unknown status value ${status.raw}`);
  // Every stored row has a status (a choice with a default): an empty one is almost always column security hiding it.
  if (has(c.status) && status.kind === 'missing') problems.push('No status (hidden by column security, or never set)');

  let attempts: number | undefined;
  if (has(c.attempts)) {
    const raw = read(c.attempts).value;
    if (typeof raw === 'number' && Number.isFinite(raw)) attempts = raw;
    else if (typeof raw === 'string' && /^\d+$/.test(raw)) attempts = Number(raw);
    else if (raw !== null && raw !== undefined && raw !== '') problems.push(`Attempts is not a number (${JSON.stringify(raw)})`);
  }

  let createdOn: Date | undefined;
  if (has(c.createdOn)) {
    const date = readDate(read(c.createdOn).value);
    if (date === null) problems.push('Created on is not a date');
    else createdOn = date;
  }

  let nextAttemptOn: Date | undefined;
  if (has(c.nextAttemptOn)) {
    const date = readDate(read(c.nextAttemptOn).value);
    if (date === null) problems.push('Next attempt on is not a date');
    else nextAttemptOn = date;
  }

  const str = (column: string): string | undefined => (has(column) ? text(read(column).value) : undefined);
  const lastError = str(c.lastError);
  // A "label" that is only the number itself (the pcf-start harness formats choices as numbers) is no label.
  const label = statusCell.formatted && statusCell.formatted.replace(/[\s,.\u00a0\u202f']/g, '') !== String(statusCell.value) ? statusCell.formatted : undefined;
  return {
    id,
    name: str(c.name),
    status,
    statusLabel: label,
    target: str(c.target),
    eventType: str(c.eventType),
    sessionKey: str(c.sessionKey),
    attempts,
    createdOn,
    lastError,
    scheduledUntil: scheduledUntil({ status: status.kind === 'known' ? status.value : undefined, attempts, nextAttemptOn, lastError }, now),
    problems,
  };
}

/** Specific messages for a view that lacks columns the monitor needs (shown above the grid). */
export function describeMissingColumns(availableColumns: ReadonlySet<string>): string[] {
  const missing = gridColumns.filter((col) => !availableColumns.has(col.name));
  if (missing.length === 0) return [];
  const messages: string[] = [];
  if (missing.some((col) => col.name === c.status)) {
    messages.push(
      `This view has no Status (${c.status}) column, so rows show no status and Retry, Replay and Cancel stay disabled. Add Status to the view.`,
    );
  }
  const others = missing.filter((col) => col.name !== c.status);
  if (others.length > 0) {
    messages.push(`This view has no ${others.map((col) => `${col.label} (${col.name})`).join(', ')} column${others.length > 1 ? 's' : ''}; those cells show "—". Add ${others.length > 1 ? 'them' : 'it'} to the view.`);
  }
  return messages;
}
