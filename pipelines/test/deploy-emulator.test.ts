// `npm run deploy --dry-run --json` against the Dataverse emulator: the printed Web API calls, replayed by a small
// independent client (not the deploy tool's executor), create the application user, give it the Outbox Publisher
// role and schedule the cleanup job; replaying again changes nothing; and a real (non-dry) run does the same.
// The scheduled job is then run by the emulator to show it deletes exactly the finished, aged rows.
import { rmSync } from 'node:fs';

import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus, SecurityRoles, Settings } from '@dataverse-outbox/contract';

import type { DeployPlan } from '../src/index';

import { runCli, tempSettingsFile } from './support/cli';

const token = 'deploy-test-token';
const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json', 'OData-Version': '4.0', 'OData-MaxVersion': '4.0' };

let emulator: DataverseEmulator;
let settingsDir: string;
let settingsFile: string;

beforeAll(async () => {
  emulator = await startDataverseEmulator({ port: 0 });
  ({ dir: settingsDir, file: settingsFile } = tempSettingsFile({ [Settings.RetentionDays.schemaName]: '7', [Settings.AckQueue.schemaName]: 'outbox-acks' }));
});

afterAll(async () => {
  await emulator?.close();
  rmSync(settingsDir, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; entityId: string | null }> {
  const response = await fetch(new URL(path, emulator.apiUrl), {
    method,
    headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as unknown) : undefined, entityId: response.headers.get('OData-EntityId') };
}

function dig(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
}

/** Replays the Web API steps of a printed plan, following its documented rules (placeholders, captures, skipIfSet). */
async function replay(plan: DeployPlan): Promise<{ vars: Record<string, string>; sent: string[] }> {
  const vars: Record<string, string> = { ...plan.variables };
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (_m, n: string) => {
    if (vars[n] === undefined) throw new Error(`no value for ${n}`);
    return vars[n] as string;
  });
  const sent: string[] = [];
  for (const step of plan.steps) {
    if (step.kind !== 'webapi') continue;
    if ((step.skipIfSet ?? []).some((n) => vars[n] !== undefined)) continue;
    const url = fill(step.url);
    expect(url.startsWith(plan.webApiBase)).toBe(true);
    const result = await api(step.method, url, step.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(step.body))));
    expect({ step: step.id, status: result.status < 300 ? 'ok' : result.status, error: result.status < 300 ? undefined : result.json }).toEqual({ step: step.id, status: 'ok', error: undefined });
    sent.push(`${step.method} ${step.id}`);
    for (const c of step.capture ?? []) {
      const raw = c.from === 'entityId' ? /\(([0-9a-f-]{36})\)$/i.exec(result.entityId ?? '')?.[1] : c.from === 'json' ? dig(result.json, c.path) : undefined;
      if (raw !== undefined && raw !== null && raw !== '') vars[c.var] = String(raw);
      else expect({ step: step.id, capture: c.var, required: c.required }).toEqual({ step: step.id, capture: c.var, required: false });
    }
  }
  return { vars, sent };
}

async function printedPlan(appId: string): Promise<DeployPlan> {
  const result = await runCli(['--environment', 'dev', '--url', emulator.url, '--app-id', appId, '--settings-file', settingsFile, '--skip', 'pack,import', '--dry-run', '--json']);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as DeployPlan;
}

async function appUsers(appId: string): Promise<{ systemuserid: string; _businessunitid_value: string }[]> {
  const { json } = await api('GET', `systemusers?$select=systemuserid,_businessunitid_value&$filter=applicationid eq ${appId}`);
  return (json as { value: { systemuserid: string; _businessunitid_value: string }[] }).value;
}

async function rolesOf(userId: string): Promise<string[]> {
  const { json } = await api('GET', `systemusers(${userId})/systemuserroles_association?$select=name`);
  return (json as { value: { name: string }[] }).value.map((r) => r.name);
}

async function profilesOf(userId: string): Promise<string[]> {
  const { json } = await api('GET', `systemusers(${userId})/systemuserprofiles_association?$select=name`);
  return (json as { value: { name: string }[] }).value.map((r) => r.name);
}

async function cleanupJobs(name: string): Promise<unknown[]> {
  const { json } = await api('GET', `asyncoperations?$select=asyncoperationid,name,operationtype,recurrencepattern&$filter=name eq '${name}' and statecode ne 3`);
  return (json as { value: unknown[] }).value;
}

describe('deploy plan replayed against the Dataverse emulator', () => {
  const appId = 'a1b2c3d4-0000-4000-8000-00000000e001';

  it('creates the application user with the Outbox Publisher role and schedules the cleanup job', async () => {
    const plan = await printedPlan(appId);
    const first = await replay(plan);
    expect(first.sent).toEqual([
      'GET who-am-i',
      'GET find-publisher-role',
      'GET find-app-user',
      'POST create-app-user',
      'GET find-role-assignment',
      'POST assign-publisher-role',
      'GET find-publisher-profile',
      'GET find-profile-membership',
      'POST add-to-publisher-profile',
      'GET find-cleanup-job',
      'POST schedule-cleanup',
    ]);
    const users = await appUsers(appId);
    expect(users).toHaveLength(1);
    expect(users[0]?.systemuserid).toBe(first.vars.systemUserId);
    expect(users[0]?._businessunitid_value).toBe(first.vars.businessUnitId);
    expect(await rolesOf(first.vars.systemUserId as string)).toEqual([SecurityRoles.Publisher]);
    // Column security: the publisher can only read and mark the delivery state as a member of its profile.
    expect(await profilesOf(first.vars.systemUserId as string)).toEqual([SecurityRoles.Publisher]);
    const jobName = (plan.steps.find((s) => s.id === 'schedule-cleanup') as { body: { JobName: string } }).body.JobName;
    const jobs = await cleanupJobs(jobName);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ asyncoperationid: first.vars.cleanupJobId, operationtype: 13 });
  });

  it('is idempotent: replaying the same plan again finds everything and creates nothing', async () => {
    const plan = await printedPlan(appId);
    const second = await replay(plan);
    expect(second.sent).toEqual(['GET who-am-i', 'GET find-publisher-role', 'GET find-app-user', 'GET find-role-assignment', 'GET find-publisher-profile', 'GET find-profile-membership', 'GET find-cleanup-job']);
    const users = await appUsers(appId);
    expect(users).toHaveLength(1);
    expect(await rolesOf(users[0]?.systemuserid as string)).toEqual([SecurityRoles.Publisher]);
    const jobName = (plan.steps.find((s) => s.id === 'schedule-cleanup') as { body: { JobName: string } }).body.JobName;
    expect(await cleanupJobs(jobName)).toHaveLength(1);
  });

  it('the scheduled job deletes finished rows past retention and keeps Failed, DeadLettered, Pending, Published-awaiting-ack and recent rows', async () => {
    const create = async (name: string, status: number) => {
      const r = await api('POST', OutboxMessage.entitySetName, { [OutboxMessage.columns.name]: name, [OutboxMessage.columns.messageId]: name, [OutboxMessage.columns.target]: 'erp-orders', [OutboxMessage.columns.status]: status });
      expect(r.status).toBeLessThan(300);
    };
    // Acks are on (obx_AckQueue set): a Published row still waits for its acknowledgement, so it is kept.
    await create('old-acked', OutboxStatus.Acked);
    await create('old-published', OutboxStatus.Published);
    await create('old-cancelled', OutboxStatus.Cancelled);
    await create('old-failed', OutboxStatus.Failed);
    await create('old-deadlettered', OutboxStatus.DeadLettered);
    await create('old-pending', OutboxStatus.Pending);
    emulator.setClockOffset(9 * 24 * 3600 * 1000);
    await create('new-acked', OutboxStatus.Acked);
    await emulator.runDueBulkDeleteJobs();
    const { json } = await api('GET', `${OutboxMessage.entitySetName}?$select=${OutboxMessage.columns.name}`);
    const left = (json as { value: Record<string, string>[] }).value.map((r) => r[OutboxMessage.columns.name]).sort();
    expect(left).toEqual(['new-acked', 'old-deadlettered', 'old-failed', 'old-pending', 'old-published']);
    emulator.setClockOffset(0);
  });

  it('a real run of npm run deploy (DATAVERSE_TOKEN, no pac or az needed) does the same for another identity', async () => {
    const otherAppId = 'a1b2c3d4-0000-4000-8000-00000000e002';
    const result = await runCli(
      ['--environment', 'dev', '--url', emulator.url, '--app-id', otherAppId, '--settings-file', settingsFile, '--skip', 'pack,import,verify'],
      { ...process.env, DATAVERSE_TOKEN: token },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\[4\/11\] Create the application user: done \(systemUserId=[0-9a-f-]{36}\)/);
    expect(result.stdout).toMatch(/\[11\/11\] .*: skipped, cleanupJobId is already known/);
    expect(result.stdout).not.toContain(token);
    const users = await appUsers(otherAppId);
    expect(users).toHaveLength(1);
    expect(await rolesOf(users[0]?.systemuserid as string)).toEqual([SecurityRoles.Publisher]);
    expect(await profilesOf(users[0]?.systemuserid as string)).toEqual([SecurityRoles.Publisher]);
  });
});
