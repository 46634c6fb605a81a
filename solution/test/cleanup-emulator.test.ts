// The cleanup job end to end against the Dataverse emulator (real HTTP, SQLite-backed): schedule twice, run the job
// past the retention period, and check which outbox rows are gone.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';

// Through the package's public subpath, as operators' scripts import it.
import { CLEANUP_JOB_NAME, scheduleCleanupJob } from '@dataverse-outbox/solution/cleanup';
import { DataverseClient } from '@dataverse-outbox/web-api';

const DAY = 86_400_000;

describe('cleanup job on the Dataverse emulator', () => {
  let emulator: DataverseEmulator;
  let api: DataverseClient;
  beforeAll(async () => {
    emulator = await startDataverseEmulator({ port: 0 });
    api = new DataverseClient(emulator.url, { token: 'emulator-token' });
  });
  afterAll(async () => {
    await emulator.close();
  });

  async function createRow(name: string, status: number): Promise<void> {
    await api.create(OutboxMessage.entitySetName, {
      [OutboxMessage.columns.name]: name,
      [OutboxMessage.columns.messageId]: name,
      [OutboxMessage.columns.target]: 'orders',
      [OutboxMessage.columns.status]: status,
    });
  }

  async function remainingNames(): Promise<string[]> {
    const response = await api.request('GET', `${OutboxMessage.entitySetName}?$select=${OutboxMessage.columns.name}`);
    return ((response.body as { value: Record<string, string>[] }).value.map((r) => r[OutboxMessage.columns.name] ?? '')).sort();
  }

  it('schedules idempotently and deletes only finished rows older than the retention period', async () => {
    for (const [name, status] of Object.entries(OutboxStatus)) await createRow(name, status);

    const first = await scheduleCleanupJob({ client: api, startDateTime: new Date(Date.now() + 60_000) });
    const second = await scheduleCleanupJob({ client: api, startDateTime: new Date(Date.now() + 60_000) });
    expect(first.settings).toEqual({ retentionDays: 7, acksEnabled: true });
    expect(second.replacedJobIds).toEqual([first.jobId]);
    const jobs = await api.request('GET', `asyncoperations?$select=asyncoperationid,statecode,statuscode&$filter=${encodeURIComponent(`name eq '${CLEANUP_JOB_NAME}'`)}`);
    const states = (jobs.body as { value: { asyncoperationid: string; statecode: number; statuscode: number }[] }).value;
    expect(states.filter((j) => j.statecode !== 3).map((j) => j.asyncoperationid)).toEqual([second.jobId]);

    // Not yet old enough: nothing is deleted.
    await emulator.runDueBulkDeleteJobs({ now: new Date(Date.now() + 2 * DAY) });
    expect(await remainingNames()).toHaveLength(6);

    await emulator.runDueBulkDeleteJobs({ now: new Date(Date.now() + 9 * DAY) });
    expect(await remainingNames()).toEqual(['DeadLettered', 'Failed', 'Pending', 'Published']);
  });
});
