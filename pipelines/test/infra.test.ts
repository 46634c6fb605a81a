// Structural checks of the Bicep in pipelines/infra: what is declared, how modules are wired, the settings and
// role definitions the product depends on, the alerts, and that no secret is a parameter, literal or output.
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { AppSettingNames, readAppSettings } from '@dataverse-outbox/publisher-function';
import { defaultCanaryTarget, Settings } from '@dataverse-outbox/contract';

import { literal, parseBicep, prop, stripComments, type BicepFile, type BicepValue } from './support/bicep';
import { environments, exists, readText, repoRoot, secretLiterals } from './support/repo';

const infra = 'pipelines/infra';
const files = ['main.bicep', ...readdirSync(path.join(repoRoot, infra, 'modules')).map((f) => `modules/${f}`)];
const parsed: Record<string, BicepFile> = Object.fromEntries(files.map((f) => [f, parseBicep(readText(`${infra}/${f}`))]));
const main = parsed['main.bicep'] as BicepFile;
const resourcesOf = (type: string) =>
  Object.entries(parsed).flatMap(([file, b]) => b.resources.filter((r) => r.type?.split('@')[0] === type).map((r) => ({ file, r })));
const entriesOf = (v: BicepValue | undefined) => (v?.kind === 'object' ? v.entries : {});

/** Resource types and API versions used, checked against the published Azure resource provider versions. */
const knownTypes: Record<string, string[]> = {
  'Microsoft.ServiceBus/namespaces': ['2022-10-01-preview', '2021-11-01'],
  'Microsoft.ServiceBus/namespaces/queues': ['2022-10-01-preview', '2021-11-01'],
  'Microsoft.Web/serverfarms': ['2024-04-01', '2023-12-01'],
  'Microsoft.Web/sites': ['2024-04-01', '2023-12-01'],
  'Microsoft.Storage/storageAccounts': ['2023-05-01', '2023-01-01'],
  'Microsoft.Storage/storageAccounts/blobServices': ['2023-05-01', '2023-01-01'],
  'Microsoft.Storage/storageAccounts/blobServices/containers': ['2023-05-01', '2023-01-01'],
  'Microsoft.Authorization/roleAssignments': ['2022-04-01'],
  'Microsoft.OperationalInsights/workspaces': ['2023-09-01', '2022-10-01'],
  'Microsoft.Insights/components': ['2020-02-02'],
  'Microsoft.Insights/actionGroups': ['2023-01-01'],
  'Microsoft.Insights/scheduledQueryRules': ['2023-03-15-preview', '2022-06-15'],
  'Microsoft.Insights/metricAlerts': ['2018-03-01'],
};

/** Built-in role definition ids (learn.microsoft.com/azure/role-based-access-control/built-in-roles). */
const builtInRoles: Record<string, string> = {
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39': 'Azure Service Bus Data Sender',
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0': 'Azure Service Bus Data Receiver',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
};

describe('Bicep (pipelines/infra)', () => {
  it('parses every file and uses only known resource types and API versions', () => {
    const used = Object.values(parsed).flatMap((b) => b.resources.map((r) => r.type as string));
    expect(used.length).toBeGreaterThan(10);
    for (const t of used) {
      const [type, version] = t.split('@') as [string, string];
      expect({ type, known: knownTypes[type]?.includes(version) ?? false }).toEqual({ type, known: true });
    }
  });

  it('wires modules correctly: paths exist, every required param given, no unknown param', () => {
    for (const [file, b] of Object.entries(parsed)) {
      for (const m of b.modules) {
        const target = path.posix.join(path.posix.dirname(`${infra}/${file}`), m.type as string);
        expect(exists(target)).toBe(true);
        const module = parseBicep(readText(target));
        const given = Object.keys(entriesOf(prop(m.value, 'params')));
        for (const name of given) expect({ module: m.name, name, declared: module.params.has(name) }).toEqual({ module: m.name, name, declared: true });
        for (const [name, p] of module.params) {
          if (p.value === undefined) expect({ module: m.name, name, given: given.includes(name) }).toEqual({ module: m.name, name, given: true });
        }
      }
    }
  });

  it('uses every declared parameter', () => {
    for (const [file, b] of Object.entries(parsed)) {
      for (const name of b.params.keys()) {
        const uses = b.declarations.filter((d) => d.keyword !== 'param' || d.name !== name).some((d) => new RegExp(`\\b${name}\\b`).test(d.text));
        expect({ file, name, used: uses }).toEqual({ file, name, used: true });
      }
    }
  });

  it('has no secret parameters, secret outputs, key listings or secret literals', () => {
    for (const [file, b] of Object.entries(parsed)) {
      expect({ file, findings: secretLiterals(b.code) }).toEqual({ file, findings: [] });
      expect(b.code).not.toMatch(/\blist(Keys|ConnectionStrings|Secrets)\s*\(/);
      for (const o of b.outputs.keys()) expect(o).not.toMatch(/secret|password|key/i);
      // Managed identities throughout: no parameter carries a credential.
      for (const p of b.params.keys()) expect(p).not.toMatch(/secret|password|key|token/i);
    }
  });

  it('declares the Service Bus namespace with local (SAS) auth off and queues with duplicate detection, lock duration, max delivery count and dead-lettering', () => {
    const [ns] = resourcesOf('Microsoft.ServiceBus/namespaces').filter(({ r }) => !r.existing);
    expect(literal(prop(ns?.r.value, 'properties.disableLocalAuth'))).toBe(true);
    const queues = resourcesOf('Microsoft.ServiceBus/namespaces/queues').filter(({ r }) => !r.existing);
    expect(queues.map(({ r }) => r.name).sort()).toEqual(['ackQueue', 'canaryQueue', 'queues']);
    for (const { r } of queues) {
      expect(literal(prop(r.value, 'properties.requiresDuplicateDetection'))).toBe(true);
      expect(literal(prop(r.value, 'properties.duplicateDetectionHistoryTimeWindow'))).toBe('duplicateDetectionWindow');
      expect(literal(prop(r.value, 'properties.lockDuration'))).toBe('lockDuration');
      expect(literal(prop(r.value, 'properties.maxDeliveryCount'))).toBe(r.name === 'ackQueue' ? 'ackMaxDeliveryCount' : 'maxDeliveryCount');
      expect(literal(prop(r.value, 'properties.deadLetteringOnMessageExpiration'))).toBe(true);
    }
    // Defaults that match the product contract.
    expect(literal(main.params.get('ackQueueName')?.value)).toBe(Settings.AckQueue.defaultValue);
    expect(literal(main.params.get('lockDuration')?.value)).toMatch(/^PT\d+[MS]$/);
    expect(Number(literal(main.params.get('maxDeliveryCount')?.value))).toBeGreaterThan(1);
    // Acks are abandoned while Dataverse refuses them: 10 deliveries dead-lettered good acks after ~2.5 minutes.
    expect(Number(literal(main.params.get('ackMaxDeliveryCount')?.value))).toBeGreaterThanOrEqual(100);
  });

  it('runs the publisher on Flex Consumption with a system-assigned identity and the app settings named in the spec', () => {
    const [plan] = resourcesOf('Microsoft.Web/serverfarms');
    expect(literal(prop(plan?.r.value, 'sku.tier'))).toBe('FlexConsumption');
    const [site] = resourcesOf('Microsoft.Web/sites');
    expect(literal(prop(site?.r.value, 'identity.type'))).toBe('SystemAssigned');
    expect(literal(prop(site?.r.value, 'properties.functionAppConfig.runtime.name'))).toBe('node');
    expect(literal(prop(site?.r.value, 'properties.functionAppConfig.deployment.storage.authentication.type'))).toBe('SystemAssignedIdentity');
    const appSettings = prop(site?.r.value, 'properties.siteConfig.appSettings');
    const names = appSettings?.kind === 'array' ? appSettings.items.map((i) => literal(prop(i, 'name'))) : [];
    expect(names).toEqual(expect.arrayContaining(['DATAVERSE_URL', 'SERVICEBUS_NAMESPACE', 'OUTBOX_SCOPE', 'APPLICATIONINSIGHTS_CONNECTION_STRING']));
    // The emulator/test-only settings never reach Azure; everything else is the Functions host's own.
    expect(names).not.toContain('DATAVERSE_TOKEN');
    expect(names).not.toContain('SERVICEBUS_CONNECTION_STRING');
    const specNames = ['DATAVERSE_URL', 'SERVICEBUS_NAMESPACE', 'OUTBOX_SCOPE', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'OUTBOX_ACK_QUEUE', 'OUTBOX_LEASE_DURATION_SECONDS', 'OUTBOX_STANDBY_POLL_SECONDS', 'SERVICEBUS_CONNECTION_STRING__fullyQualifiedNamespace', 'OUTBOX_CANARY_QUEUE', 'OUTBOX_CANARY_TARGET'];
    for (const n of names) expect(specNames.includes(String(n)) || String(n).startsWith('AzureWebJobsStorage__')).toBe(true);
  });

  it('assigns the correct built-in roles: Service Bus Data Sender and Data Receiver to the publisher identity', () => {
    const assignments = resourcesOf('Microsoft.Authorization/roleAssignments');
    const roleIds = assignments.map(({ file, r }) => {
      const expr = String(literal(prop(r.value, 'properties.roleDefinitionId')));
      const varName = /roleDefinitions',\s*(\w+)\)/.exec(expr)?.[1] as string;
      return literal(parsed[file]?.vars.get(varName)?.value) as string;
    });
    for (const id of roleIds) expect(Object.keys(builtInRoles)).toContain(id);
    const names = roleIds.map((id) => builtInRoles[id]);
    expect(names).toEqual(expect.arrayContaining(['Azure Service Bus Data Sender', 'Azure Service Bus Data Receiver', 'Storage Blob Data Owner']));
    for (const { r } of assignments) expect(literal(prop(r.value, 'properties.principalType'))).toBe('ServicePrincipal');
    const roles = parsed['modules/servicebus-roles.bicep'] as BicepFile;
    expect(literal(roles.vars.get('serviceBusDataSender')?.value)).toBe('69a216fc-b8fb-44d8-bc22-1f3c2cd27a39');
    expect(literal(roles.vars.get('serviceBusDataReceiver')?.value)).toBe('4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0');
  });

  it('creates Application Insights and alerts on oldest pending age, failed rows and dead letters', () => {
    expect(resourcesOf('Microsoft.Insights/components')).toHaveLength(1);
    const queries = resourcesOf('Microsoft.Insights/scheduledQueryRules').map(({ r }) => String(literal(prop(r.value, 'properties.criteria.allOf'))));
    expect(queries).toHaveLength(3);
    const alerts = parsed['modules/alerts.bicep'] as BicepFile;
    expect(alerts.code).toContain('${metricOldestPendingAge}');
    expect(alerts.code).toContain('${metricFailed}');
    const [dead] = resourcesOf('Microsoft.Insights/metricAlerts');
    expect(dead?.r.value && JSON.stringify(dead.r.value)).toContain('DeadletteredMessages');
    for (const { r } of [...resourcesOf('Microsoft.Insights/scheduledQueryRules'), ...resourcesOf('Microsoft.Insights/metricAlerts')]) {
      expect(JSON.stringify(prop(r.value, 'properties.actions'))).toContain('actionGroup.id');
    }
  });

  it('alerts on the custom metric names the publisher really exports', () => {
    const alerts = parsed['modules/alerts.bicep'] as BicepFile;
    const names = ['metricOldestPendingAge', 'metricFailed', 'metricBacklog'].map((v) => literal(alerts.vars.get(v)?.value) as string);
    const source = listFiles('publisher-function/src').map(readText).join('\n');
    for (const name of names) expect({ name, exported: source.includes(`'${name}'`) }).toEqual({ name, exported: true });
  });

  it('has a parameters file per environment that gives only declared parameters and every required one', () => {
    const required = [...main.params].filter(([, p]) => p.value === undefined).map(([n]) => n);
    for (const env of environments) {
      const file = `${infra}/parameters/${env}.parameters.json`;
      const json = JSON.parse(readText(file)) as { parameters: Record<string, { value: unknown }> };
      for (const name of Object.keys(json.parameters)) expect({ file, name, declared: main.params.has(name) }).toEqual({ file, name, declared: true });
      // dataverseUrl comes from the pipeline / deploy tool (--parameters dataverseUrl=...).
      for (const name of required.filter((n) => n !== 'dataverseUrl')) expect({ file, name, given: name in json.parameters }).toEqual({ file, name, given: true });
      expect(json.parameters.environmentName?.value).toBe(env);
      expect(secretLiterals(readText(file))).toEqual([]);
    }
  });

  it('outputs what the pipelines and the deploy tool read', () => {
    for (const name of ['functionAppName', 'functionAppPrincipalId', 'serviceBusNamespace']) expect(main.outputs.has(name)).toBe(true);
    const used = [...readText('pipelines/src/deploy/planner.ts').matchAll(/output\('[\w-]+', '(\w+)'/g)].map((m) => m[1]);
    expect(used.sort()).toEqual(['functionAppName', 'functionAppPrincipalId']);
    for (const name of used) expect(main.outputs.has(name as string)).toBe(true);
    const pipelines = readText('pipelines/templates/deploy-environment.yml') + readText('pipelines/github/deploy-environment.yml');
    for (const m of pipelines.matchAll(/\$\(output (\w+)\)/g)) expect(main.outputs.has(m[1] as string)).toBe(true);
  });
});

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(rel));
    else if (entry.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

// Item 11 of issue 17: the acknowledgements trigger named settings the Bicep never set, so the app would not start in
// Azure. Every binding setting the Functions code names must be an app setting, in its identity-based form.
describe('Functions bindings and the app settings the Bicep sets', () => {
  const functionsDir = 'publisher-function/src/functions';
  const functionsCode = listFiles(functionsDir).map((f) => stripComments(readText(f))).join('\n');
  const [site] = resourcesOf('Microsoft.Web/sites');
  const appSettings = prop(site?.r.value, 'properties.siteConfig.appSettings');
  const settings = new Map(
    (appSettings?.kind === 'array' ? appSettings.items : []).map((i) => [String(literal(prop(i, 'name'))), String(literal(prop(i, 'value')))]),
  );
  const functionApp = parsed['modules/functionapp.bicep'] as BicepFile;

  it('finds the bindings: every connection is a literal setting name (so this check sees it)', () => {
    expect([...functionsCode.matchAll(/\bconnection\s*:\s*([^,\n}]+)/g)].map((m) => (m[1] ?? '').trim()).filter((v) => !/^'[A-Za-z_][\w]*'$/.test(v))).toEqual([]);
    expect(bindingConnections(functionsCode)).toEqual(['SERVICEBUS_CONNECTION_STRING']);
    expect(bindingPercentSettings(functionsCode)).toEqual(['OUTBOX_ACK_QUEUE', 'OUTBOX_CANARY_QUEUE']);
  });

  it('sets every %SETTING% a binding names (queue names, schedules)', () => {
    for (const name of bindingPercentSettings(functionsCode)) expect({ name, set: settings.has(name) }).toEqual({ name, set: true });
  });

  it('gives every Service Bus connection the identity-based form (<connection>__fullyQualifiedNamespace), never a connection string', () => {
    for (const connection of bindingConnections(functionsCode)) {
      expect({ connection, identity: settings.get(`${connection}__fullyQualifiedNamespace`) }).toEqual({ connection, identity: 'serviceBusNamespace' });
      expect(settings.has(connection)).toBe(false);
    }
  });

  it('points the trigger at the ack queue the Bicep creates and the publisher reads (obx_AckQueue override)', () => {
    expect(settings.get('OUTBOX_ACK_QUEUE')).toBe('ackQueueName');
    expect(Settings.AckQueue.appSetting).toBe('OUTBOX_ACK_QUEUE');
    const wiring = main.modules.find((m) => m.name === 'functionApp');
    expect(literal(prop(wiring?.value, 'params.ackQueueName'))).toBe('serviceBus.outputs.ackQueueName');
  });

  it('points the canary responder at the canary queue the Bicep creates, and the scheduled canary at the same queue (issue 21)', () => {
    expect(settings.get('OUTBOX_CANARY_QUEUE')).toBe('canaryQueueName');
    expect(settings.get('OUTBOX_CANARY_TARGET')).toBe('canaryTarget');
    const wiring = main.modules.find((m) => m.name === 'functionApp');
    expect(literal(prop(wiring?.value, 'params.canaryQueueName'))).toBe('serviceBus.outputs.canaryQueueName');
    expect(literal(prop(wiring?.value, 'params.canaryTarget'))).toBe("canaryScheduled ? serviceBus.outputs.canaryQueueName : ''");
    // The deploy's verify step and `outbox canary` default to the contract's canary queue.
    expect(literal(main.params.get('canaryQueueName')?.value)).toBe(defaultCanaryTarget);
    expect(literal(parsed['modules/servicebus.bicep']?.params.get('canaryQueueName')?.value)).toBe(defaultCanaryTarget);
    expect(literal(main.params.get('canaryScheduled')?.value)).toBe(true);
  });

  it('lists the canary queue in obx_AllowedTargets of every environment, so the deploy\'s verify step (on by default) can publish its canary', () => {
    for (const env of environments) {
      const file = JSON.parse(readText(`solution/deployment-settings/${env}.json`)) as { EnvironmentVariables: { SchemaName: string; Value: string }[] };
      const allowed = JSON.parse(file.EnvironmentVariables.find((v) => v.SchemaName === Settings.AllowedTargets.schemaName)?.Value ?? '[]') as string[];
      expect({ env, canaryAllowed: allowed.includes(defaultCanaryTarget) }).toEqual({ env, canaryAllowed: true });
    }
  });

  it('sets the lease settings with the publisher\'s own defaults', () => {
    const defaults = readAppSettings({ [AppSettingNames.dataverseUrl]: 'https://contoso.crm.dynamics.com', [AppSettingNames.serviceBusNamespace]: 'contoso.servicebus.windows.net' });
    const expected: [string, string, number][] = [
      [AppSettingNames.leaseDurationSeconds, 'leaseDurationSeconds', defaults.leaseDurationSeconds],
      [AppSettingNames.standbyPollSeconds, 'standbyPollSeconds', defaults.standbyPollSeconds],
    ];
    for (const [name, param, fallback] of expected) {
      expect({ name, value: settings.get(name) }).toEqual({ name, value: `string(${param})` });
      expect({ param, default: literal(main.params.get(param)?.value) }).toEqual({ param, default: fallback });
      expect(functionApp.params.has(param)).toBe(true);
    }
  });

  it('sets every setting the publisher requires to start (readAppSettings), in Azure form', () => {
    for (const name of [AppSettingNames.dataverseUrl, AppSettingNames.serviceBusNamespace, AppSettingNames.scope]) expect(settings.has(name)).toBe(true);
    // Emulator/test-only settings never reach Azure.
    expect(settings.has(AppSettingNames.dataverseToken)).toBe(false);
    expect(settings.has(AppSettingNames.serviceBusConnectionString)).toBe(false);
  });

  it('gives the Functions identity exactly Data Sender on each target queue and the canary queue and Data Receiver on the target queues (their dead-letter subqueues), the ack queue and the canary queue, nothing at namespace scope', () => {
    const roles = parsed['modules/servicebus-roles.bicep'] as BicepFile;
    const roleName: Record<string, string> = { serviceBusDataSender: 'Sender', serviceBusDataReceiver: 'Receiver' };
    const grants = roles.resources
      .filter((r) => r.type?.startsWith('Microsoft.Authorization/roleAssignments'))
      .map((r) => {
        const role = /roleDefinitions',\s*(\w+)\)/.exec(String(literal(prop(r.value, 'properties.roleDefinitionId'))))?.[1] ?? '?';
        const scope = String(literal(prop(r.value, 'scope')));
        return `${roleName[role] ?? role} on ${scope}`;
      })
      .sort();
    expect(grants).toEqual(['Receiver on ackQueue', 'Receiver on canaryQueue', 'Receiver on targetQueues[i]', 'Sender on canaryQueue', 'Sender on targetQueues[i]']);
    for (const r of roles.resources.filter((x) => x.type?.startsWith('Microsoft.Authorization/roleAssignments'))) {
      expect(literal(prop(r.value, 'properties.principalId'))).toBe('principalId');
    }
  });
});

/** `connection: 'NAME'` of every binding, sorted, unique. */
function bindingConnections(code: string): string[] {
  return [...new Set([...code.matchAll(/\bconnection\s*:\s*'([A-Za-z_]\w*)'/g)].map((m) => m[1] as string))].sort();
}

/** `%NAME%` app setting references in binding strings (queue names, schedules), sorted, unique. */
function bindingPercentSettings(code: string): string[] {
  return [...new Set([...code.matchAll(/'[^'\n]*%([A-Za-z_]\w*)%[^'\n]*'/g)].map((m) => m[1] as string))].sort();
}
