// The retention job: a recurring BulkDelete of finished outbox rows. Bulk-delete jobs are not solution components,
// so they are scheduled after import with the BulkDelete action (see shared reference dataverse.md).
import { OutboxMessage, OutboxStatus, SolutionNames } from '@dataverse-outbox/contract';

/** Same name and query as the solution's own scheduler (`npm run schedule-cleanup -w solution`), so either tool finds
 *  the job the other made and an environment never gets two. */
export const cleanupJobName = `${SolutionNames.uniqueName}: delete finished outbox messages`;

export interface CleanupJobOptions {
  retentionDays: number;
  /** Acks on: Published is not final (the row waits for its ack), so it is not deleted. */
  acksEnabled: boolean;
  /** ISO start time of the first run. */
  startDateTime: string;
}

/** Statuses the job deletes. Failed and DeadLettered stay until an operator acts: they are never cleaned silently. */
export function finishedStatuses(acksEnabled: boolean): number[] {
  return acksEnabled
    ? [OutboxStatus.Acked, OutboxStatus.Cancelled]
    : [OutboxStatus.Published, OutboxStatus.Acked, OutboxStatus.Cancelled];
}

/** Body of `POST BulkDelete` (QueryExpression as JSON, daily recurrence). */
export function cleanupJobRequest(options: CleanupJobOptions): Record<string, unknown> {
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) {
    throw new Error(`retention days must be a whole number of at least 1, got ${options.retentionDays}`);
  }
  return {
    QuerySet: [
      {
        EntityName: OutboxMessage.logicalName,
        ColumnSet: { AllColumns: false, Columns: [OutboxMessage.primaryIdAttribute] },
        Criteria: {
          FilterOperator: 'And',
          Conditions: [
            {
              AttributeName: OutboxMessage.columns.modifiedOn,
              Operator: 'OlderThanXDays',
              Values: [{ Type: 'System.Int32', Value: String(options.retentionDays) }],
            },
            {
              AttributeName: OutboxMessage.columns.status,
              Operator: 'In',
              Values: finishedStatuses(options.acksEnabled).map((v) => ({ Type: 'System.Int32', Value: String(v) })),
            },
          ],
        },
      },
    ],
    JobName: cleanupJobName,
    SendEmailNotification: false,
    ToRecipients: [],
    CCRecipients: [],
    RecurrencePattern: 'FREQ=DAILY;INTERVAL=1;',
    StartDateTime: options.startDateTime,
    RunNow: false,
  };
}
