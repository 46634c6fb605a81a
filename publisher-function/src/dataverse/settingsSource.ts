// Reads the solution's environment variables (definition default + current value) in one request.
import { Settings, type SettingKey } from '@dataverse-outbox/contract';
import type { OperationOptions } from '../core/ports';
import type { RawSettings } from '../core/settings';
import { odataLiteral, type DataverseClient } from '@dataverse-outbox/web-api';

interface DefinitionRecord {
  schemaname?: string;
  defaultvalue?: string | null;
  environmentvariabledefinition_environmentvariablevalue?: { value?: string | null }[];
}

export async function readSettingsFromDataverse(client: DataverseClient, options: OperationOptions = {}): Promise<RawSettings> {
  const keys = Object.keys(Settings) as SettingKey[];
  const filter = keys.map((k) => `schemaname eq ${odataLiteral(Settings[k].schemaName)}`).join(' or ');
  const page = await client.retrieveMultiple<DefinitionRecord & Record<string, unknown>>('environmentvariabledefinitions', {
    select: ['schemaname', 'defaultvalue'],
    filter,
    expand: 'environmentvariabledefinition_environmentvariablevalue($select=value)',
    abortSignal: options.abortSignal,
  });
  const raw: RawSettings = {};
  for (const def of page.value) {
    const key = keys.find((k) => Settings[k].schemaName.toLowerCase() === String(def.schemaname ?? '').toLowerCase());
    if (!key) continue;
    const value = def.environmentvariabledefinition_environmentvariablevalue?.find((v) => typeof v.value === 'string')?.value;
    if (typeof value === 'string') raw[key] = value; // the value row wins over the default
    else if (typeof def.defaultvalue === 'string') raw[key] = def.defaultvalue;
  }
  return raw;
}
