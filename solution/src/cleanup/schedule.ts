// Schedules the cleanup as a recurring daily BulkDelete job. Safe to run again: the new job is created first, then
// every other active job with the same name (an earlier run's) is cancelled, so there is never a gap and never two.
import { Settings } from '@dataverse-outbox/contract';
import { DataverseError, type DataverseClient } from '@dataverse-outbox/web-api';
import {
  CLEANUP_JOB_NAME,
  cleanupBulkDeleteRequest,
  nextDailyStart,
  type BulkDeleteRequestBody,
  type CleanupSettings,
} from './definition';

/** asyncoperation.operationtype of bulk delete jobs; statecode 3 = Completed, statuscode 32 = Canceled. */
const BULK_DELETE_OPERATION = 13;
const COMPLETED = 3;
const CANCELED = 32;

export interface ScheduleCleanupOptions {
  /** The product's Web API client (bearer token, Retry-After on throttling, Dataverse's errors typed). */
  client: DataverseClient;
  /** Overrides; when absent they are read from the environment's settings (value, else default). */
  retentionDays?: number;
  acksEnabled?: boolean;
  startDateTime?: Date;
  jobName?: string;
  now?: () => Date;
  onProgress?: (message: string) => void;
  abortSignal?: AbortSignal;
}

export interface ScheduleCleanupResult {
  jobId: string;
  replacedJobIds: string[];
  settings: CleanupSettings;
  request: BulkDeleteRequestBody;
}

interface SettingRow {
  schemaname: string;
  defaultvalue: string | null;
  environmentvariabledefinition_environmentvariablevalue?: { value: string | null }[];
}

/** Reads obx_RetentionDays and obx_AckQueue (current value, else default) from the environment. */
export async function readCleanupSettings(client: DataverseClient, abortSignal?: AbortSignal): Promise<CleanupSettings> {
  const names = [Settings.RetentionDays.schemaName, Settings.AckQueue.schemaName];
  const filter = names.map((n) => `schemaname eq '${n}'`).join(' or ');
  const path =
    `environmentvariabledefinitions?$select=schemaname,defaultvalue&$filter=${encodeURIComponent(filter)}` +
    `&$expand=environmentvariabledefinition_environmentvariablevalue($select=value)`;
  const response = await client.request('GET', path, { abortSignal, what: 'read the cleanup settings' });
  const rows = ((response.body as { value?: SettingRow[] } | undefined)?.value ?? []) as SettingRow[];
  const valueOf = (schemaName: string): string | undefined => {
    const row = rows.find((r) => r.schemaname === schemaName);
    if (!row) return undefined;
    const current = row.environmentvariabledefinition_environmentvariablevalue?.[0]?.value;
    return current ?? row.defaultvalue ?? '';
  };
  const retention = valueOf(Settings.RetentionDays.schemaName);
  const ackQueue = valueOf(Settings.AckQueue.schemaName);
  if (retention === undefined || ackQueue === undefined) {
    throw new DataverseError('InvalidResponse', `settings ${names.join(', ')} not found: is the DataverseOutbox solution imported in this environment?`);
  }
  return { retentionDays: Number(retention), acksEnabled: ackQueue.trim() !== '' };
}

export async function scheduleCleanupJob(options: ScheduleCleanupOptions): Promise<ScheduleCleanupResult> {
  const { client, abortSignal } = options;
  const progress = options.onProgress ?? (() => undefined);
  const jobName = options.jobName ?? CLEANUP_JOB_NAME;

  let settings: CleanupSettings;
  if (options.retentionDays !== undefined && options.acksEnabled !== undefined) {
    settings = { retentionDays: options.retentionDays, acksEnabled: options.acksEnabled };
  } else {
    progress('reading the retention and acknowledgement settings');
    const read = await readCleanupSettings(client, abortSignal);
    settings = { retentionDays: options.retentionDays ?? read.retentionDays, acksEnabled: options.acksEnabled ?? read.acksEnabled };
  }

  progress(`looking for an existing "${jobName}" job`);
  const filter = `name eq '${jobName.replace(/'/g, "''")}' and operationtype eq ${BULK_DELETE_OPERATION} and statecode ne ${COMPLETED}`;
  const existing = await client.request('GET', `asyncoperations?$select=asyncoperationid,name,statecode,statuscode&$filter=${encodeURIComponent(filter)}`, { abortSignal, what: 'find the cleanup jobs' });
  const previous = ((existing.body as { value?: { asyncoperationid: string }[] } | undefined)?.value ?? []).map((j) => j.asyncoperationid);

  const request = cleanupBulkDeleteRequest(settings, options.startDateTime ?? nextDailyStart((options.now ?? (() => new Date()))()), jobName);
  progress(`scheduling the daily job (retention ${settings.retentionDays} days, acknowledgements ${settings.acksEnabled ? 'on' : 'off'})`);
  const created = await client.request('POST', 'BulkDelete', { body: request, abortSignal, what: 'BulkDelete' });
  const jobId = (created.body as { JobId?: string } | undefined)?.JobId;
  if (!jobId) throw new DataverseError('InvalidResponse', 'BulkDelete returned no JobId');

  const replaced: string[] = [];
  for (const id of previous.filter((p) => p.toLowerCase() !== jobId.toLowerCase())) {
    progress(`cancelling the previous job ${id}`);
    await client.request('PATCH', `asyncoperations(${id})`, { body: { statecode: COMPLETED, statuscode: CANCELED }, abortSignal, what: `cancel job ${id}` });
    replaced.push(id);
  }
  return { jobId, replacedJobIds: replaced, settings, request };
}
