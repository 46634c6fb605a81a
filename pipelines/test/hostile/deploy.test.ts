// Hostile input for `npm run deploy`: command-line options, deployment settings values and values captured from
// az / the Web API. Each case asserts the specific error, that nothing ran (no command, no Web API call) or that
// nothing ran after the bad value, and that the same run without the bad value goes through.
import { rmSync, writeFileSync } from 'node:fs';

import { Settings } from '@dataverse-outbox/contract';

import { buildDeployPlan, executePlan, isDeployError, runDeployCli, settingsValueProblems, type CommandRunner, type DeployOptions } from '../../src/index';
import { tempSettingsFile } from '../support/cli';
import { repoRoot } from '../support/repo';

const appId = '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const url = 'https://contoso-test.crm.dynamics.com';
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function settingsFile(entries: [string, string][]): string {
  const { file, dir } = tempSettingsFile({});
  temps.push(dir);
  const json = { EnvironmentVariables: entries.map(([SchemaName, Value]) => ({ SchemaName, Value })), ConnectionReferences: [] };
  writeFileSync(file, JSON.stringify(json));
  return file;
}
const goodSettings = (): [string, string][] => [
  [Settings.RetentionDays.schemaName, '14'],
  [Settings.BatchSize.schemaName, '100'],
  [Settings.AllowedTargets.schemaName, '["orders","invoices"]'],
];

/** A dry run whose doubles count (and refuse) every command and Web API call. */
async function dryRun(args: string[]): Promise<{ code: number; out: string; err: string; sideEffects: number }> {
  let out = '';
  let err = '';
  let sideEffects = 0;
  const code = await runDeployCli([...args, '--dry-run'], {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    env: { PATH: process.env.PATH },
    cwd: repoRoot,
    runCommand: () => {
      sideEffects++;
      return Promise.reject(new Error('a dry run must not run commands'));
    },
    fetch: () => {
      sideEffects++;
      return Promise.reject(new Error('a dry run must not call the Web API'));
    },
    now: () => new Date('2026-12-07T10:00:00Z'),
  });
  return { code, out, err, sideEffects };
}

const base = (): Record<string, string> => ({ '--environment': 'test', '--url': url, '--app-id': appId });
const argv = (options: Record<string, string>, settings: string): string[] => [...Object.entries(options).flat(), '--settings-file', settings];

describe('deploy options', () => {
  const cases: [string, Record<string, string>, RegExp, string?][] = [
    ['a URL with a user name and password (never echoed)', { '--url': 'https://admin:Hunter2Secret@contoso.crm.dynamics.com' }, /--url must not contain a user name or password/, 'Hunter2Secret'],
    ['an unparsable URL that holds a password (never echoed)', { '--url': 'https://admin:Hunter2Secret@[contoso' }, /--url must be an absolute URL .*not shown, it may hold a credential/, 'Hunter2Secret'],
    ['plain http to a real environment', { '--url': 'http://contoso.crm.dynamics.com' }, /--url must use https \(http only for a local emulator on localhost\), got "http:"/],
    ['a javascript: URL', { '--url': 'javascript:alert(1)' }, /--url must use https/],
    ['a URL with a query string', { '--url': `${url}/?$filter=x` }, /without \?query or #fragment/],
    ['a URL with a line break', { '--url': `${url}\n--debug` }, /--url must be an absolute URL without spaces or control characters/],
    ['a URL path with an encoded slash', { '--url': `${url}/a%2F..` }, /--url path may only hold plain segments, got "\/a%2F.."/],
    ['an environment name that walks out of the settings folder', { '--environment': '../../etc/passwd' }, /--environment must be 1-32 lower-case letters, digits or hyphens .*got "..\/..\/etc\/passwd"/],
    ['an environment name with a shell operator', { '--environment': 'prod&calc' }, /--environment must be .*got "prod&calc"/],
    ['an application id that is an OData injection', { '--app-id': "x' or 1 eq 1" }, /--app-id must be a GUID .*got "x' or 1 eq 1"/],
    ['a business unit id one character off a GUID', { '--business-unit': '00000000-0000-0000-0000-00000000000g' }, /--business-unit must be a GUID/],
    ['a resource group name with a shell operator', { '--resource-group': 'rg&whoami' }, /--resource-group must be 1-90 letters, digits, _ - \. \( \) .*got "rg&whoami"/],
    ['a resource group name with a line break', { '--resource-group': 'rg\nname' }, /--resource-group must be .*got "rg\\nname"/],
    ['a resource group name ending in a period', { '--resource-group': 'rg.' }, /not end with a period/],
    ['a function app name with a space', { '--resource-group': 'rg-outbox', '--function-app': 'my app' }, /--function-app must be 2-60 letters, digits and hyphens/],
    ['a function package that is not a zip', { '--resource-group': 'rg-outbox', '--function-package': 'publisher.tar.gz' }, /--function-package must be a \.zip file/],
  ];

  // Every row has four entries: with three, Jest would pass its `done` callback as the fourth and wait for it.
  const rows = cases.map(([what, bad, message, secret]) => [what, bad, message, secret ?? ''] as const);
  it.each(rows)('hostile: refuses %s, runs nothing, and the same run without it goes through', async (_what, bad, message, secret) => {
    const settings = settingsFile(goodSettings());
    const refused = await dryRun(argv({ ...base(), ...bad }, settings));
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(message);
    expect(refused.sideEffects).toBe(0);
    if (secret) expect(refused.err + refused.out).not.toContain(secret);
    // Nothing else was wrong: without the bad option the plan is made.
    const fixed = { ...base(), ...Object.fromEntries(Object.keys(bad).filter((k) => k in base() || k === '--resource-group').map((k) => [k, base()[k] ?? 'rg-outbox'])) };
    const ok = await dryRun(argv(fixed, settings));
    expect({ code: ok.code, err: ok.err }).toEqual({ code: 0, err: '' });
  });

  it('hostile: a settings file path with a line break is refused before anything runs', async () => {
    const refused = await dryRun([...Object.entries(base()).flat(), '--settings-file', 'settings\nfile.json']);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--settings-file must not contain control characters .*got ".*settings\\nfile.json"/);
    expect(refused.sideEffects).toBe(0);
  });
});

describe('deployment settings values', () => {
  const cases: [string, [string, string], RegExp][] = [
    ['a setting the solution does not have', ['obx_Bogus', '1'], /"obx_Bogus" is not a setting of the solution/],
    ['a schema name in the wrong case (pac would not apply it)', ['obx_batchsize', '10'], /"obx_batchsize" must be spelled exactly obx_BatchSize/],
    ['a number in exponent notation', [Settings.BatchSize.schemaName, '1e3'], /obx_BatchSize must be a whole number from 1 to 1000, got "1e3"/],
    ['a batch size of zero', [Settings.BatchSize.schemaName, '0'], /obx_BatchSize must be a whole number from 1 to 1000, got "0"/],
    ['a negative attempt count', [Settings.MaxAttempts.schemaName, '-1'], /obx_MaxAttempts must be a whole number from 1 to 1000/],
    // The publisher's bound (contract MAX_PARTITION_COUNT): more partitions than it starts with is refused before import.
    ['a partition count above the limit', [Settings.PartitionCount.schemaName, '65'], /obx_PartitionCount must be a whole number from 1 to 64, got "65"/],
    ['a partition count of zero', [Settings.PartitionCount.schemaName, '0'], /obx_PartitionCount must be a whole number from 1 to 64, got "0"/],
    ['a Boolean written as true', [Settings.PublisherEnabled.schemaName, 'true'], /obx_PublisherEnabled must be "yes" or "no", got "true"/],
    ['allowed targets that are not JSON', [Settings.AllowedTargets.schemaName, 'orders,invoices'], /obx_AllowedTargets must be valid JSON/],
    ['an allowed target with a leading space', [Settings.AllowedTargets.schemaName, '[" orders"]'], /obx_AllowedTargets lists 1 invalid queue\/topic name\(s\).*" orders"/],
    ['an allowed target with a trailing line break', [Settings.AllowedTargets.schemaName, '["orders\\n"]'], /obx_AllowedTargets lists 1 invalid queue\/topic name\(s\).*"orders\\n"/],
    ['an ack queue with a trailing space', [Settings.AckQueue.schemaName, 'outbox-acks '], /obx_AckQueue must be a queue name/],
    ['health thresholds as an array', [Settings.HealthThresholds.schemaName, '[]'], /obx_HealthThresholds must be a JSON object/],
    // What the publisher would refuse at start (the contract's reader) is refused before import.
    ['a negative health threshold', [Settings.HealthThresholds.schemaName, '{"maxFailed":-1}'], /obx_HealthThresholds\.maxFailed must be a number >= 0, got -1/],
    ['a misspelt health threshold', [Settings.HealthThresholds.schemaName, '{"maxfailed":1}'], /obx_HealthThresholds has an unknown field "maxfailed"/],
    ['health thresholds that are not JSON', [Settings.HealthThresholds.schemaName, '{maxFailed:1}'], /obx_HealthThresholds is not valid JSON/],
    ['a namespace given as a URL', [Settings.ServiceBusNamespace.schemaName, 'https://contoso.servicebus.windows.net'], /obx_ServiceBusNamespace must be a fully qualified namespace/],
    // obx_MessageFormats: the contract's reader, with the file's own allowed targets (["orders","invoices"]).
    ['message formats as an array', [Settings.MessageFormats.schemaName, '["orders"]'], /obx_MessageFormats must be a JSON object of target name -> format/],
    ['an unknown message format', [Settings.MessageFormats.schemaName, '{"orders":"cloudevents"}'], /obx_MessageFormats entry "orders": the format must be one of "default", "cloudevents-binary", "cloudevents-structured", got "cloudevents"/],
    ['a message format for a target that is not allowed', [Settings.MessageFormats.schemaName, '{"payments":"cloudevents-binary"}'], /obx_MessageFormats entry "payments": target "payments" is not in the allowed targets \("orders", "invoices"\)/],
    ['a NUL character in a value', [Settings.AckQueue.schemaName, 'outbox\u0000acks'], /obx_AckQueue contains a control character/],
  ];

  it.each(cases)('hostile: refuses %s, lists only that entry, and imports nothing', async (_what, entry, message) => {
    const entries: [string, string][] = [...goodSettings().filter(([n]) => n !== entry[0]), entry];
    // Exactly one problem: the good entries of the same file are not blamed.
    const problems = settingsValueProblems(entries.map(([SchemaName, Value]) => ({ SchemaName, Value })));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    const refused = await dryRun(argv(base(), settingsFile(entries)));
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(message);
    expect(refused.sideEffects).toBe(0);
  });

  it('hostile: a setting listed twice, with other bad values in the same file: every problem is listed at once', () => {
    const problems = settingsValueProblems(
      [
        [Settings.BatchSize.schemaName, '100'],
        [Settings.BatchSize.schemaName, '200'],
        [Settings.PublisherEnabled.schemaName, 'maybe'],
        [Settings.RetentionDays.schemaName, '7'],
      ].map(([SchemaName, Value]) => ({ SchemaName: SchemaName as string, Value: Value as string })),
    );
    expect(problems).toEqual(['obx_BatchSize is listed twice', 'obx_PublisherEnabled must be "yes" or "no", got "maybe"']);
  });
});

describe('values captured from az and the Web API', () => {
  const options = (over: Partial<DeployOptions>): DeployOptions => ({
    environment: 'test',
    dataverseUrl: url,
    repoRoot,
    packageType: 'managed',
    upgrade: false,
    skip: ['pack', 'import', 'cleanup', 'function'],
    cleanupStart: new Date('2026-12-08T02:00:00Z'),
    ...over,
  });

  it('hostile: az printing an error instead of a principal id stops the run there; no later command gets it', async () => {
    const plan = buildDeployPlan(options({ resourceGroup: 'rg-outbox', skip: ['pack', 'import', 'cleanup', 'function', 'app-user'] }));
    const ran: string[] = [];
    const runCommand: CommandRunner = (_program, args) => {
      ran.push(args.slice(0, 3).join(' '));
      const query = args[args.indexOf('--query') + 1] ?? '';
      const stdout = query.includes('functionAppName') ? 'outbox-test-func-abc' : query.includes('functionAppPrincipalId') ? 'ERROR: The command failed with an unexpected error' : '';
      return Promise.resolve({ exitCode: 0, stdout });
    };
    let error: unknown;
    await executePlan(plan, { cwd: repoRoot, getToken: () => Promise.resolve('t'), runCommand }).catch((e: unknown) => (error = e));
    expect(isDeployError(error) && error.code).toBe('CaptureMissing');
    expect((error as Error).message).toMatch(/read-principal-id: the command printed an invalid functionAppPrincipalId: .*must be a GUID/);
    expect(ran).toEqual(['deployment group create', 'deployment group show', 'deployment group show']);
  });

  it('hostile: a role id from the Web API that is an OData injection is refused before it reaches a URL', async () => {
    const plan = buildDeployPlan(options({ appId }));
    const urls: string[] = [];
    const fetchDouble = (input: string | URL | Request): Promise<Response> => {
      const u = String(input);
      urls.push(new URL(u).pathname.split('/').at(-1) ?? '');
      const body = u.includes('WhoAmI') ? { BusinessUnitId: '11111111-1111-1111-1111-111111111111' } : { value: [{ roleid: '22222222-2222-2222-2222-222222222222) or (1 eq 1' }] };
      return Promise.resolve(new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    };
    let error: unknown;
    await executePlan(plan, { cwd: repoRoot, getToken: () => Promise.resolve('t'), fetch: fetchDouble as typeof fetch }).catch((e: unknown) => (error = e));
    expect(isDeployError(error) && error.code).toBe('CaptureMissing');
    expect((error as Error).message).toMatch(/find-publisher-role: .*invalid publisherRoleId/);
    expect(urls).toEqual(['WhoAmI', 'roles']);
  });
});
