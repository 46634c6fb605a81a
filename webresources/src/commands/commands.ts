// Retry / Replay / Cancel on the Outbox Message grid and form command bars (RibbonDiff.xml calls the functions exported
// from the commands.js entry). Each command: enable rule by status, confirmation, then row by row with a conditional
// update (If-Match: the ETag read with the row); a row that changed since the operator saw it is reported, never
// forced; one bad row never stops the others, and the operator gets a per-row summary.
// Which statuses each command needs and which columns it writes are the contract's operator actions
// (contract/src/operatorActions.ts), the same rules the CLI and the PCF monitor run; this module adds the UI.
import {
  OutboxMessage,
  allowedFromText,
  canRunOn,
  canRunOnAll,
  describeStatus,
  describeValue,
  isOperatorAction,
  operatorActionPatch,
  operatorActionRules,
  type OperatorAction,
} from '@dataverse-outbox/contract';
import { normaliseGuid } from '../shared/guid';
import { WebApiRowStore, type OutboxRowStore } from './row-store';

const col = OutboxMessage.columns;

/** 'changed': the row changed since the operator saw it (or between read and write): left as it is. 'invalid': not a row id. */
export type RowOutcome = 'done' | 'skipped' | 'changed' | 'missing' | 'failed' | 'invalid';

export interface RowResult {
  id: string;
  outcome: RowOutcome;
  detail?: string;
}

export interface CommandRun {
  command: OperatorAction;
  confirmed: boolean;
  results: RowResult[];
}

export interface CommandEnvironment {
  store: OutboxRowStore;
  confirm(title: string, text: string, confirmLabel: string): Promise<boolean>;
  alert(title: string, text: string): Promise<void>;
  showProgress(message: string): void;
  closeProgress(): void;
  /** Selections at least this large show a progress indicator. */
  progressThreshold: number;
  /** Rows updated at the same time (kept small: service protection limits count concurrent requests). */
  concurrency: number;
}

export const DefaultProgressThreshold = 5;
export const DefaultConcurrency = 4;
const MaxSummaryLines = 15;

function xrmEnvironment(overrides: Partial<CommandEnvironment> = {}): CommandEnvironment {
  return {
    store: overrides.store ?? new WebApiRowStore(),
    confirm:
      overrides.confirm ??
      (async (title, text, confirmLabel) => {
        const result = await Xrm.Navigation.openConfirmDialog({ title, text, confirmButtonLabel: confirmLabel, cancelButtonLabel: 'Back' });
        return Boolean(result && result.confirmed);
      }),
    alert:
      overrides.alert ??
      (async (title, text) => {
        await Xrm.Navigation.openAlertDialog({ title, text, confirmButtonLabel: 'OK' });
      }),
    showProgress: overrides.showProgress ?? ((message) => Xrm.Utility.showProgressIndicator(message)),
    closeProgress: overrides.closeProgress ?? (() => Xrm.Utility.closeProgressIndicator()),
    progressThreshold: overrides.progressThreshold ?? DefaultProgressThreshold,
    concurrency: overrides.concurrency ?? DefaultConcurrency,
  };
}

let environmentOverrides: Partial<CommandEnvironment> = {};

/** Replaces parts of the environment (tests, or a host that is not a model-driven page). Pass {} to reset. */
export function configure(overrides: Partial<CommandEnvironment>): void {
  environmentOverrides = overrides;
}

function environment(): CommandEnvironment {
  return xrmEnvironment(environmentOverrides);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

const confirmation: { readonly [C in OperatorAction]: (count: number) => { title: string; text: string } } = {
  retry: (n) => ({
    title: 'Retry outbox messages',
    text: `Retry ${plural(n, 'failed message')}? ${n === 1 ? 'It goes' : 'They go'} back to Pending with attempts reset, and the publisher sends ${n === 1 ? 'it' : 'them'} again.`,
  }),
  replay: (n) => ({
    title: 'Replay outbox messages',
    text: `Replay ${plural(n, 'message')}? ${n === 1 ? 'It goes' : 'They go'} back to Pending and ${n === 1 ? 'is' : 'are'} sent again with a new replay number; idempotent consumers process each logical message once.`,
  }),
  cancel: (n) => ({
    title: 'Cancel outbox messages',
    text: `Cancel ${plural(n, 'message')}? Cancelled messages are never published. This cannot be undone from the command bar.`,
  }),
};

function changedSince(now: number | null | undefined | 'deleted'): string {
  return `this row changed since you opened it: now ${now === 'deleted' ? 'deleted' : describeStatus(now)}; refresh and try again`;
}

async function currentStatus(store: OutboxRowStore, id: string): Promise<number | null | 'deleted' | undefined> {
  try {
    const row = await store.get(id);
    return row ? row.status : 'deleted';
  } catch {
    return undefined;
  }
}

/**
 * One row: re-read with its ETag; if its status is not the one the operator saw (`seen`, from the grid or the form),
 * it changed since it was shown: reported, not written. Otherwise a conditional update; 412 is the same conflict.
 */
async function applyToRow(command: OperatorAction, id: string, store: OutboxRowStore, seen: number | null | undefined): Promise<RowResult> {
  try {
    const row = await store.get(id);
    if (!row) return { id, outcome: 'missing', detail: 'the row no longer exists' };
    if (seen !== undefined && row.status !== seen) return { id, outcome: 'changed', detail: changedSince(row.status) };
    if (!canRunOn(command, row.status)) {
      return { id, outcome: 'skipped', detail: `status is ${describeStatus(row.status)}; ${operatorActionRules[command].label} needs ${allowedFromText(command)}` };
    }
    if (row.etag === undefined) {
      return { id, outcome: 'failed', detail: 'Dataverse returned no usable version (ETag) for this row, so it was not changed (a write without one could overwrite the publisher); refresh and try again' };
    }
    const outcome = await store.update(id, operatorActionPatch(command, row.replayCount), row.etag);
    if (outcome === 'changed') return { id, outcome: 'changed', detail: changedSince(await currentStatus(store, id)) };
    if (outcome === 'missing') return { id, outcome: 'missing', detail: 'the row no longer exists' };
    return { id, outcome: 'done' };
  } catch (error) {
    return { id, outcome: 'failed', detail: error instanceof Error ? error.message : String(error) };
  }
}

/** Summary shown after a run, e.g. "Retry: 38 done, 2 skipped." plus one line per row that was not done. */
export function summarise(command: OperatorAction, results: readonly RowResult[]): string {
  const counts: Record<RowOutcome, number> = { done: 0, skipped: 0, changed: 0, missing: 0, failed: 0, invalid: 0 };
  for (const r of results) counts[r.outcome]++;
  const parts = (Object.keys(counts) as RowOutcome[]).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  const lines = [`${operatorActionRules[command].label}: ${parts.join(', ') || 'nothing to do'}.`];
  const problems = results.filter((r) => r.outcome !== 'done');
  for (const r of problems.slice(0, MaxSummaryLines)) lines.push(`${r.id}: ${r.outcome}, ${r.detail ?? ''}`);
  if (problems.length > MaxSummaryLines) lines.push(`… and ${problems.length - MaxSummaryLines} more.`);
  return lines.join('\n');
}

/**
 * Runs a command over rows: confirmation, progress for large selections, per-row results, summary. `seen` holds the
 * status each row showed the operator (by bare id); a row whose status moved on since is not written.
 */
export async function runCommand(
  command: OperatorAction,
  ids: readonly unknown[],
  env: CommandEnvironment = environment(),
  seen: ReadonlyMap<string, number | null> = new Map(),
): Promise<CommandRun> {
  const rows: string[] = [];
  const invalid: RowResult[] = [];
  for (const raw of ids) {
    const id = normaliseGuid(raw);
    if (id === undefined) invalid.push({ id: describeValue(raw), outcome: 'invalid', detail: 'not a row id (must be a GUID); nothing was changed for it' });
    else if (rows.indexOf(id) < 0) rows.push(id);
  }
  const label = operatorActionRules[command].label;
  if (rows.length === 0) {
    if (invalid.length > 0) await env.alert(`${label} not run`, summarise(command, invalid));
    return { command, confirmed: false, results: invalid };
  }
  const { title, text } = confirmation[command](rows.length);
  if (!(await env.confirm(title, text, label))) return { command, confirmed: false, results: [] };

  const results: RowResult[] = new Array<RowResult>(rows.length);
  const showProgress = rows.length >= env.progressThreshold;
  let finished = 0;
  let next = 0;
  if (showProgress) env.showProgress(`${label}: 0 of ${rows.length}`);
  try {
    const worker = async (): Promise<void> => {
      while (next < rows.length) {
        const index = next++;
        results[index] = await applyToRow(command, rows[index], env.store, seen.get(rows[index]));
        finished++;
        if (showProgress) env.showProgress(`${label}: ${finished} of ${rows.length}`);
      }
    };
    const workers: Array<Promise<void>> = [];
    for (let i = 0; i < Math.max(1, Math.min(env.concurrency, rows.length)); i++) workers.push(worker());
    await Promise.all(workers);
  } finally {
    if (showProgress) env.closeProgress();
  }
  results.push(...invalid);
  await env.alert(`${label} finished`, summarise(command, results));
  return { command, confirmed: true, results };
}

function commandName(value: unknown): OperatorAction {
  if (!isOperatorAction(value)) throw new Error(`Unknown outbox command ${JSON.stringify(value)} (expected retry, replay or cancel).`);
  return value;
}

// ----- Grid command bar (CrmParameter SelectedControl + SelectedControlSelectedItemIds) -----

/** Status of each selected grid row when the view includes obx_status; undefined when any row lacks it. */
function gridStatuses(selectedControl: Xrm.Controls.GridControl | undefined): Array<number | null> | undefined {
  if (!selectedControl || typeof selectedControl.getGrid !== 'function') return undefined;
  const statuses: Array<number | null> = [];
  let complete = true;
  selectedControl.getGrid().getSelectedRows().forEach((row) => {
    const attribute = row.data.entity.attributes.get(col.status) as Xrm.Attributes.Attribute | null | undefined;
    if (!attribute) complete = false;
    else {
      const v = attribute.getValue() as unknown;
      statuses.push(typeof v === 'number' ? v : null);
    }
  });
  return complete ? statuses : undefined;
}

/** The status each selected grid row shows (by bare id), when the view has the status column. */
function gridSeenStatuses(selectedControl: Xrm.Controls.GridControl | undefined): Map<string, number | null> {
  const seen = new Map<string, number | null>();
  if (!selectedControl || typeof selectedControl.getGrid !== 'function') return seen;
  selectedControl.getGrid().getSelectedRows().forEach((row) => {
    const id = normaliseGuid(row.data.entity.getId());
    const attribute = row.data.entity.attributes.get(col.status) as Xrm.Attributes.Attribute | null | undefined;
    if (id === undefined || !attribute) return;
    const v = attribute.getValue() as unknown;
    seen.set(id, typeof v === 'number' ? v : null);
  });
  return seen;
}

/**
 * Enable rule for the grid: at least one row selected and EVERY selected row qualifies. Uses the view's status column
 * when present, otherwise reads the statuses (async rule: Unified Interface waits for the promise).
 */
export function isEnabledForGrid(command: string, selectedControl: Xrm.Controls.GridControl | undefined, selectedIds: readonly string[] | undefined): boolean | Promise<boolean> {
  const name = commandName(command);
  const ids = (selectedIds ?? []).map((id) => normaliseGuid(id)).filter((id): id is string => Boolean(id));
  if (ids.length === 0) return false;
  const fromView = gridStatuses(selectedControl);
  if (fromView && fromView.length === ids.length) return canRunOnAll(name, fromView);
  return environment()
    .store.statuses(ids)
    .then(
      (found) => canRunOnAll(name, ids.map((id) => (found.has(id) ? (found.get(id) as number | null) : null))),
      () => false,
    );
}

export async function runFromGrid(command: string, selectedControl: Xrm.Controls.GridControl | undefined, selectedIds: readonly string[] | undefined): Promise<CommandRun> {
  const run = await runCommand(commandName(command), selectedIds ?? [], environment(), gridSeenStatuses(selectedControl));
  if (run.confirmed && selectedControl && typeof selectedControl.refresh === 'function') selectedControl.refresh();
  return run;
}

// ----- Form command bar (CrmParameter PrimaryControl) -----

const FormTypeCreate = 1;

export function isEnabledForForm(command: string, primaryControl: Xrm.FormContext | undefined): boolean {
  const name = commandName(command);
  if (!primaryControl || !primaryControl.data || !primaryControl.data.entity) return false;
  if (primaryControl.ui && primaryControl.ui.getFormType() === FormTypeCreate) return false;
  const attribute = primaryControl.getAttribute(col.status);
  const status = attribute ? (attribute.getValue() as unknown) : null;
  return canRunOn(name, typeof status === 'number' ? status : null);
}

export async function runFromForm(command: string, primaryControl: Xrm.FormContext): Promise<CommandRun> {
  const name = commandName(command);
  const env = environment();
  if (primaryControl.data.entity.getIsDirty()) {
    await env.alert(operatorActionRules[name].label, 'This form has unsaved changes. Save or discard them first.');
    return { command: name, confirmed: false, results: [] };
  }
  // The status the form shows is what the operator decided on: a row that moved on since is not written.
  const id = normaliseGuid(primaryControl.data.entity.getId());
  const attribute = primaryControl.getAttribute(col.status);
  const shown = attribute ? (attribute.getValue() as unknown) : null;
  const seen = new Map<string, number | null>(id ? [[id, typeof shown === 'number' ? shown : null]] : []);
  const run = await runCommand(name, [primaryControl.data.entity.getId()], env, seen);
  if (run.confirmed) await primaryControl.data.refresh(false);
  return run;
}
