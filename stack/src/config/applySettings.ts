// Loads the demo settings into the Dataverse emulator as environmentvariablevalue rows, the way a deployment settings
// file does in a real environment. Only missing values are created: a value changed by the user in an earlier run (say,
// obx_PublisherEnabled = no) is kept across restarts, as it would be in a real environment.
import type { DataverseClient } from '@dataverse-outbox/publisher-function';
import { odataLiteral } from '@dataverse-outbox/publisher-function';

interface DefinitionRow {
  environmentvariabledefinitionid: string;
  schemaname: string;
  environmentvariabledefinition_environmentvariablevalue?: { environmentvariablevalueid: string; value?: string | null }[];
}

export interface AppliedSetting {
  schemaName: string;
  value: string;
  change: 'created' | 'kept';
}

export async function applySettings(client: DataverseClient, settings: ReadonlyArray<{ schemaName: string; value: string }>): Promise<AppliedSetting[]> {
  const out: AppliedSetting[] = [];
  for (const s of settings) {
    const page = await client.retrieveMultiple<DefinitionRow & Record<string, unknown>>('environmentvariabledefinitions', {
      select: ['environmentvariabledefinitionid', 'schemaname'],
      filter: `schemaname eq ${odataLiteral(s.schemaName)}`,
      expand: 'environmentvariabledefinition_environmentvariablevalue($select=environmentvariablevalueid,value)',
    });
    const def = page.value[0];
    if (!def) throw new Error(`The solution has no environment variable ${s.schemaName}; is the Dataverse emulator loaded with the solution?`);
    const existing = def.environmentvariabledefinition_environmentvariablevalue?.[0];
    if (!existing) {
      await client.create('environmentvariablevalues', {
        schemaname: s.schemaName,
        value: s.value,
        'EnvironmentVariableDefinitionId@odata.bind': `/environmentvariabledefinitions(${def.environmentvariabledefinitionid})`,
      });
      out.push({ ...s, change: 'created' });
    } else out.push({ schemaName: s.schemaName, value: existing.value ?? '', change: 'kept' });
  }
  return out;
}
