// `npm run deploy`: guided deployment of Dataverse Outbox to one environment (see docs/deployment.md).
// This file parses options and wires the parts; planning, execution and rendering live in their own modules.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { Command, InvalidArgumentError, Option } from 'commander';

import { DeployError, isDeployError } from './errors';
import { executePlan, spawnCommand, type CommandRunner } from './executor';
import { stepGroups, type DeployPlan, type StepGroup } from './plan';
import { buildDeployPlan, type DeployOptions } from './planner';
import { renderEvent, renderPlan } from './render';
import { checkTools, describeMissing, type ToolName } from './tools';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  runCommand?: CommandRunner;
  fetch?: typeof fetch;
  now?: () => Date;
}

function parseSkip(value: string, previous: StepGroup[] = []): StepGroup[] {
  const groups = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const g of groups) {
    if (!(stepGroups as readonly string[]).includes(g)) {
      throw new InvalidArgumentError(`unknown step "${g}"; steps are ${stepGroups.join(', ')}`);
    }
  }
  return [...previous, ...(groups as StepGroup[])];
}

/** The repository root: the nearest folder above `start` whose package.json declares the pipelines workspace. */
export function findRepoRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      const json = JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: string[] };
      if (json.workspaces?.includes('pipelines')) return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new DeployError('InvalidOption', `not inside the Dataverse Outbox repository: ${start}`);
    dir = parent;
  }
}

export function createProgram(io: CliIo): Command {
  const program = new Command('deploy')
    .description(
      'Deploy Dataverse Outbox to one environment: pack, import with the deployment settings file, create the ' +
        "publisher's application user with the Outbox Publisher role, schedule the cleanup job and, with " +
        '--resource-group, deploy the Azure resources and the function app.',
    )
    .requiredOption('--environment <name>', 'environment name: picks solution/deployment-settings/<name>.json (dev, test, prod)')
    .requiredOption('--url <url>', 'Dataverse environment URL, e.g. https://contoso.crm.dynamics.com')
    .option('--app-id <guid>', "application (client) id of the publisher's identity (managed identity or app registration)")
    .option('--settings-file <path>', 'deployment settings file (default: solution/deployment-settings/<environment>.json)')
    .addOption(new Option('--package <type>', 'solution package to import').choices(['managed', 'unmanaged']).default('managed'))
    .option('--upgrade', 'import the managed solution as an upgrade (pac --stage-and-upgrade)', false)
    .option('--business-unit <guid>', "business unit of the application user (default: the signed-in admin's)")
    .option('--resource-group <name>', 'also deploy the Azure side (Bicep) and zip-deploy the function app into this resource group')
    .option('--function-app <name>', 'function app name (default: read from the Bicep deployment outputs)')
    .option('--function-package <zip>', 'function app zip to deploy (default: built with npm run package-function -w pipelines)')
    .option('--skip <steps>', `comma-separated steps to leave out: ${stepGroups.join(', ')}`, parseSkip, [])
    .option('--dry-run', 'print every command and Web API call (method, URL, body) without running anything', false)
    .option('--json', 'with --dry-run: print the plan as JSON (machine-readable, replayable)', false)
    .option('--repo-root <dir>', 'repository root (default: found from the current folder)')
    .addHelpText(
      'after',
      [
        '',
        'Authentication: pac uses your `pac auth create` profile; Web API calls use DATAVERSE_TOKEN when set (emulator and',
        'tests only), otherwise a token from `az account get-access-token --resource <url>` (sign in with `az login`).',
        '',
        'Example:',
        '  npm run deploy -- --environment test --url https://contoso-test.crm.dynamics.com --app-id <guid> --dry-run',
      ].join('\n'),
    )
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  return program;
}

interface ParsedOptions {
  environment: string;
  url: string;
  appId?: string;
  settingsFile?: string;
  package: 'managed' | 'unmanaged';
  upgrade: boolean;
  businessUnit?: string;
  resourceGroup?: string;
  functionApp?: string;
  functionPackage?: string;
  skip: StepGroup[];
  dryRun: boolean;
  json: boolean;
  repoRoot?: string;
}

/** Tools a real run of this plan needs. */
export function requiredTools(plan: DeployPlan, env: NodeJS.ProcessEnv): ToolName[] {
  const names = plan.steps.flatMap((s) => (s.kind === 'command' ? [s.program] : []));
  if (plan.steps.some((s) => s.kind === 'webapi') && !env.DATAVERSE_TOKEN) names.push('az');
  return [...new Set(names)];
}

/** Runs the CLI; resolves with the process exit code (0 ok, 1 failed step, 2 bad options or missing tools). */
export async function runDeployCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  let options: ParsedOptions;
  try {
    program.parse(argv, { from: 'user' });
    options = program.opts<ParsedOptions>();
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    // --help and --version exit 0 through commander's exitOverride.
    return code === 0 ? 0 : 2;
  }

  try {
    const repoRoot = options.repoRoot ? path.resolve(io.cwd, options.repoRoot) : findRepoRoot(io.cwd);
    const deployOptions: DeployOptions = {
      environment: options.environment,
      dataverseUrl: options.url,
      repoRoot,
      // Paths given on the command line are relative to where the command was run; the plan's own are repo-relative.
      settingsFile: options.settingsFile && path.resolve(io.cwd, options.settingsFile),
      packageType: options.package,
      upgrade: options.upgrade,
      appId: options.appId,
      businessUnitId: options.businessUnit,
      skip: options.skip,
      resourceGroup: options.resourceGroup,
      functionApp: options.functionApp,
      functionPackage: options.functionPackage && path.resolve(io.cwd, options.functionPackage),
      cleanupStart: nextRunTime(io.now?.() ?? new Date()),
    };
    const plan = buildDeployPlan(deployOptions);
    const checks = checkTools(requiredTools(plan, io.env), io.env);

    if (options.dryRun) {
      io.stdout(options.json ? `${JSON.stringify({ ...plan, tools: checks }, null, 2)}\n` : `${renderPlan(plan, checks)}\n`);
      return 0;
    }
    if (checks.some((c) => !c.found)) {
      throw new DeployError('ToolMissing', describeMissing(checks));
    }

    io.stdout(`Deploying Dataverse Outbox to "${plan.environment}" (${plan.dataverseUrl}), ${plan.steps.length} steps\n`);
    const runCommand = io.runCommand ?? spawnCommand;
    const result = await executePlan(plan, {
      cwd: repoRoot,
      runCommand,
      fetch: io.fetch,
      getToken: () => getDataverseToken(plan.dataverseUrl, io.env, runCommand, repoRoot),
      report: (event) => io.stdout(`${renderEvent(event)}\n`),
    });
    const done = result.steps.filter((s) => s.outcome === 'done').length;
    const summary = [
      `Done: ${done} steps run, ${result.steps.length - done} already in place.`,
      result.variables.systemUserId ? `  application user: ${result.variables.systemUserId} (application id ${result.variables.appId})` : '',
      result.variables.publisherRoleId ? `  role "Outbox Publisher": ${result.variables.publisherRoleId}` : '',
      result.variables.cleanupJobId ? `  cleanup job: ${result.variables.cleanupJobId}` : '',
    ].filter(Boolean);
    io.stdout(`${summary.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (isDeployError(error)) {
      io.stderr(`deploy failed (${error.code}): ${error.message}\n${error.details?.hint ? `hint: ${error.details.hint}\n` : ''}`);
      return error.code === 'ToolMissing' || error.code === 'InvalidOption' || error.code === 'SettingsFileMissing' || error.code === 'InvalidSettingsFile' ? 2 : 1;
    }
    throw error;
  }
}

/** Tonight at 02:00 UTC (or tomorrow's if that has passed): the cleanup runs off-peak. */
export function nextRunTime(now: Date): Date {
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 2, 0, 0));
  if (next.getTime() <= now.getTime()) next.setUTCDate(next.getUTCDate() + 1);
  return next;
}

async function getDataverseToken(url: string, env: NodeJS.ProcessEnv, run: CommandRunner, cwd: string): Promise<string> {
  if (env.DATAVERSE_TOKEN) return env.DATAVERSE_TOKEN;
  const result = await run('az', ['account', 'get-access-token', '--resource', url, '--query', 'accessToken', '--output', 'tsv'], { cwd, capture: true });
  const token = result.stdout.trim();
  if (result.exitCode !== 0 || !token) {
    throw new DeployError('CommandFailed', `could not get a Dataverse token from the Azure CLI for ${url}`, { hint: 'run `az login` first' });
  }
  return token;
}
