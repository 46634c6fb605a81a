// The pac deployment settings file (`pac solution create-settings` format) carries the environment-specific values
// of the solution's environment variables. The deploy tool passes it to `pac solution import --settings-file` and
// reads the two values it needs itself (retention days, ack queue) so the cleanup job matches what was imported.
import { readFileSync } from 'node:fs';

import { Settings } from '@dataverse-outbox/solution';

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
  return { EnvironmentVariables: record.EnvironmentVariables, ConnectionReferences: record.ConnectionReferences ?? [] };
}

/** The value the environment will have after import: the settings file's value, else the solution default. */
export function effectiveSetting(settings: DeploymentSettings, key: 'RetentionDays' | 'AckQueue'): string {
  const definition = Settings[key];
  const entry = settings.EnvironmentVariables.find((e) => e.SchemaName === definition.schemaName);
  // An empty Value in a settings file means "not set here": the solution default applies.
  return entry && entry.Value !== '' ? entry.Value : definition.defaultValue;
}
