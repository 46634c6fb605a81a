// Operator actions (CLI, web resource commands, monitor): retry Failed, replay DeadLettered/Published/Acked, cancel,
// release a stuck lease. Each is a conditional bulk write; rows whose status does not allow the action are skipped
// with the reason, never forced.
import { InvalidIdentifierError, OutboxStatus, normaliseGuid, type OutboxStatusValue } from '@dataverse-outbox/contract';
import type { LeasePort, OperationOptions } from './core/ports';
import type { OutboxRow, OutboxRowChanges, RowUpdate } from './core/row';
import { canTransition, statusName } from '@dataverse-outbox/contract';
import type { DataverseOutboxStore, RowQuery } from './dataverse/outboxStore';

export type OperatorAction = 'retry' | 'replay' | 'cancel';

export interface OperatorActionOptions extends OperationOptions {
  /** Called after each bulk write with rows done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Rows per bulk write. Default 100. */
  chunkSize?: number;
}

export interface OperatorActionResult {
  action: OperatorAction;
  changed: string[];
  /** Rows the action does not apply to (their status), reported, not forced. */
  skipped: { id: string; status: string; why: string }[];
  /** Named ids that could not be acted on: not a GUID, no such row, or a row that kept changing. The CLI exits 1. */
  failed: OperatorFailure[];
}

export interface OperatorFailure {
  id: string;
  kind: 'invalid-id' | 'not-found' | 'kept-changing';
  why: string;
}

/**
 * Splits named ids into row ids (normalised GUIDs, each once) and the rest, which are reported by name and never sent
 * anywhere: an id is pasted into a URL or $filter, so "<guid> or obx_status eq 612000000" must not get that far.
 */
export function partitionIds(ids: readonly string[]): { valid: string[]; invalid: OperatorFailure[] } {
  const valid: string[] = [];
  const invalid: OperatorFailure[] = [];
  for (const id of ids) {
    const guid = normaliseGuid(id);
    if (guid === undefined) invalid.push({ id, kind: 'invalid-id', why: new InvalidIdentifierError('row id', id).message });
    else if (!valid.includes(guid)) valid.push(guid);
  }
  return { valid, invalid };
}

const eligible: Record<OperatorAction, readonly OutboxStatusValue[]> = {
  retry: [OutboxStatus.Failed],
  replay: [OutboxStatus.DeadLettered, OutboxStatus.Published, OutboxStatus.Acked],
  cancel: [OutboxStatus.Pending, OutboxStatus.Failed, OutboxStatus.DeadLettered],
};

function changesFor(action: OperatorAction, row: OutboxRow): OutboxRowChanges {
  switch (action) {
    case 'retry':
      return { status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: null, lastError: null };
    case 'replay':
      // A new wire messageId (#r<n>) so duplicate detection lets it through; consumers dedupe on outbox-message-id.
      return { status: OutboxStatus.Pending, attempts: 0, nextAttemptOn: null, lastError: null, ackedOn: null, replayCount: row.replayCount + 1 };
    case 'cancel':
      return { status: OutboxStatus.Cancelled, nextAttemptOn: null };
  }
}

/** Selects rows by ids or by a query (statuses default to those the action applies to). */
export async function selectRows(store: DataverseOutboxStore, action: OperatorAction, selection: { ids?: readonly string[]; query?: RowQuery }, options: OperationOptions = {}): Promise<OutboxRow[]> {
  if (selection.ids?.length) {
    const { valid } = partitionIds(selection.ids);
    return valid.length ? store.readByIds(valid, options) : [];
  }
  return store.query({ statuses: eligible[action], ...(selection.query ?? {}) }, options);
}

export async function runOperatorAction(
  store: DataverseOutboxStore,
  action: OperatorAction,
  selection: { ids?: readonly string[]; query?: RowQuery },
  options: OperatorActionOptions = {},
): Promise<OperatorActionResult> {
  const result: OperatorActionResult = { action, changed: [], skipped: [], failed: [] };
  const named = partitionIds(selection.ids ?? []);
  result.failed.push(...named.invalid);
  // Only bad ids named: nothing to read (and no query over every row either).
  if (selection.ids?.length && !named.valid.length) return result;
  const rows = await selectRows(store, action, selection.ids?.length ? { ids: named.valid } : selection, options);
  const found = new Set(rows.map((r) => r.id));
  for (const id of named.valid) if (!found.has(id)) result.failed.push({ id, kind: 'not-found', why: 'no such row' });
  const target = action === 'cancel' ? OutboxStatus.Cancelled : OutboxStatus.Pending;
  let todo = rows.filter((r) => {
    if (eligible[action].includes(r.status) && canTransition(r.status, target, 'operator')) return true;
    result.skipped.push({ id: r.id, status: statusName(r.status), why: `${action} does not apply to ${statusName(r.status)} rows` });
    return false;
  });
  const total = todo.length;
  const chunk = options.chunkSize ?? 100;
  let done = 0;
  options.onProgress?.(0, total);
  for (let round = 0; round < 3 && todo.length > 0; round++) {
    const conflicted: string[] = [];
    for (let i = 0; i < todo.length; i += chunk) {
      const part = todo.slice(i, i + chunk);
      const updates: RowUpdate[] = part.map((r) => ({ id: r.id, etag: r.etag, changes: changesFor(action, r) }));
      const { conflicts } = await store.applyUpdates(updates, options);
      const c = new Set(conflicts);
      for (const r of part) {
        if (c.has(r.id)) conflicted.push(r.id);
        else {
          result.changed.push(r.id);
          done++;
        }
      }
      options.onProgress?.(done, total);
    }
    // Rows changed meanwhile (e.g. the publisher marked them): decide again on their current status.
    const fresh = conflicted.length ? await store.readByIds(conflicted, options) : [];
    todo = fresh.filter((r) => {
      if (eligible[action].includes(r.status)) return true;
      result.skipped.push({ id: r.id, status: statusName(r.status), why: `changed to ${statusName(r.status)} meanwhile` });
      done++;
      return false;
    });
  }
  for (const r of todo) result.failed.push({ id: r.id, kind: 'kept-changing', why: `kept changing (${statusName(r.status)}); try again` });
  return result;
}

export const retryRows = (store: DataverseOutboxStore, selection: { ids?: readonly string[]; query?: RowQuery }, options?: OperatorActionOptions) => runOperatorAction(store, 'retry', selection, options);
export const replayRows = (store: DataverseOutboxStore, selection: { ids?: readonly string[]; query?: RowQuery }, options?: OperatorActionOptions) => runOperatorAction(store, 'replay', selection, options);
export const cancelRows = (store: DataverseOutboxStore, selection: { ids?: readonly string[]; query?: RowQuery }, options?: OperatorActionOptions) => runOperatorAction(store, 'cancel', selection, options);

/** Releases a scope's lease: by default only if `owner` holds it; with force, whoever holds it (stuck lease). */
export async function releaseLease(lease: LeasePort, scope: string, options: OperationOptions & { owner?: string; force?: boolean } = {}): Promise<{ released: boolean; previousOwner?: string }> {
  const before = await lease.read(scope, options);
  const released = await lease.release(scope, options.owner, { ...options, force: options.force ?? options.owner === undefined });
  return { released, previousOwner: before?.owner };
}
