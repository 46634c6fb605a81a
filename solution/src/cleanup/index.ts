// The cleanup job as a library (`@dataverse-outbox/solution/cleanup`): its definition (what a finished row is, the
// bulk-delete request) and the scheduler the `schedule-cleanup` command runs. A subpath of its own, so that web
// resources bundling the names from the main barrel never pull in HTTP code.
export {
  CLEANUP_AGE_COLUMN,
  CLEANUP_JOB_NAME,
  CLEANUP_RECURRENCE,
  assertRetentionDays,
  cleanupBulkDeleteRequest,
  cleanupFetchXml,
  cleanupQueryExpression,
  finishedStatuses,
  nextDailyStart,
  type BulkDeleteRequestBody,
  type CleanupSettings,
  type QueryExpressionJson,
  type QueryValue,
} from './definition';
export { readCleanupSettings, scheduleCleanupJob, type ScheduleCleanupOptions, type ScheduleCleanupResult } from './schedule';
