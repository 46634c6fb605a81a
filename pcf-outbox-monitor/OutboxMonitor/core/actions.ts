// Operator actions and their enable rules. Pure: the grid's buttons, the per-row re-check before each update and the
// tests all read these rules, and they must stay identical to the command bar's enable rules (webresources).
import { OutboxMessage, OutboxStatus, type OutboxStatusValue } from '@dataverse-outbox/contract';

export type OutboxAction = 'retry' | 'replay' | 'cancel';

export const outboxActions: readonly OutboxAction[] = ['retry', 'replay', 'cancel'];

/** Statuses from which each action may start (spec "Status machine": operator retry, replay, cancel). */
export const actionAllowedFrom: Readonly<Record<OutboxAction, readonly OutboxStatusValue[]>> = {
  retry: [OutboxStatus.Failed],
  replay: [OutboxStatus.DeadLettered, OutboxStatus.Published],
  cancel: [OutboxStatus.Pending, OutboxStatus.Failed, OutboxStatus.DeadLettered],
};

export const actionLabels: Readonly<Record<OutboxAction, { verb: string; done: string; explain: string }>> = {
  retry: { verb: 'Retry', done: 'queued again', explain: 'Failed rows go back to Pending with their attempts reset.' },
  replay: {
    verb: 'Replay',
    done: 'queued for replay',
    explain: 'Rows go back to Pending with a new replay number, so Service Bus sends them again under a new message id.',
  },
  cancel: { verb: 'Cancel', done: 'cancelled', explain: 'Rows become Cancelled and are never sent.' },
};

export function isActionAllowed(action: OutboxAction, status: number | undefined): boolean {
  return status !== undefined && (actionAllowedFrom[action] as readonly number[]).includes(status);
}

/** Enabled when at least one row is selected and every selected row allows the action (a command bar enable rule). */
export function canRunOnSelection(action: OutboxAction, statuses: readonly (number | undefined)[]): boolean {
  return statuses.length > 0 && statuses.every((status) => isActionAllowed(action, status));
}

/** The columns an action writes, given the row as it is now. */
export function actionUpdate(action: OutboxAction, current: { replayCount: number }): Record<string, number | null> {
  const c = OutboxMessage.columns;
  switch (action) {
    case 'retry':
      // Attempts restart so the publisher's max-attempts rule gives the row a full new budget.
      return { [c.status]: OutboxStatus.Pending, [c.attempts]: 0, [c.nextAttemptOn]: null };
    case 'replay':
      // A new replay number gives the message a new Service Bus messageId (`#r<n>`), so duplicate detection lets it through.
      return {
        [c.status]: OutboxStatus.Pending,
        [c.replayCount]: current.replayCount + 1,
        [c.attempts]: 0,
        [c.nextAttemptOn]: null,
      };
    case 'cancel':
      return { [c.status]: OutboxStatus.Cancelled };
  }
}
