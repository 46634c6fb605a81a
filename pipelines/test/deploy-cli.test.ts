// The deploy command's behaviour without an environment: what --dry-run prints (text and JSON), that it runs
// nothing, how options are validated, and the instructions printed when pac or az is missing.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SecurityRoles, Settings, SolutionNames } from '@dataverse-outbox/contract';

import { placeholdersIn, runDeployCli, type DeployPlan, type ToolCheck } from '../src/index';

import { runCli, tempSettingsFile } from './support/cli';
import { externalCommandProblems } from './support/externalClis';
import { readText, repoRoot } from './support/repo';

const appId = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const url = 'https://contoso-test.crm.dynamics.com';
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function settings(values: Record<string, string> = { [Settings.RetentionDays.schemaName]: '14' }): string {
  const { file, dir } = tempSettingsFile(values);
  temps.push(dir);
  return file;
}

/** In-process run with command and network doubles that fail the test if anything is executed. */
async function dryRun(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runDeployCli(args, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: { PATH: process.env.PATH },
    cwd: repoRoot,
    runCommand: () => Promise.reject(new Error('a dry run must not run commands')),
    fetch: () => Promise.reject(new Error('a dry run must not call the Web API')),
    now: () => new Date('2026-03-01T10:00:00Z'),
  });
  return { code, out, err };
}

function assertPlaceholdersResolvable(plan: DeployPlan): void {
  const known = new Set(Object.keys(plan.variables));
  for (const step of plan.steps) {
    const text = JSON.stringify(step.kind === 'command' ? step.args : [step.path, step.body ?? null]);
    for (const name of placeholdersIn(text)) expect({ step: step.id, name, known: known.has(name) }).toEqual({ step: step.id, name, known: true });
    for (const c of step.capture ?? []) known.add(c.var);
  }
}

describe('npm run deploy --dry-run', () => {
  it('prints a replayable JSON plan: pack, import with the settings file, app user + role, cleanup job', async () => {
    const file = settings();
    const { code, out } = await dryRun(['--environment', 'test', '--url', `${url}/`, '--app-id', appId, '--settings-file', file, '--dry-run', '--json']);
    expect(code).toBe(0);
    const plan = JSON.parse(out) as DeployPlan & { tools: ToolCheck[] };
    expect(plan.webApiBase).toBe(`${url}/api/data/v9.2/`);
    expect(plan.steps.map((s) => s.id)).toEqual([
      'pack-solution',
      'import-solution',
      'who-am-i',
      'find-publisher-role',
      'find-app-user',
      'create-app-user',
      'find-role-assignment',
      'assign-publisher-role',
      'find-publisher-profile',
      'find-profile-membership',
      'add-to-publisher-profile',
      'find-cleanup-job',
      'schedule-cleanup',
      'verify-canary',
    ]);
    const version = /<Version>([0-9.]+)<\/Version>/.exec(readText('solution/src/Other/Solution.xml'))?.[1];
    const importStep = plan.steps.find((s) => s.id === 'import-solution');
    expect(importStep).toMatchObject({
      kind: 'command',
      program: 'pac',
      args: expect.arrayContaining(['solution', 'import', '--environment', url, '--settings-file', file, '--path', `solution/out/${SolutionNames.uniqueName}_${version}_managed.zip`]),
    });
    const createUser = plan.steps.find((s) => s.id === 'create-app-user');
    expect(createUser).toMatchObject({ method: 'POST', url: `${url}/api/data/v9.2/systemusers`, body: { applicationid: '{{appId}}' } });
    expect(plan.variables.appId).toBe(appId);
    const role = plan.steps.find((s) => s.id === 'find-publisher-role');
    expect(role?.kind === 'webapi' && role.path).toContain(`name eq '${SecurityRoles.Publisher}'`);
    const cleanup = plan.steps.find((s) => s.id === 'schedule-cleanup');
    expect(cleanup).toMatchObject({ method: 'POST', path: 'BulkDelete', body: { JobName: 'DataverseOutbox: delete finished outbox messages', RecurrencePattern: 'FREQ=DAILY;INTERVAL=1;', StartDateTime: '2026-03-02T02:00:00.000Z' } });
    expect(JSON.stringify(cleanup)).toContain('"OlderThanXDays"');
    expect(JSON.stringify(cleanup)).toContain('"Value":"14"');
    assertPlaceholdersResolvable(plan);
    expect(plan.tools.map((t) => t.name).sort()).toEqual(['az', 'npm', 'pac']);
  });

  it('prints every command and Web API call (method, URL, body) as text, and runs nothing', async () => {
    const { code, out } = await dryRun(['--environment', 'test', '--url', url, '--app-id', appId, '--settings-file', settings(), '--dry-run']);
    expect(code).toBe(0);
    expect(out).toContain('nothing was run (--dry-run)');
    expect(out).toContain('$ npm run build -w solution');
    expect(out).toMatch(/\$ pac solution import --environment https:\/\/contoso-test\.crm\.dynamics\.com --path solution\/out\/DataverseOutbox_[0-9.]+_managed\.zip --settings-file \S+settings\.json --async/);
    expect(out).toContain(`POST ${url}/api/data/v9.2/systemusers`);
    expect(out).toContain(`POST ${url}/api/data/v9.2/systemusers({{systemUserId}})/systemuserroles_association/$ref`);
    expect(out).toContain('"@odata.id": "{{apiBase}}roles({{publisherRoleId}})"');
    expect(out).toContain(`POST ${url}/api/data/v9.2/BulkDelete`);
  });

  it('plans the Azure side too with --resource-group: Bicep, identity lookup, function zip deploy last', async () => {
    const { code, out } = await dryRun(['--environment', 'prod', '--url', url, '--settings-file', settings(), '--resource-group', 'rg-outbox-prod', '--upgrade', '--dry-run', '--json']);
    expect(code).toBe(0);
    const plan = JSON.parse(out) as DeployPlan;
    const ids = plan.steps.map((s) => s.id);
    expect(ids.slice(0, 5)).toEqual(['pack-solution', 'deploy-infra', 'read-function-app-name', 'read-principal-id', 'read-app-id']);
    expect(ids.slice(-3)).toEqual(['package-function', 'deploy-function', 'verify-canary']);
    const infra = plan.steps.find((s) => s.id === 'deploy-infra');
    expect(infra?.kind === 'command' && infra.args).toEqual(
      expect.arrayContaining(['--template-file', 'pipelines/infra/main.bicep', '--parameters', '@pipelines/infra/parameters/prod.parameters.json', `dataverseUrl=${url}`]),
    );
    const importStep = plan.steps.find((s) => s.id === 'import-solution');
    expect(importStep?.kind === 'command' && importStep.args).toContain('--stage-and-upgrade');
    // No --app-id: the managed identity's application id is read from Azure before the application user is made.
    expect(plan.variables.appId).toBeUndefined();
    assertPlaceholdersResolvable(plan);
    // Every pac/az command it would run uses flags Microsoft documents; npm scripts exist.
    for (const step of plan.steps) {
      if (step.kind === 'command' && step.program !== 'npm') expect(externalCommandProblems([step.program, ...step.args])).toEqual([]);
    }
  });

  it('verifies last with a canary (shown by the dry run), and --skip verify leaves it out', async () => {
    const { code, out } = await dryRun(['--environment', 'test', '--url', url, '--app-id', appId, '--settings-file', settings(), '--dry-run']);
    expect(code).toBe(0);
    expect(out).toContain(`$ npm run outbox -w publisher-function -- --url ${url} canary --target outbox-canary --timeout 300`);
    const json = await dryRun(['--environment', 'test', '--url', url, '--app-id', appId, '--settings-file', settings(), '--dry-run', '--json']);
    const plan = JSON.parse(json.out) as DeployPlan;
    expect(plan.steps.at(-1)).toMatchObject({ id: 'verify-canary', group: 'verify', kind: 'command', program: 'npm' });
    const skipped = JSON.parse((await dryRun(['--environment', 'test', '--url', url, '--app-id', appId, '--settings-file', settings(), '--skip', 'verify', '--dry-run', '--json'])).out) as DeployPlan;
    expect(skipped.steps.some((s) => s.group === 'verify')).toBe(false);
    expect(skipped.steps.at(-1)?.id).toBe('schedule-cleanup');
  });

  it('leaves out the steps named in --skip and keeps Published rows when acknowledgements are on', async () => {
    const { out } = await dryRun(['--environment', 'dev', '--url', url, '--app-id', appId, '--settings-file', settings({}), '--skip', 'pack,import', '--dry-run', '--json']);
    const plan = JSON.parse(out) as DeployPlan;
    expect(plan.steps.some((s) => s.group === 'pack' || s.group === 'import')).toBe(false);
    const body = JSON.stringify(plan.steps.find((s) => s.id === 'schedule-cleanup'));
    // Default retention (7 days) and acks on by default: Acked and Cancelled only.
    expect(body).toContain(`"Value":"${Settings.RetentionDays.defaultValue}"`);
    expect(body).toContain('"612000002"');
    expect(body).not.toContain('"612000001"');
  });

  it.each([
    [['--environment', 'test', '--url', 'not a url', '--app-id', appId], /--url must be an absolute URL/],
    [['--environment', 'test', '--url', url, '--app-id', 'nope'], /--app-id must be a GUID/],
    [['--environment', 'test', '--url', url], /--app-id is required/],
    [['--environment', 'test', '--url', url, '--app-id', appId, '--skip', 'everything'], /unknown step "everything"/],
    [['--environment', 'qa', '--url', url, '--app-id', appId], /deployment settings file not found: .*solution\/deployment-settings\/qa\.json/],
    [['--environment', 'test', '--url', url, '--app-id', appId, '--package', 'unmanaged', '--upgrade'], /--upgrade applies to managed solutions only/],
  ])('rejects bad options with a specific message: %j', async (args, message) => {
    const withSettings = args.includes('qa') ? args : [...args, '--settings-file', settings()];
    const { code, err } = await dryRun([...withSettings, '--dry-run']);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});

describe('npm run deploy (real process)', () => {
  it('stops before doing anything when pac or az is missing, with install instructions', async () => {
    // A PATH with node only: npm, pac and az are all absent.
    const bin = mkdtempSync(path.join(os.tmpdir(), 'outbox-path-'));
    temps.push(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const result = await runCli(['--environment', 'test', '--url', url, '--app-id', appId, '--settings-file', settings()], { PATH: bin, HOME: os.tmpdir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'pac' was not found on PATH");
    expect(result.stderr).toContain('dotnet tool install --global Microsoft.PowerApps.CLI.Tool');
    expect(result.stderr).toContain("'az' was not found on PATH");
    expect(result.stderr).toContain('az login');
    expect(result.stdout).not.toContain('Deploying');
  });

  it('prints its options with --help', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--environment', '--url', '--app-id', '--settings-file', '--dry-run', '--json', '--skip', '--resource-group', '--upgrade']) {
      expect(result.stdout).toContain(flag);
    }
  });
});
