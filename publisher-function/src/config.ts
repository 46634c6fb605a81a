// The publisher's own app settings (spec "app setting" table). Read once at start; problems stop the start with
// every problem listed.
import { MAX_PARTITION_COUNT, describeValue, isGuid } from '@dataverse-outbox/contract';
import { OutboxError } from './core/errors';
import { scopeNameProblem } from './core/lease';
import { httpUrlProblem } from './core/redact';

export const AppSettingNames = {
  dataverseUrl: 'DATAVERSE_URL',
  dataverseToken: 'DATAVERSE_TOKEN',
  serviceBusNamespace: 'SERVICEBUS_NAMESPACE',
  serviceBusConnectionString: 'SERVICEBUS_CONNECTION_STRING',
  scope: 'OUTBOX_SCOPE',
  leaseDurationSeconds: 'OUTBOX_LEASE_DURATION_SECONDS',
  standbyPollSeconds: 'OUTBOX_STANDBY_POLL_SECONDS',
  appInsightsConnectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
  maxPartitionsPerInstance: 'OUTBOX_MAX_PARTITIONS_PER_INSTANCE',
  partitionClientIds: 'DATAVERSE_PARTITION_CLIENT_IDS',
  partitionTokens: 'DATAVERSE_PARTITION_TOKENS',
} as const;

export interface AppSettings {
  dataverseUrl: string;
  /** Static bearer token (emulator and tests only); otherwise DefaultAzureCredential. */
  dataverseToken?: string;
  serviceBusNamespace?: string;
  serviceBusConnectionString?: string;
  scope: string;
  /** How long a taken lease lasts (renewed at half of it). After a crash, a standby takes over when it ends. */
  leaseDurationSeconds: number;
  /** How often a standby (an instance without the lease) looks whether the lease is free. */
  standbyPollSeconds: number;
  appInsightsConnectionString?: string;
  /** Most partitions one instance publishes at once; undefined = no limit (balanced across live instances). */
  maxPartitionsPerInstance?: number;
  /**
   * Client ids of user-assigned managed identities, one application user each: partition i publishes as entry
   * i mod n, so each has its own service protection budget. Empty: every partition uses the instance's identity.
   */
  partitionClientIds: readonly string[];
  /** Static bearer tokens per partition (emulator and tests only), used like partitionClientIds. */
  partitionTokens: readonly string[];
  /** Every variable, for OUTBOX_<SETTING> overrides of the solution's settings. */
  raw: Readonly<Record<string, string | undefined>>;
}

/** Bounds and defaults of the numeric app settings, in seconds (whole numbers). */
export const LeaseSettingBounds = {
  leaseDurationSeconds: { default: 60, min: 5, max: 3600 },
  standbyPollSeconds: { default: 3, min: 1, max: 300 },
} as const;

/** A header value: anything else would fail every request with an error that repeats the token. No commas (lists). */
const BEARER_TOKEN = /^[\x21-\x2b\x2d-\x7e]{1,16384}$/;

export function readAppSettings(env: Readonly<Record<string, string | undefined>> = process.env): AppSettings {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const dataverseUrl = get(AppSettingNames.dataverseUrl);
  if (!dataverseUrl) problems.push(`${AppSettingNames.dataverseUrl} is not set (e.g. https://contoso.crm.dynamics.com)`);
  else {
    // Never echo the value: an unparsable URL may hold a password.
    const why = httpUrlProblem(dataverseUrl);
    if (why) problems.push(`${AppSettingNames.dataverseUrl} is not a valid Dataverse URL: ${why} (e.g. https://contoso.crm.dynamics.com)`);
  }
  const token = get(AppSettingNames.dataverseToken);
  // A header value: anything else would fail every request with an error that repeats the token.
  if (token !== undefined && !/^[\x21-\x7e]{1,16384}$/.test(token)) problems.push(`${AppSettingNames.dataverseToken} must be a bearer token: printable ASCII without spaces, at most 16,384 characters (the value is not shown)`);
  const cs = get(AppSettingNames.serviceBusConnectionString);
  const ns = get(AppSettingNames.serviceBusNamespace);
  if (!cs && !ns) problems.push(`set ${AppSettingNames.serviceBusConnectionString} or ${AppSettingNames.serviceBusNamespace} (e.g. contoso.servicebus.windows.net)`);
  if (cs && !/Endpoint=sb:\/\//i.test(cs)) problems.push(`${AppSettingNames.serviceBusConnectionString} has no Endpoint=sb://... part`);
  const scope = get(AppSettingNames.scope) ?? 'default';
  const scopeProblem = scopeNameProblem(scope);
  if (scopeProblem) problems.push(`${AppSettingNames.scope} ${scopeProblem}`);
  const seconds = (key: keyof typeof LeaseSettingBounds): number => {
    const name = AppSettingNames[key];
    const { default: fallback, min, max } = LeaseSettingBounds[key];
    const text = get(name);
    if (text === undefined) return fallback;
    const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
    if (!(n >= min && n <= max)) {
      problems.push(`${name} must be a whole number of seconds from ${min} to ${max}, got ${describeValue(text)}`);
      return fallback;
    }
    return n;
  };
  const leaseDurationSeconds = seconds('leaseDurationSeconds');
  const standbyPollSeconds = seconds('standbyPollSeconds');
  if (standbyPollSeconds > leaseDurationSeconds) {
    problems.push(`${AppSettingNames.standbyPollSeconds} (${standbyPollSeconds}) must not exceed ${AppSettingNames.leaseDurationSeconds} (${leaseDurationSeconds}): a standby would look for a free lease less often than a lease lasts`);
  }
  const maxText = get(AppSettingNames.maxPartitionsPerInstance);
  let maxPartitionsPerInstance: number | undefined;
  if (maxText !== undefined) {
    maxPartitionsPerInstance = /^\d{1,2}$/.test(maxText) ? Number(maxText) : NaN;
    if (!(maxPartitionsPerInstance >= 1 && maxPartitionsPerInstance <= MAX_PARTITION_COUNT)) {
      problems.push(`${AppSettingNames.maxPartitionsPerInstance} must be a whole number from 1 to ${MAX_PARTITION_COUNT}, got ${describeValue(maxText)}`);
    }
  }
  const list = (name: string): string[] => (get(name) ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
  const partitionClientIds = list(AppSettingNames.partitionClientIds);
  const badId = partitionClientIds.findIndex((id) => !isGuid(id));
  if (badId >= 0) problems.push(`${AppSettingNames.partitionClientIds} entry ${badId + 1} is not a client id (a GUID): ${describeValue(partitionClientIds[badId])}`);
  const partitionTokens = list(AppSettingNames.partitionTokens);
  const badToken = partitionTokens.findIndex((t) => !BEARER_TOKEN.test(t));
  if (badToken >= 0) problems.push(`${AppSettingNames.partitionTokens} entry ${badToken + 1} must be a bearer token: printable ASCII without spaces or commas (the value is not shown)`);
  if (partitionClientIds.length > 0 && partitionTokens.length > 0) problems.push(`set ${AppSettingNames.partitionClientIds} or ${AppSettingNames.partitionTokens}, not both`);
  if (problems.length) {
    throw new OutboxError('InvalidSettings', `Invalid app settings:\n  - ${problems.join('\n  - ')}`, { details: problems });
  }
  return {
    dataverseUrl: dataverseUrl!,
    dataverseToken: token,
    serviceBusNamespace: ns,
    serviceBusConnectionString: cs,
    scope,
    leaseDurationSeconds,
    standbyPollSeconds,
    appInsightsConnectionString: get(AppSettingNames.appInsightsConnectionString),
    maxPartitionsPerInstance,
    partitionClientIds,
    partitionTokens,
    raw: env,
  };
}
