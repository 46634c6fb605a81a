// Operator actions for the CLI and for code (`outbox retry|replay|cancel`, runOperatorAction): which rows, then a
// conditional bulk write. What each action may start from and exactly which columns it writes come from the contract
// (operatorActions.ts), the same rules the command bar and the monitor run. Rows whose status does not allow the
// action are skipped with the reason, never forced. Dataverse is reached through OperatorRowsPort, not a concrete store.
import {
  InvalidIdentifierError,
  OutboxMessage,
  canRunOn,
  describeStatus,
  isStatusValue,
  normaliseGuid,
  operatorActionPatch,
  operatorActionRules,
  type OperatorAction,
  type OperatorActionColumn,
  type OperatorActionPatch,
  type OutboxStatusValue,
} from '@dataverse-outbox/contract';
import type { LeasePort, OperationOptions } from './core/ports';
import type { OutboxRow, OutboxRowChanges, RowUpdate } from './core/row';

export type { OperatorAction } from '@dataverse-outbox/contract';

/** Which rows a bulk action considers when no ids are named. */
export interface OperatorRowQuery {
  statuses?: readonly OutboxStatusValue[];
  target?: string;
  eventType?: string;
  /** Substring of obx_lasterror. */
  errorContains?: string;
  createdAfter?: Date;
  top?: number;
}

/** What the operator actions need from the outbox's store (the Dataverse store implements it; tests may fake it). */
export interface OperatorRowsPort {
  readByIds(ids: readonly string[], options?: OperationOptions): Promise<OutboxRow[]>;
  query(query: OperatorRowQuery, options?: OperationOptions): Promise<OutboxRow[]>;
  /** Conditional writes (If-Match: each update's etag); rows that changed meanwhile come back as conflicts, untouched. */
  applyUpdates(updates: readonly RowUpdate[], options?: OperationOptions): Promise<{ conflicts: string[] }>;
}

export interface OperatorSelection {
  ids?: readonly string[];
  query?: OperatorRowQuery;
}

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

const C = OutboxMessage.columns;

function patchValue(column: OperatorActionColumn, value: number | null | undefined, kind: 'number' | 'null'): number | null {
  if (kind === 'number' ? typeof value === 'number' : value === null) return value as number | null;
  throw new TypeError(`operator patch: ${column} = ${String(value)} is not a ${kind} (contract/src/operatorActions.ts and this mapping disagree)`);
}

/**
 * The contract's column patch as the engine's row changes (the store turns them back into exactly these columns: a
 * test checks the round trip). A column this mapping does not know is an error, never silently dropped.
 */
export function rowChangesFromPatch(patch: OperatorActionPatch): OutboxRowChanges {
  const changes: OutboxRowChanges = {};
  for (const column of Object.keys(patch) as OperatorActionColumn[]) {
    const value = patch[column];
    switch (column) {
      case C.status:
        if (!isStatusValue(value)) throw new TypeError(`operator patch: ${column} = ${String(value)} is not a status`);
        changes.status = value;
        break;
      case C.attempts:
        changes.attempts = patchValue(column, value, 'number') as number;
        break;
      case C.replayCount:
        changes.replayCount = patchValue(column, value, 'number') as number;
        break;
      // Date and text columns are only ever cleared by an operator action.
      case C.nextAttemptOn:
        changes.nextAttemptOn = patchValue(column, value, 'null') as null;
        break;
      case C.lastError:
        changes.lastError = patchValue(column, value, 'null') as null;
        break;
      case C.ackedOn:
        changes.ackedOn = patchValue(column, value, 'null') as null;
        break;
      default: {
        const unknown: never = column;
        throw new TypeError(`operator patch: no row field for column ${String(unknown)}`);
      }
    }
  }
  return changes;
}

function changesFor(action: OperatorAction, row: OutboxRow): OutboxRowChanges {
  return rowChangesFromPatch(operatorActionPatch(action, row.replayCount));
}

/** Selects rows by ids or by a query (statuses default to those the action applies to). */
export async function selectRows(store: OperatorRowsPort, action: OperatorAction, selection: OperatorSelection, options: OperationOptions = {}): Promise<OutboxRow[]> {
  if (selection.ids?.length) {
    const { valid } = partitionIds(selection.ids);
    return valid.length ? store.readByIds(valid, options) : [];
  }
  return store.query({ statuses: operatorActionRules[action].allowedFrom, ...(selection.query ?? {}) }, options);
}

export async function runOperatorAction(
  store: OperatorRowsPort,
  action: OperatorAction,
  selection: OperatorSelection,
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
  let todo = rows.filter((r) => {
    if (canRunOn(action, r.status)) return true;
    result.skipped.push({ id: r.id, status: describeStatus(r.status), why: `${action} does not apply to ${describeStatus(r.status)} rows` });
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
      if (canRunOn(action, r.status)) return true;
      result.skipped.push({ id: r.id, status: describeStatus(r.status), why: `changed to ${describeStatus(r.status)} meanwhile` });
      done++;
      return false;
    });
  }
  for (const r of todo) result.failed.push({ id: r.id, kind: 'kept-changing', why: `kept changing (${describeStatus(r.status)}); try again` });
  return result;
}

export const retryRows = (store: OperatorRowsPort, selection: OperatorSelection, options?: OperatorActionOptions) => runOperatorAction(store, 'retry', selection, options);
export const replayRows = (store: OperatorRowsPort, selection: OperatorSelection, options?: OperatorActionOptions) => runOperatorAction(store, 'replay', selection, options);
export const cancelRows = (store: OperatorRowsPort, selection: OperatorSelection, options?: OperatorActionOptions) => runOperatorAction(store, 'cancel', selection, options);

/** Releases a scope's lease: by default only if `owner` holds it; with force, whoever holds it (stuck lease). */
export async function releaseLease(lease: LeasePort, scope: string, options: OperationOptions & { owner?: string; force?: boolean } = {}): Promise<{ released: boolean; previousOwner?: string }> {
  const before = await lease.read(scope, options);
  const released = await lease.release(scope, options.owner, { ...options, force: options.force ?? options.owner === undefined });
  return { released, previousOwner: before?.owner };
}
