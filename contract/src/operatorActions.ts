// The operator actions Retry, Replay and Cancel: the one definition the CLI (`outbox retry|replay|cancel`), the Outbox
// Message command bar and form (web resources) and the PCF monitor all use. Which statuses each action starts from,
// which status it moves the row to, and exactly which columns it writes.
//
// Each action offers exactly the operator moves of the status machine (canTransition(from, to, 'operator')) into its
// target status, and every such move belongs to exactly one action (contract/test/operatorActions.test.ts checks both):
// - Retry: Failed -> Pending. The row never reached the consumer; the same message is sent again.
// - Replay: DeadLettered, Published or Acked -> Pending, as a new delivery (`#r<n>`). Acked is included on purpose:
//   re-delivering a message the consumer already processed is how an operator repairs a consumer that lost or rolled
//   back what it did (a restored database, a bug in a handler); the inbox (spec invariant 3) makes it a no-op for a
//   consumer that still has the effect. The CLI allowed it and the app did not; now everyone does.
// - Cancel: Pending, Failed or DeadLettered -> Cancelled (never sent again).
import { OutboxMessage, OutboxStatus, type OutboxStatusValue } from './generated/names';
import { statusName } from './statusMachine';

const col = OutboxMessage.columns;
const { Pending, Published, Acked, Failed, DeadLettered, Cancelled } = OutboxStatus;

export type OperatorAction = 'retry' | 'replay' | 'cancel';

export const operatorActions: readonly OperatorAction[] = ['retry', 'replay', 'cancel'];

export function isOperatorAction(value: unknown): value is OperatorAction {
  return value === 'retry' || value === 'replay' || value === 'cancel';
}

export interface OperatorActionRule {
  /** Statuses the action starts from. */
  readonly allowedFrom: readonly OutboxStatusValue[];
  /** The status every row it changes ends in. */
  readonly targetStatus: OutboxStatusValue;
  /** Adds one to obx_replaycount, so the publisher sends messageId `#r<n>` (not swallowed by duplicate detection). */
  readonly incrementsReplayCount: boolean;
  /** The action's name on buttons and in messages. */
  readonly label: string;
}

export const operatorActionRules: { readonly [A in OperatorAction]: OperatorActionRule } = {
  retry: { allowedFrom: [Failed], targetStatus: Pending, incrementsReplayCount: false, label: 'Retry' },
  replay: { allowedFrom: [DeadLettered, Published, Acked], targetStatus: Pending, incrementsReplayCount: true, label: 'Replay' },
  cancel: { allowedFrom: [Pending, Failed, DeadLettered], targetStatus: Cancelled, incrementsReplayCount: false, label: 'Cancel' },
};

/** The action may start from this status (one row: the form's command, the monitor's per-row re-check). Unknown or missing: no. */
export function canRunOn(action: OperatorAction, status: unknown): boolean {
  return typeof status === 'number' && (operatorActionRules[action].allowedFrom as readonly number[]).indexOf(status) >= 0;
}

/** Selection rule (grid, monitor): at least one row, and EVERY selected row qualifies. */
export function canRunOnAll(action: OperatorAction, statuses: readonly unknown[]): boolean {
  if (statuses.length === 0) return false;
  for (const status of statuses) if (!canRunOn(action, status)) return false;
  return true;
}

/** The columns an operator action may write; nothing else (the Outbox Operator's column security allows these). */
export type OperatorActionColumn =
  | typeof col.status
  | typeof col.attempts
  | typeof col.nextAttemptOn
  | typeof col.lastError
  | typeof col.ackedOn
  | typeof col.replayCount;

/** A Web API PATCH body: column -> new value, null clears it. */
export type OperatorActionPatch = { readonly [C in OperatorActionColumn]?: number | null };

/**
 * Exactly the columns an action writes, given the row's current obx_replaycount (anything but a non-negative number
 * counts as 0: a replay always ends at 1 or more).
 *
 * Retry and Replay start a fresh publish cycle: status Pending, attempts 0 (a row failed for exhausted attempts would
 * otherwise fail again at once), no next attempt time, and obx_lasterror cleared. The error belongs to the cycle that
 * ended; left on a Pending row it reads as the current problem (in the monitor, the form, `outbox status`), and the
 * publisher writes a new one if the new cycle fails too.
 *
 * Replay also clears obx_ackedon and adds one to obx_replaycount. It is a new delivery that must get its own answer:
 * the publisher's statusWhenSent reads obx_ackedon and obx_lasterror of the row it just sent, so a row the consumer had
 * rejected ("Rejected by consumer ...", obx_ackedon set) would be marked DeadLettered again the moment it is re-sent,
 * and the fixed consumer's acknowledgement (DeadLettered -> Acked is no legal move) would be ignored.
 * Retry keeps obx_ackedon: a Failed row was never answered for this message id, unless an acknowledgement of an earlier
 * send was recorded before the row failed; then that answer stands (the re-send, with the same message id, may well be
 * swallowed by duplicate detection and never answered again).
 *
 * Cancel writes the status only.
 */
export function operatorActionPatch(action: OperatorAction, currentReplayCount: unknown): OperatorActionPatch {
  switch (action) {
    case 'retry':
      return { [col.status]: Pending, [col.attempts]: 0, [col.nextAttemptOn]: null, [col.lastError]: null };
    case 'replay': {
      const count = typeof currentReplayCount === 'number' && Number.isFinite(currentReplayCount) && currentReplayCount > 0 ? Math.floor(currentReplayCount) : 0;
      return { [col.status]: Pending, [col.attempts]: 0, [col.nextAttemptOn]: null, [col.lastError]: null, [col.ackedOn]: null, [col.replayCount]: count + 1 };
    }
    case 'cancel':
      return { [col.status]: Cancelled };
  }
}

/** A status for people: its name ("DeadLettered"), "empty" when there is none, or "Unknown(<n>)" / "unreadable". */
export function describeStatus(status: unknown): string {
  if (status === null || status === undefined) return 'empty';
  return typeof status === 'number' ? statusName(status) : 'unreadable';
}

/** "Retry needs Failed", "Replay needs DeadLettered, Published or Acked": why a row was skipped. */
export function allowedFromText(action: OperatorAction): string {
  const names = operatorActionRules[action].allowedFrom.map((s) => statusName(s));
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}
