// Retry / Replay / Cancel over the selected rows, each row on its own: re-read with its ETag, checked against what the
// operator saw, then a conditional update (If-Match). A row the publisher or the ack listener changed meanwhile is
// reported as a conflict and never overwritten; one bad row never stops the others.
// Which statuses an action needs and the columns it writes are the contract's (operatorActionPatch, canRunOn).
import { canRunOn, describeValue, normaliseGuid, operatorActionPatch, usableEtag, type OperatorAction } from '@dataverse-outbox/contract';
import { actionLabels } from './actions';
import { describeError, truncate } from './format';
import { readStatus, statusLabels, type StatusReading } from './status';

/** A row as read for a write: its status, replay count and ETag, as the Web API returned them (unchecked). */
export interface VersionedRow {
  status: unknown;
  replayCount: unknown;
  etag: unknown;
}

export type ConditionalOutcome = 'updated' | 'changed' | 'missing';

/**
 * Reads and conditional writes of one outbox row. context.webAPI cannot send If-Match, so index.ts binds this to the
 * Web API over fetch (webApiRows.ts); tests bind it to the emulator or to a fake.
 */
export interface RowVersionPort {
  /** undefined: the row does not exist (404). */
  readRow(id: string): Promise<VersionedRow | undefined>;
  /** PATCH with If-Match: etag. 'changed': 412 (the row is no longer that version); 'missing': 404. */
  updateIfUnchanged(id: string, etag: string, data: Record<string, unknown>): Promise<ConditionalOutcome>;
}

/** One selected row: its id and name from the grid, and the status the operator saw there (when the view shows it). */
export interface ActionTarget {
  id: string;
  name: string;
  seenStatus?: number | undefined;
}

export type ActionOutcome = 'done' | 'conflict' | 'skipped' | 'missing' | 'failed';

export interface ActionResult {
  id: string;
  name: string;
  ok: boolean;
  outcome: ActionOutcome;
  /** What happened, in words: "queued again", or why the row was not changed. */
  message: string;
}

/** Rows worked on at the same time: small, because Dataverse's service protection counts concurrent requests. */
export const actionConcurrency = 4;
const nameLength = 120;

function statusText(status: StatusReading): string {
  if (status.kind === 'known') return statusLabels[status.name];
  return status.kind === 'unknown' ? `unknown (${truncate(status.raw, 40)})` : 'empty';
}

function conflict(now: string): string {
  return `this row changed since you opened it: now ${now}; refresh and try again`;
}

async function currentStatusText(rows: RowVersionPort, id: string): Promise<string> {
  try {
    const row = await rows.readRow(id);
    return row ? statusText(readStatus(row.status)) : 'deleted';
  } catch (error) {
    return `unknown (${describeError(error)})`;
  }
}

async function applyToRow(rows: RowVersionPort, action: OperatorAction, target: ActionTarget): Promise<ActionResult> {
  const name = truncate(target.name, nameLength);
  const result = (outcome: ActionOutcome, message: string): ActionResult => ({ id: target.id, name, ok: outcome === 'done', outcome, message });
  // The id goes into a URL: only a GUID may (a grid or host bug must not address another resource).
  const id = normaliseGuid(target.id);
  if (id === undefined) return result('failed', `not changed: the grid gave an id that is not a row id (${describeValue(target.id)})`);
  try {
    const current = await rows.readRow(id);
    if (!current) return result('missing', 'not changed: the row no longer exists');
    const status = readStatus(current.status);
    const value = status.kind === 'known' ? status.value : undefined;
    if (target.seenStatus !== undefined && value !== target.seenStatus) return result('conflict', conflict(statusText(status)));
    if (!canRunOn(action, value)) return result('skipped', `skipped: status is now ${statusText(status)}, ${actionLabels[action].verb} does not apply`);
    const etag = usableEtag(current.etag);
    if (etag === undefined) {
      return result('failed', `not changed: Dataverse returned no usable version (ETag) for this row, so it cannot be changed safely; refresh and try again`);
    }
    const outcome = await rows.updateIfUnchanged(id, etag, operatorActionPatch(action, current.replayCount));
    if (outcome === 'changed') return result('conflict', conflict(await currentStatusText(rows, id)));
    if (outcome === 'missing') return result('missing', 'not changed: the row no longer exists');
    return result('done', actionLabels[action].done);
  } catch (error) {
    return result('failed', `failed: ${describeError(error)}`);
  }
}

/** Runs an action over the rows (a few at a time); results come back in the order of `targets`. */
export async function runAction(rows: RowVersionPort, action: OperatorAction, targets: readonly ActionTarget[], concurrency = actionConcurrency): Promise<ActionResult[]> {
  const results = new Array<ActionResult>(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const index = next++;
      results[index] = await applyToRow(rows, action, targets[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, targets.length)) }, worker));
  return results;
}
