// The pac deployment settings file (`pac solution create-settings` format) carries the environment-specific values
// of the solution's environment variables. The deploy tool passes it to `pac solution import --settings-file` and
// reads the two values it needs itself (retention days, ack queue) so the cleanup job matches what was imported.
import { readFileSync } from 'node:fs';

import { MAX_PARTITION_COUNT, Settings, describeValue, normaliseEntityName, parseHealthThresholds, parseMessageFormats } from '@dataverse-outbox/contract';

import { hasControlCharacter } from './arguments';
import { DeployError } from './errors';

export interface DeploymentSettings {
  EnvironmentVariables: { SchemaName: string; Value: string }[];
  ConnectionReferences: { LogicalName: string; ConnectionId: string; ConnectorId: string }[];
}

export function readDeploymentSettings(file: string): DeploymentSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new DeployError('SettingsFileMissing', `deployment settings file not found: ${file}`, {
      hint: 'create it with `pac solution create-settings --solution-zip <zip> --settings-file <file>` or copy solution/deployment-settings/dev.json',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DeployError('InvalidSettingsFile', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  const record = parsed as Partial<DeploymentSettings> | null;
  if (!record || !Array.isArray(record.EnvironmentVariables)) {
    throw new DeployError('InvalidSettingsFile', `${file} has no "EnvironmentVariables" array (pac deployment settings format)`);
  }
  for (const entry of record.EnvironmentVariables) {
    if (!entry || typeof entry.SchemaName !== 'string' || typeof entry.Value !== 'string') {
      throw new DeployError('InvalidSettingsFile', `${file}: every EnvironmentVariables entry needs string SchemaName and Value`);
    }
  }
  // Every bad value is listed at once, before anything is imported: pac would import most of them as they are, and
  // the publisher would then refuse to start (or, for a target with a stray space, fail every row sent to it).
  const problems = settingsValueProblems(record.EnvironmentVariables);
  if (problems.length > 0) {
    throw new DeployError('InvalidSettingsFile', `${file}:\n  - ${problems.join('\n  - ')}`, { hint: 'fix the values above; see docs/solution.md "Settings" for each one' });
  }
  return { EnvironmentVariables: record.EnvironmentVariables, ConnectionReferences: record.ConnectionReferences ?? [] };
}

/** The value the environment will have after import: the settings file's value, else the solution default. */
export function effectiveSetting(settings: DeploymentSettings, key: 'RetentionDays' | 'AckQueue'): string {
  const definition = Settings[key];
  const entry = settings.EnvironmentVariables.find((e) => e.SchemaName === definition.schemaName);
  // An empty Value in a settings file means "not set here": the solution default applies.
  return entry && entry.Value !== '' ? entry.Value : definition.defaultValue;
}

const definitions = Object.values(Settings);
/** Numbers with a lower (and upper) bound the publisher enforces; the rest only need to be whole numbers. */
const NUMBER_BOUNDS: Record<string, [number, number]> = {
  [Settings.BatchSize.schemaName]: [1, 1000],
  [Settings.MaxAttempts.schemaName]: [1, 1000],
  [Settings.RetentionDays.schemaName]: [1, 36500],
  [Settings.PartitionCount.schemaName]: [1, MAX_PARTITION_COUNT],
};
/** A Service Bus queue or topic name: letters, digits, `.`, `-`, `_`, `/`; starts and ends with a letter or digit. */
const ENTITY_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,258}[A-Za-z0-9])?$/;

/** What is wrong with each entry of a deployment settings file (empty when nothing is). An empty Value means "use the default". */
export function settingsValueProblems(entries: readonly { SchemaName: string; Value: string }[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const { SchemaName: name, Value: value } of entries) {
    const definition = definitions.find((d) => d.schemaName === name);
    if (!definition) {
      const near = definitions.find((d) => d.schemaName.toLowerCase() === name.trim().toLowerCase());
      problems.push(near ? `${describeValue(name)} must be spelled exactly ${near.schemaName}` : `${describeValue(name)} is not a setting of the solution (${definitions.map((d) => d.schemaName).join(', ')})`);
      continue;
    }
    if (seen.has(name)) problems.push(`${name} is listed twice`);
    seen.add(name);
    if (value === '') continue;
    if (hasControlCharacter(value, true)) {
      problems.push(`${name} contains a control character, got ${describeValue(value)}`);
      continue;
    }
    if (name === Settings.MessageFormats.schemaName) {
      // The contract's reader, the one the publisher starts with; each key must be among the file's allowed targets
      // (the solution default, none, when the file does not set them).
      problems.push(...parseMessageFormats(value, name, allowedTargetsOf(entries)).problems);
      continue;
    }
    if (name === Settings.HealthThresholds.schemaName) {
      // The contract's reader, the one the publisher starts with: a value it would refuse is refused before import.
      problems.push(...parseHealthThresholds(value, name).problems);
      continue;
    }
    const problem = valueProblem(definition.schemaName, definition.type, value);
    if (problem) problems.push(`${name} ${problem}, got ${describeValue(value)}`);
  }
  return problems;
}

/** The allowed targets the file sets (normalised), or undefined when they are unusable (reported on their own). */
function allowedTargetsOf(entries: readonly { SchemaName: string; Value: string }[]): string[] | undefined {
  const entry = entries.find((e) => e.SchemaName === Settings.AllowedTargets.schemaName);
  const text = entry && entry.Value !== '' ? entry.Value : Settings.AllowedTargets.defaultValue;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return undefined;
    const names = parsed.map((t) => normaliseEntityName(t));
    return names.every((n): n is string => n !== undefined) ? names : undefined;
  } catch {
    return undefined;
  }
}

function valueProblem(schemaName: string, type: string, value: string): string | undefined {
  switch (type) {
    case 'Number': {
      const [min, max] = NUMBER_BOUNDS[schemaName] ?? [0, 2_147_483_647];
      const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
      return n >= min && n <= max ? undefined : `must be a whole number from ${min} to ${max}`;
    }
    case 'Boolean':
      return value === 'yes' || value === 'no' ? undefined : 'must be "yes" or "no"';
    case 'JSON': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return 'must be valid JSON';
      }
      if (schemaName === Settings.AllowedTargets.schemaName) {
        if (!Array.isArray(parsed)) return 'must be a JSON array of queue or topic names, e.g. ["orders"]';
        const bad = parsed.filter((t) => typeof t !== 'string' || !ENTITY_NAME.test(t));
        return bad.length ? `lists ${bad.length} invalid queue/topic name(s) (letters, digits, . - _ /, no spaces around): ${bad.map(describeValue).join(', ')}` : undefined;
      }
      if (schemaName === Settings.ChangeTrackingSources.schemaName && !Array.isArray(parsed)) return 'must be a JSON array';
      return undefined;
    }
    default:
      if (schemaName === Settings.AckQueue.schemaName && !ENTITY_NAME.test(value)) return 'must be a queue name (letters, digits, . - _ /, no spaces around)';
      if (schemaName === Settings.ServiceBusNamespace.schemaName && !/^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?(?:\.[a-z0-9-]+)+$/i.test(value)) return 'must be a fully qualified namespace such as contoso.servicebus.windows.net';
      return undefined;
  }
}
