// Builds the deployment plan: which commands and Web API calls run, in which order, with which values.
// Pure (reads a few repository files, never the network), so `--dry-run` shows exactly what a real run would do.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { defaultCanaryTarget, OutboxMessage, SecurityRoles, SolutionNames } from '@dataverse-outbox/contract';

import {
  normaliseEnvironmentUrl,
  requireEnvironmentName,
  requireFunctionAppName,
  requireGuidOption,
  requirePathOption,
  requireResourceGroupName,
} from './arguments';
import { cleanupJobName, cleanupJobRequest } from './cleanupJob';
import { DeployError } from './errors';
import type { CommandStep, DeployPlan, DeployStep, StepGroup, WebApiStep } from './plan';
import { effectiveSetting, readDeploymentSettings } from './settingsFile';

export const webApiVersion = 'v9.2';

/** Repository paths the tool relies on (checked by the pipelines' structural tests too). */
export const repoPaths = {
  solutionSource: 'solution/src',
  solutionOut: 'solution/out',
  deploymentSettings: (environment: string) => `solution/deployment-settings/${environment}.json`,
  bicepMain: 'pipelines/infra/main.bicep',
  bicepParameters: (environment: string) => `pipelines/infra/parameters/${environment}.parameters.json`,
  functionPackage: 'pipelines/out/publisher-function.zip',
} as const;

/** npm scripts the tool runs in other workspaces. */
export const npmScripts = {
  packSolution: { workspace: 'solution', script: 'build' },
  packageFunction: { workspace: 'pipelines', script: 'package-function' },
  operatorCli: { workspace: 'publisher-function', script: 'outbox' },
} as const;

/** How long the verify step waits for the canary to come back (a cold function app takes a while to start). */
export const defaultCanaryTimeoutSeconds = 300;

export interface DeployOptions {
  environment: string;
  dataverseUrl: string;
  repoRoot: string;
  settingsFile?: string;
  packageType: 'managed' | 'unmanaged';
  /** Import a managed solution as an upgrade (removes components deleted since the installed version). */
  upgrade: boolean;
  /** Application (client) id of the identity the publisher runs as. */
  appId?: string;
  businessUnitId?: string;
  skip: readonly StepGroup[];
  resourceGroup?: string;
  functionApp?: string;
  functionPackage?: string;
  /** First run of the cleanup job. */
  cleanupStart: Date;
  /** The verify step's canary queue (default: the contract's `outbox-canary`) and wait. */
  canaryTarget?: string;
  canaryTimeoutSeconds?: number;
}

/** Re-exported for callers that imported it from here (the checks live in arguments.ts). */
export { normaliseEnvironmentUrl };

/** Version in the unpacked solution's Solution.xml, which names the packed zips. */
export function solutionVersion(repoRoot: string): string {
  const candidates = [
    path.join(repoRoot, repoPaths.solutionSource, 'Other', 'Solution.xml'),
    ...findFiles(path.join(repoRoot, repoPaths.solutionSource), /^solution\.xml$/i),
  ];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const match = /<Version>\s*([0-9.]+)\s*<\/Version>/.exec(readFileSync(file, 'utf8'));
    if (match) return match[1] as string;
  }
  throw new DeployError('InvalidOption', `no <Version> found in ${repoPaths.solutionSource}/**/Solution.xml`);
}

function findFiles(dir: string, name: RegExp, depth = 3): string[] {
  if (depth < 0 || !existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findFiles(full, name, depth - 1));
    else if (name.test(entry.name)) found.push(full);
  }
  return found;
}

export function solutionZipPath(version: string, packageType: 'managed' | 'unmanaged'): string {
  const suffix = packageType === 'managed' ? '_managed' : '';
  return `${repoPaths.solutionOut}/${SolutionNames.uniqueName}_${version}${suffix}.zip`;
}

export function buildDeployPlan(options: DeployOptions): DeployPlan {
  // Every value that reaches a command line, a file path or a URL is checked here, before anything runs.
  requireEnvironmentName(options.environment);
  const dataverseUrl = normaliseEnvironmentUrl(options.dataverseUrl);
  const webApiBase = `${dataverseUrl}/api/data/${webApiVersion}/`;
  const skip = new Set(options.skip);
  const variables: Record<string, string> = { apiBase: webApiBase };
  if (options.appId !== undefined) variables.appId = requireGuidOption('--app-id', options.appId);
  if (options.businessUnitId !== undefined) variables.businessUnitId = requireGuidOption('--business-unit', options.businessUnitId);
  if (options.functionApp !== undefined) variables.functionAppName = requireFunctionAppName(options.functionApp);
  if (options.resourceGroup !== undefined) requireResourceGroupName(options.resourceGroup);
  if (options.settingsFile !== undefined) requirePathOption('--settings-file', options.settingsFile, '.json');
  if (options.functionPackage !== undefined) requirePathOption('--function-package', options.functionPackage, '.zip');

  const settingsFile = options.settingsFile ?? repoPaths.deploymentSettings(options.environment);
  const settings = readDeploymentSettings(path.resolve(options.repoRoot, settingsFile));
  const steps: DeployStep[] = [];
  const command = (step: Omit<CommandStep, 'kind'>): void => {
    if (!skip.has(step.group)) steps.push({ kind: 'command', ...step });
  };
  const webApi = (step: Omit<WebApiStep, 'kind' | 'url'>): void => {
    if (!skip.has(step.group)) steps.push({ kind: 'webapi', url: webApiBase + step.path, ...step });
  };
  const azure = options.resourceGroup !== undefined;
  const deploymentName = `dataverse-outbox-${options.environment}`;

  // 1. Pack: the solution build runs the web resource and PCF production builds it packs.
  command({
    id: 'pack-solution',
    group: 'pack',
    title: 'Build and pack the solution (managed and unmanaged zips)',
    program: 'npm',
    args: ['run', npmScripts.packSolution.script, '-w', npmScripts.packSolution.workspace],
  });

  // 2. Azure resources first, so the publisher's identity exists before it becomes a Dataverse application user.
  if (azure) {
    const rg = options.resourceGroup as string;
    command({
      id: 'deploy-infra',
      group: 'infra',
      title: 'Deploy the Azure resources (Bicep: Service Bus, function app, Application Insights, alerts)',
      program: 'az',
      args: [
        'deployment', 'group', 'create',
        '--resource-group', rg,
        '--name', deploymentName,
        '--template-file', repoPaths.bicepMain,
        '--parameters', `@${repoPaths.bicepParameters(options.environment)}`,
        '--parameters', `dataverseUrl=${dataverseUrl}`,
        '--output', 'none',
      ],
    });
    const output = (id: string, name: string, title: string): void =>
      command({
        id,
        group: 'infra',
        title,
        program: 'az',
        args: [
          'deployment', 'group', 'show',
          '--resource-group', rg,
          '--name', deploymentName,
          '--query', `properties.outputs.${name}.value`,
          '--output', 'tsv',
        ],
        capture: [{ var: name, from: 'stdout', required: true, format: name === 'functionAppName' ? 'functionAppName' : 'guid' }],
        skipIfSet: [name],
      });
    output('read-function-app-name', 'functionAppName', 'Read the function app name from the deployment');
    output('read-principal-id', 'functionAppPrincipalId', "Read the function app's managed identity (principal id)");
    command({
      id: 'read-app-id',
      group: 'infra',
      title: "Read the managed identity's application (client) id",
      program: 'az',
      args: ['ad', 'sp', 'show', '--id', '{{functionAppPrincipalId}}', '--query', 'appId', '--output', 'tsv'],
      capture: [{ var: 'appId', from: 'stdout', required: true, format: 'guid' }],
      skipIfSet: ['appId'],
    });
  }

  // 3. Import with the environment's deployment settings (environment variable values).
  if (!skip.has('import')) {
    const version = solutionVersion(options.repoRoot);
    const args = [
      'solution', 'import',
      '--environment', dataverseUrl,
      '--path', solutionZipPath(version, options.packageType),
      '--settings-file', settingsFile,
      '--async',
      '--max-async-wait-time', '60',
      '--activate-plugins',
    ];
    if (options.upgrade) {
      if (options.packageType !== 'managed') throw new DeployError('InvalidOption', '--upgrade applies to managed solutions only');
      args.push('--stage-and-upgrade');
    }
    if (options.packageType === 'unmanaged') args.push('--publish-changes');
    command({ id: 'import-solution', group: 'import', title: `Import the ${options.packageType} solution ${version}`, program: 'pac', args });
  }

  // 4. Application user for the publisher, with the Outbox Publisher role (find-or-create, safe to re-run).
  if (!skip.has('app-user')) {
    if (variables.appId === undefined && (!azure || skip.has('infra'))) {
      throw new DeployError('InvalidOption', '--app-id is required to create the application user (or pass --skip app-user)', {
        hint: 'the application (client) id of the managed identity or app registration the publisher runs as',
      });
    }
    webApi({
      id: 'who-am-i',
      group: 'app-user',
      title: "Find the signed-in admin's business unit",
      method: 'GET',
      path: 'WhoAmI',
      capture: [{ var: 'businessUnitId', from: 'json', path: 'BusinessUnitId', required: true, format: 'guid' }],
      skipIfSet: ['businessUnitId'],
    });
    webApi({
      id: 'find-publisher-role',
      group: 'app-user',
      title: `Find the "${SecurityRoles.Publisher}" security role of that business unit`,
      method: 'GET',
      path: `roles?$select=roleid,name&$filter=name eq '${SecurityRoles.Publisher}' and _businessunitid_value eq {{businessUnitId}}`,
      capture: [{ var: 'publisherRoleId', from: 'json', path: 'value.0.roleid', required: true, format: 'guid' }],
    });
    webApi({
      id: 'find-app-user',
      group: 'app-user',
      title: 'Look for an existing application user',
      method: 'GET',
      path: 'systemusers?$select=systemuserid,applicationid&$filter=applicationid eq {{appId}}',
      capture: [{ var: 'systemUserId', from: 'json', path: 'value.0.systemuserid', required: false, format: 'guid' }],
    });
    webApi({
      id: 'create-app-user',
      group: 'app-user',
      title: 'Create the application user',
      method: 'POST',
      path: 'systemusers',
      body: { applicationid: '{{appId}}', 'businessunitid@odata.bind': '/businessunits({{businessUnitId}})' },
      capture: [{ var: 'systemUserId', from: 'entityId', required: true, format: 'guid' }],
      skipIfSet: ['systemUserId'],
    });
    webApi({
      id: 'find-role-assignment',
      group: 'app-user',
      title: 'Check whether the role is already assigned',
      method: 'GET',
      path: 'systemusers({{systemUserId}})/systemuserroles_association?$select=roleid&$filter=roleid eq {{publisherRoleId}}',
      capture: [{ var: 'assignedRoleId', from: 'json', path: 'value.0.roleid', required: false, format: 'guid' }],
    });
    webApi({
      id: 'assign-publisher-role',
      group: 'app-user',
      title: `Assign "${SecurityRoles.Publisher}" to the application user`,
      method: 'POST',
      path: 'systemusers({{systemUserId}})/systemuserroles_association/$ref',
      body: { '@odata.id': '{{apiBase}}roles({{publisherRoleId}})' },
      skipIfSet: ['assignedRoleId'],
    });
    // The role's Write reaches the delivery-state columns only through the column security profile of the same
    // name (docs/solution.md): without it the publisher would read obx_status as empty and could not mark rows.
    webApi({
      id: 'find-publisher-profile',
      group: 'app-user',
      title: `Find the "${SecurityRoles.Publisher}" column security profile`,
      method: 'GET',
      path: `fieldsecurityprofiles?$select=fieldsecurityprofileid,name&$filter=name eq '${SecurityRoles.Publisher}'`,
      capture: [{ var: 'publisherProfileId', from: 'json', path: 'value.0.fieldsecurityprofileid', required: true, format: 'guid' }],
    });
    webApi({
      id: 'find-profile-membership',
      group: 'app-user',
      title: 'Check whether the application user is already in the profile',
      method: 'GET',
      path: 'systemusers({{systemUserId}})/systemuserprofiles_association?$select=fieldsecurityprofileid&$filter=fieldsecurityprofileid eq {{publisherProfileId}}',
      capture: [{ var: 'assignedProfileId', from: 'json', path: 'value.0.fieldsecurityprofileid', required: false, format: 'guid' }],
    });
    webApi({
      id: 'add-to-publisher-profile',
      group: 'app-user',
      title: `Add the application user to the "${SecurityRoles.Publisher}" column security profile`,
      method: 'POST',
      path: 'systemusers({{systemUserId}})/systemuserprofiles_association/$ref',
      body: { '@odata.id': '{{apiBase}}fieldsecurityprofiles({{publisherProfileId}})' },
      skipIfSet: ['assignedProfileId'],
    });
  }

  // 5. Retention: one recurring BulkDelete job (found by name, so re-running never schedules a second one).
  if (!skip.has('cleanup')) {
    const retention = effectiveSetting(settings, 'RetentionDays');
    const retentionDays = Number(retention);
    if (!Number.isInteger(retentionDays) || retentionDays < 1) {
      throw new DeployError('InvalidSettingsFile', `obx_RetentionDays must be a whole number of days >= 1, got "${retention}"`);
    }
    webApi({
      id: 'find-cleanup-job',
      group: 'cleanup',
      title: 'Look for an existing cleanup job',
      method: 'GET',
      path: `asyncoperations?$select=asyncoperationid,name&$filter=name eq '${cleanupJobName}' and operationtype eq 13 and statecode ne 3`,
      capture: [{ var: 'cleanupJobId', from: 'json', path: 'value.0.asyncoperationid', required: false, format: 'guid' }],
    });
    webApi({
      id: 'schedule-cleanup',
      group: 'cleanup',
      title: `Schedule the daily cleanup of finished ${OutboxMessage.logicalName} rows older than ${retentionDays} days`,
      method: 'POST',
      path: 'BulkDelete',
      body: cleanupJobRequest({
        retentionDays,
        acksEnabled: effectiveSetting(settings, 'AckQueue') !== '',
        startDateTime: options.cleanupStart.toISOString(),
      }),
      capture: [{ var: 'cleanupJobId', from: 'json', path: 'JobId', required: true, format: 'guid' }],
      skipIfSet: ['cleanupJobId'],
    });
  }

  // 6. Publisher code last: its identity can now reach Dataverse, so it starts healthy.
  if (azure) {
    const packagePath = options.functionPackage ?? repoPaths.functionPackage;
    if (options.functionPackage === undefined) {
      command({
        id: 'package-function',
        group: 'function',
        title: 'Build the publisher function app package',
        program: 'npm',
        args: ['run', npmScripts.packageFunction.script, '-w', npmScripts.packageFunction.workspace],
      });
    }
    command({
      id: 'deploy-function',
      group: 'function',
      title: 'Zip-deploy the publisher function app',
      program: 'az',
      args: [
        'functionapp', 'deployment', 'source', 'config-zip',
        '--resource-group', options.resourceGroup as string,
        '--name', '{{functionAppName}}',
        '--src', packagePath,
      ],
    });
  }

  // 7. Verify, last: one canary goes the whole way (written, published, acknowledged by the responder, Acked); the
  // deployment fails naming the leg that stalled. `--skip verify` leaves it out (e.g. no publisher runs yet).
  const canaryTimeout = options.canaryTimeoutSeconds ?? defaultCanaryTimeoutSeconds;
  if (!Number.isInteger(canaryTimeout) || canaryTimeout < 1 || canaryTimeout > 3600) throw new DeployError('InvalidOption', `the canary timeout must be 1-3600 seconds, got ${canaryTimeout}`);
  command({
    id: 'verify-canary',
    group: 'verify',
    title: `Send a canary to "${options.canaryTarget ?? defaultCanaryTarget}" and wait up to ${canaryTimeout} s until it is Acked (fails naming the stalled leg)`,
    program: 'npm',
    args: [
      'run', npmScripts.operatorCli.script, '-w', npmScripts.operatorCli.workspace, '--',
      '--url', dataverseUrl,
      'canary',
      '--target', options.canaryTarget ?? defaultCanaryTarget,
      '--timeout', String(canaryTimeout),
    ],
  });

  return { formatVersion: 1, environment: options.environment, dataverseUrl, webApiBase, variables, steps };
}
