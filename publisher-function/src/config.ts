// The publisher's own app settings (spec "app setting" table). Read once at start; problems stop the start with
// every problem listed.
import { OutboxError } from './core/errors';

export const AppSettingNames = {
  dataverseUrl: 'DATAVERSE_URL',
  dataverseToken: 'DATAVERSE_TOKEN',
  serviceBusNamespace: 'SERVICEBUS_NAMESPACE',
  serviceBusConnectionString: 'SERVICEBUS_CONNECTION_STRING',
  scope: 'OUTBOX_SCOPE',
  appInsightsConnectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
} as const;

export interface AppSettings {
  dataverseUrl: string;
  /** Static bearer token (emulator and tests only); otherwise DefaultAzureCredential. */
  dataverseToken?: string;
  serviceBusNamespace?: string;
  serviceBusConnectionString?: string;
  scope: string;
  appInsightsConnectionString?: string;
  /** Every variable, for OUTBOX_<SETTING> overrides of the solution's settings. */
  raw: Readonly<Record<string, string | undefined>>;
}

export function readAppSettings(env: Readonly<Record<string, string | undefined>> = process.env): AppSettings {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const dataverseUrl = get(AppSettingNames.dataverseUrl);
  if (!dataverseUrl) problems.push(`${AppSettingNames.dataverseUrl} is not set (e.g. https://contoso.crm.dynamics.com)`);
  else {
    try {
      const u = new URL(dataverseUrl);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      problems.push(`${AppSettingNames.dataverseUrl} is not a valid http(s) URL: ${JSON.stringify(dataverseUrl)}`);
    }
  }
  const cs = get(AppSettingNames.serviceBusConnectionString);
  const ns = get(AppSettingNames.serviceBusNamespace);
  if (!cs && !ns) problems.push(`set ${AppSettingNames.serviceBusConnectionString} or ${AppSettingNames.serviceBusNamespace} (e.g. contoso.servicebus.windows.net)`);
  if (cs && !/Endpoint=sb:\/\//i.test(cs)) problems.push(`${AppSettingNames.serviceBusConnectionString} has no Endpoint=sb://... part`);
  const scope = get(AppSettingNames.scope) ?? 'default';
  if (scope.length > 200) problems.push(`${AppSettingNames.scope} is longer than 200 characters`);
  if (problems.length) {
    throw new OutboxError('InvalidSettings', `Invalid app settings:\n  - ${problems.join('\n  - ')}`, { details: problems });
  }
  return {
    dataverseUrl: dataverseUrl!,
    dataverseToken: get(AppSettingNames.dataverseToken),
    serviceBusNamespace: ns,
    serviceBusConnectionString: cs,
    scope,
    appInsightsConnectionString: get(AppSettingNames.appInsightsConnectionString),
    raw: env,
  };
}
