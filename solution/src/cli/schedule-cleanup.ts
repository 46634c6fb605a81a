// `npm run schedule-cleanup -w solution -- --url https://contoso.crm.dynamics.com [--retention-days 7] [--acks on|off]`
// Schedules (or replaces) the recurring daily BulkDelete job that removes finished outbox rows.
// The bearer token comes from DATAVERSE_TOKEN and is never printed.
import { DataverseClient } from '@dataverse-outbox/web-api';
import { Command, InvalidArgumentError, Option } from 'commander';

import { CLEANUP_JOB_NAME, assertRetentionDays, cleanupBulkDeleteRequest, nextDailyStart } from '../cleanup/definition';
import { scheduleCleanupJob } from '../cleanup/schedule';

function parseDays(value: string): number {
  const days = Number(value);
  try {
    assertRetentionDays(days);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return days;
}

function parseDate(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(`not an ISO-8601 date-time: ${value}`);
  return date;
}

const program = new Command()
  .name('schedule-cleanup')
  .description('Schedule the daily BulkDelete job that deletes finished outbox messages (idempotent: replaces its own earlier job)')
  .requiredOption('--url <environment>', 'Dataverse environment URL, e.g. https://contoso.crm.dynamics.com')
  .option('--retention-days <days>', 'override obx_RetentionDays (default: the environment value)', parseDays)
  .addOption(new Option('--acks <mode>', 'acknowledgements on or off (default: on when obx_AckQueue is not empty)').choices(['on', 'off']))
  .option('--start <iso>', 'first run (default: next 02:00 UTC)', parseDate)
  .option('--job-name <name>', 'job name used to find and replace the job', CLEANUP_JOB_NAME)
  .option('--dry-run', 'print the BulkDelete request instead of sending it (no token needed)', false)
  .parse();

const options = program.opts<{ url: string; retentionDays?: number; acks?: 'on' | 'off'; start?: Date; jobName: string; dryRun: boolean }>();
const log = (message: string): void => {
  process.stdout.write(`schedule-cleanup: ${message}\n`);
};

async function main(): Promise<void> {
  if (options.dryRun) {
    const request = cleanupBulkDeleteRequest(
      { retentionDays: options.retentionDays ?? 7, acksEnabled: options.acks !== 'off' },
      options.start ?? nextDailyStart(new Date()),
      options.jobName,
    );
    process.stdout.write(`POST ${options.url.replace(/\/$/, '')}/api/data/v9.2/BulkDelete\n${JSON.stringify(request, null, 2)}\n`);
    return;
  }
  const token = process.env['DATAVERSE_TOKEN'];
  if (!token) {
    process.stderr.write('schedule-cleanup: set DATAVERSE_TOKEN to a bearer token for the environment (for example from `az account get-access-token --resource <url>`)\n');
    process.exitCode = 2;
    return;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const result = await scheduleCleanupJob({
    // An unreachable environment is reported at once (a command, not a host riding out an outage); throttling still waits.
    client: new DataverseClient(options.url, { token }, { retryOptions: { retryUnreachable: false } }),
    ...(options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {}),
    ...(options.acks !== undefined ? { acksEnabled: options.acks === 'on' } : {}),
    ...(options.start ? { startDateTime: options.start } : {}),
    jobName: options.jobName,
    onProgress: log,
    abortSignal: controller.signal,
  });
  log(`scheduled job ${result.jobId}${result.replacedJobIds.length ? `, replaced ${result.replacedJobIds.join(', ')}` : ''}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`schedule-cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
