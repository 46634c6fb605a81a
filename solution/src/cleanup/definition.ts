// The cleanup job: which outbox rows may be deleted, as FetchXML (for people and views) and as the QueryExpression JSON
// the BulkDelete action takes. Pure functions of the settings.
import { OutboxMessage, OutboxStatus, SolutionNames } from '@dataverse-outbox/contract';

export interface CleanupSettings {
  /** obx_RetentionDays: finished rows older than this are deleted. */
  retentionDays: number;
  /** False when obx_AckQueue is empty: Published is then a final status and is cleaned up too. */
  acksEnabled: boolean;
}

/** The name the job carries in Dataverse; the scheduler finds (and replaces) its own job by this name. */
export const CLEANUP_JOB_NAME = `${SolutionNames.uniqueName}: delete finished outbox messages`;

/** Daily, as an iCalendar recurrence rule (the format BulkDelete's RecurrencePattern takes). */
export const CLEANUP_RECURRENCE = 'FREQ=DAILY;INTERVAL=1;';

/** Column whose age decides: a finished row is not modified again, so modifiedon is when it reached its final status. */
export const CLEANUP_AGE_COLUMN = OutboxMessage.columns.modifiedOn;

/** Statuses that are final: Acked and Cancelled always, Published only when acknowledgements are off. Failed and
 *  Dead Lettered rows wait for an operator and are never deleted automatically. */
export function finishedStatuses(settings: Pick<CleanupSettings, 'acksEnabled'>): number[] {
  return settings.acksEnabled
    ? [OutboxStatus.Acked, OutboxStatus.Cancelled]
    : [OutboxStatus.Published, OutboxStatus.Acked, OutboxStatus.Cancelled];
}

export function assertRetentionDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new RangeError(`retention days must be a whole number from 1 to 3650, not ${String(days)}`);
  }
}

export function cleanupFetchXml(settings: CleanupSettings): string {
  assertRetentionDays(settings.retentionDays);
  return [
    '<fetch version="1.0" output-format="xml-platform" mapping="logical" distinct="false">',
    `  <entity name="${OutboxMessage.logicalName}">`,
    `    <attribute name="${OutboxMessage.primaryIdAttribute}" />`,
    '    <filter type="and">',
    `      <condition attribute="${CLEANUP_AGE_COLUMN}" operator="olderthan-x-days" value="${settings.retentionDays}" />`,
    `      <condition attribute="${OutboxMessage.columns.status}" operator="in">`,
    ...finishedStatuses(settings).map((s) => `        <value>${s}</value>`),
    '      </condition>',
    '    </filter>',
    '  </entity>',
    '</fetch>',
  ].join('\n');
}

export interface QueryValue {
  Type: 'System.Int32';
  Value: string;
}

export interface QueryExpressionJson {
  EntityName: string;
  ColumnSet: { AllColumns: boolean; Columns: string[] };
  Criteria: {
    FilterOperator: 'And';
    Conditions: { AttributeName: string; Operator: 'OlderThanXDays' | 'In'; Values: QueryValue[] }[];
  };
}

/** The same query as cleanupFetchXml, as the Web API's QueryExpression complex type. */
export function cleanupQueryExpression(settings: CleanupSettings): QueryExpressionJson {
  assertRetentionDays(settings.retentionDays);
  const int = (value: number): QueryValue => ({ Type: 'System.Int32', Value: String(value) });
  return {
    EntityName: OutboxMessage.logicalName,
    ColumnSet: { AllColumns: false, Columns: [OutboxMessage.primaryIdAttribute] },
    Criteria: {
      FilterOperator: 'And',
      Conditions: [
        { AttributeName: CLEANUP_AGE_COLUMN, Operator: 'OlderThanXDays', Values: [int(settings.retentionDays)] },
        { AttributeName: OutboxMessage.columns.status, Operator: 'In', Values: finishedStatuses(settings).map(int) },
      ],
    },
  };
}

export interface BulkDeleteRequestBody {
  QuerySet: QueryExpressionJson[];
  JobName: string;
  SendEmailNotification: boolean;
  ToRecipients: never[];
  CCRecipients: never[];
  RecurrencePattern: string;
  StartDateTime: string;
  RunNow: boolean;
}

/** Body of `POST BulkDelete` for the recurring daily cleanup. */
export function cleanupBulkDeleteRequest(settings: CleanupSettings, startDateTime: Date, jobName = CLEANUP_JOB_NAME): BulkDeleteRequestBody {
  return {
    QuerySet: [cleanupQueryExpression(settings)],
    JobName: jobName,
    SendEmailNotification: false,
    ToRecipients: [],
    CCRecipients: [],
    RecurrencePattern: CLEANUP_RECURRENCE,
    StartDateTime: startDateTime.toISOString(),
    RunNow: false,
  };
}

/** Next 02:00 UTC after `now`: a quiet hour in most regions, and a fixed time so re-running the scheduler is stable. */
export function nextDailyStart(now: Date, hourUtc = 2): Date {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hourUtc, 0, 0));
  if (start.getTime() <= now.getTime()) start.setUTCDate(start.getUTCDate() + 1);
  return start;
}
