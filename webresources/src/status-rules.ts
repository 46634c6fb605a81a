// Which operator command may run on an outbox row in which status (spec "Status machine").
// Pure and dependency-free apart from the shared names, so the command bar (commands.js), the form and the
// PCF monitor enable exactly the same buttons. The monitor imports this module (or mirrors it 1:1: see docs/webresources.md).
import { OutboxMessage, OutboxStatus, type OutboxStatusValue } from '@dataverse-outbox/contract';

const col = OutboxMessage.columns;

export type OutboxCommandName = 'retry' | 'replay' | 'cancel';

export const OutboxCommandNames: readonly OutboxCommandName[] = ['retry', 'replay', 'cancel'];

/** Statuses from which each command is allowed. Every command moves the row to `targetStatus`. */
export const OutboxCommandRules: {
  readonly [C in OutboxCommandName]: {
    readonly allowedFrom: readonly OutboxStatusValue[];
    readonly targetStatus: OutboxStatusValue;
    /** Whether the command adds one to obx_replaycount (so the publisher appends `#r<n>` to the messageId). */
    readonly incrementsReplayCount: boolean;
    readonly label: string;
  };
} = {
  retry: {
    allowedFrom: [OutboxStatus.Failed],
    targetStatus: OutboxStatus.Pending,
    incrementsReplayCount: false,
    label: 'Retry',
  },
  replay: {
    allowedFrom: [OutboxStatus.DeadLettered, OutboxStatus.Published],
    targetStatus: OutboxStatus.Pending,
    incrementsReplayCount: true,
    label: 'Replay',
  },
  cancel: {
    allowedFrom: [OutboxStatus.Pending, OutboxStatus.Failed, OutboxStatus.DeadLettered],
    targetStatus: OutboxStatus.Cancelled,
    incrementsReplayCount: false,
    label: 'Cancel',
  },
};

export function isOutboxCommandName(value: unknown): value is OutboxCommandName {
  return value === 'retry' || value === 'replay' || value === 'cancel';
}

/** Form command bar: the command is enabled when the current row's status qualifies. Unknown status = disabled. */
export function canRunOn(command: OutboxCommandName, status: number | null | undefined): boolean {
  if (typeof status !== 'number') return false;
  return (OutboxCommandRules[command].allowedFrom as readonly number[]).indexOf(status) >= 0;
}

/** Grid command bar: enabled only when at least one row is selected and EVERY selected row qualifies. */
export function canRunOnAll(command: OutboxCommandName, statuses: ReadonlyArray<number | null | undefined>): boolean {
  if (statuses.length === 0) return false;
  for (const status of statuses) {
    if (!canRunOn(command, status)) return false;
  }
  return true;
}

/** The columns a command writes, given the row's current replay count. */
export function transitionPatch(command: OutboxCommandName, currentReplayCount: number | null | undefined): Record<string, number | null> {
  const rule = OutboxCommandRules[command];
  const patch: Record<string, number | null> = { [col.status]: rule.targetStatus };
  if (rule.targetStatus === OutboxStatus.Pending) {
    // A row sent back to Pending starts a fresh publish cycle: without resetting attempts, a row that failed
    // because its attempts were exhausted would fail again immediately.
    patch[col.attempts] = 0;
    patch[col.nextAttemptOn] = null;
  }
  if (rule.incrementsReplayCount) {
    patch[col.replayCount] = (typeof currentReplayCount === 'number' && currentReplayCount > 0 ? currentReplayCount : 0) + 1;
  }
  return patch;
}

/** Readable status name for messages ("Failed"), or the raw value when unknown. */
export function statusName(status: number | null | undefined): string {
  for (const name of Object.keys(OutboxStatus) as Array<keyof typeof OutboxStatus>) {
    if (OutboxStatus[name] === status) return name;
  }
  return status == null ? 'unknown' : String(status);
}
