// The monitor's words for Retry, Replay and Cancel: button labels, what "done" means and the explanation shown before
// an action runs. Which statuses each action needs, the selection rule and exactly which columns it writes are the
// contract's operator actions (contract/src/operatorActions.ts), the same rules the command bar and the CLI run.
import type { OperatorAction } from '@dataverse-outbox/contract';

export const actionLabels: Readonly<Record<OperatorAction, { verb: string; done: string; explain: string }>> = {
  retry: { verb: 'Retry', done: 'queued again', explain: 'Failed rows go back to Pending with their attempts reset.' },
  replay: {
    verb: 'Replay',
    done: 'queued for replay',
    explain:
      'Rows go back to Pending with a new replay number, so Service Bus sends them again under a new message id; the earlier answer and error are cleared, so the new delivery gets its own.',
  },
  cancel: { verb: 'Cancel', done: 'cancelled', explain: 'Rows become Cancelled and are never sent.' },
};
