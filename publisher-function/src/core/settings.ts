// Outbox settings: the solution's environment variables (definition default, then value), overridden by OUTBOX_* app
// settings. Parsing collects every problem so the operator sees them all at once, then refuses to start.
import {
  MAX_PARTITION_COUNT,
  entityNameProblem,
  normaliseEntityName,
  parseHealthThresholds,
  parseMessageFormats,
  Settings,
  type HealthThresholds,
  type MessageFormatName,
  type SettingKey,
} from '@dataverse-outbox/contract';
import { OutboxError } from './errors';

export interface OutboxSettings {
  serviceBusNamespace: string;
  allowedTargets: readonly string[];
  batchSize: number;
  maxAttempts: number;
  retentionDays: number;
  /** Empty: acknowledgements are off and Published is final. */
  ackQueue: string;
  publisherEnabled: boolean;
  healthThresholds: HealthThresholds;
  /** Publisher partitions of the scope (obx_PartitionCount): each has its own lease and slot range; 1 = one publisher. */
  partitionCount: number;
  /** obx_MessageFormats: normalised allowed target -> message format; a target not listed gets the default format. */
  messageFormats: ReadonlyMap<string, MessageFormatName>;
}

/** Raw text per setting, as Dataverse stores environment variable values. */
export type RawSettings = Partial<Record<SettingKey, string>>;

export interface ResolvedSetting {
  key: SettingKey;
  value: string;
  source: 'default' | 'dataverse' | 'app setting';
}

const numberRanges: Partial<Record<SettingKey, [number, number]>> = {
  BatchSize: [1, 1000], // Dataverse bulk messages and $batch stop at 1,000
  MaxAttempts: [1, 1000],
  RetentionDays: [1, 3650],
  PartitionCount: [1, MAX_PARTITION_COUNT],
};

/** Longest allowed-targets list (each target gets a sender and a dead-letter receiver). */
export const MAX_ALLOWED_TARGETS = 1000;

/** Merges the three sources, later wins: solution default, Dataverse value, OUTBOX_* app setting. */
export function resolveSettings(fromDataverse: RawSettings, appSettings: Readonly<Record<string, string | undefined>>): ResolvedSetting[] {
  return (Object.keys(Settings) as SettingKey[]).map((key) => {
    const def = Settings[key];
    const override = appSettings[def.appSetting];
    if (override !== undefined && override !== '') return { key, value: override, source: 'app setting' };
    const dv = fromDataverse[key];
    if (dv !== undefined) return { key, value: dv, source: 'dataverse' };
    return { key, value: def.defaultValue, source: 'default' };
  });
}

function where(r: ResolvedSetting): string {
  const def = Settings[r.key];
  return r.source === 'app setting' ? `app setting ${def.appSetting}` : `${def.schemaName} (${r.source})`;
}

function parseBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (['yes', 'true', '1'].includes(t)) return true;
  if (['no', 'false', '0'].includes(t)) return false;
  return undefined;
}

/** Parses and validates; throws OutboxError('InvalidSettings') listing every problem. */
export function parseSettings(fromDataverse: RawSettings, appSettings: Readonly<Record<string, string | undefined>> = {}): OutboxSettings {
  const resolved = resolveSettings(fromDataverse, appSettings);
  const problems: string[] = [];
  const get = (key: SettingKey): ResolvedSetting => resolved.find((r) => r.key === key)!;

  const num = (key: SettingKey): number => {
    const r = get(key);
    const [min, max] = numberRanges[key] ?? [0, Number.MAX_SAFE_INTEGER];
    const n = Number(r.value.trim());
    // Digits only (a Dataverse Number value may read "100.0"): Number() would also take "0x10", "1e2" or "Infinity".
    if (!/^\d{1,16}(?:\.0+)?$/.test(r.value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      problems.push(`${where(r)} must be a whole number from ${min} to ${max}, got ${JSON.stringify(r.value)}`);
      return Number(Settings[key].defaultValue);
    }
    return n;
  };
  const json = (key: SettingKey): unknown => {
    const r = get(key);
    try {
      return JSON.parse(r.value);
    } catch (e) {
      problems.push(`${where(r)} is not valid JSON (${(e as Error).message}): ${JSON.stringify(r.value.slice(0, 200))}`);
      return JSON.parse(Settings[key].defaultValue);
    }
  };

  const targetsRaw = json('AllowedTargets');
  let allowedTargets: string[] = [];
  if (Array.isArray(targetsRaw) && targetsRaw.length > MAX_ALLOWED_TARGETS) {
    // Each target costs a sender and a dead-letter receiver: a pasted list this long is a mistake, not a configuration.
    problems.push(`${where(get('AllowedTargets'))} lists ${targetsRaw.length} targets; at most ${MAX_ALLOWED_TARGETS} are allowed`);
  } else if (!Array.isArray(targetsRaw)) {
    problems.push(`${where(get('AllowedTargets'))} must be a JSON array of queue or topic names (1-260 characters), e.g. ["orders","invoices"]`);
  } else {
    // Each name normalised once (trimmed, lower-cased: Service Bus names are case-insensitive), as rows' targets are.
    const bad = targetsRaw.map((t: unknown, i) => [i, entityNameProblem(t)] as const).filter(([, p]) => p !== undefined);
    for (const [i, p] of bad.slice(0, 5)) problems.push(`${where(get('AllowedTargets'))} entry ${i + 1}: ${p}`);
    if (bad.length > 5) problems.push(`${where(get('AllowedTargets'))}: ${bad.length - 5} more unusable entries`);
    if (bad.length === 0) allowedTargets = [...new Set(targetsRaw.map((t: unknown) => normaliseEntityName(t)!))];
  }

  // The contract's reader (the deploy check uses it too); each key must be an allowed target. Only checked against a
  // usable allow-list: with a broken one every key would be reported as well, burying the real problem.
  const formatsR = get('MessageFormats');
  const { formats: messageFormats, problems: formatProblems } = parseMessageFormats(formatsR.value, where(formatsR), problems.length === 0 ? allowedTargets : undefined);
  problems.push(...formatProblems);

  // The contract's reader: unknown fields and values below 0 are refused by name; blank means the solution default.
  const thresholdsR = get('HealthThresholds');
  const { thresholds: healthThresholds, problems: thresholdProblems } = parseHealthThresholds(thresholdsR.value, where(thresholdsR));
  problems.push(...thresholdProblems);

  const enabledR = get('PublisherEnabled');
  let publisherEnabled = parseBoolean(enabledR.value);
  if (publisherEnabled === undefined) {
    problems.push(`${where(enabledR)} must be yes/no (or true/false), got ${JSON.stringify(enabledR.value)}`);
    publisherEnabled = true;
  }

  const ackQueue = get('AckQueue').value.trim();
  if (ackQueue.length > 260) problems.push(`${where(get('AckQueue'))} is longer than 260 characters`);

  const settings: OutboxSettings = {
    serviceBusNamespace: get('ServiceBusNamespace').value.trim(),
    allowedTargets,
    batchSize: num('BatchSize'),
    maxAttempts: num('MaxAttempts'),
    retentionDays: num('RetentionDays'),
    ackQueue,
    publisherEnabled,
    healthThresholds,
    partitionCount: num('PartitionCount'),
    messageFormats,
  };
  if (problems.length > 0) {
    throw new OutboxError('InvalidSettings', `Invalid outbox settings:\n  - ${problems.join('\n  - ')}`, { details: problems });
  }
  return settings;
}
