// First-start content: the root business unit, the solution's security roles plus System Administrator, and the
// solution's environment variable definitions (values are not part of a solution: an admin or a deployment settings
// file adds them as environmentvariablevalue rows). Idempotent: existing rows are left alone.
import type { SolutionModel } from '@dataverse-outbox/solution';
import type { Engine } from '../core/engine';
import { ENV_VAR_TYPES, ROOT_BUSINESS_UNIT_ID, SYSTEM_ADMINISTRATOR_ROLE_ID } from '../metadata/systemTables';
import { createHash } from 'node:crypto';

function stableId(kind: string, name: string): string {
  const h = createHash('sha1').update(`${kind}:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function seed(engine: Engine, solution: SolutionModel): void {
  const { store, schema } = engine;
  store.transaction(() => {
    const bu = schema.entity('businessunit');
    if (!store.get(bu, ROOT_BUSINESS_UNIT_ID)) store.insert(bu, { businessunitid: ROOT_BUSINESS_UNIT_ID, name: 'emulator' }, null);
    const role = schema.entity('role');
    const roles = [{ id: SYSTEM_ADMINISTRATOR_ROLE_ID, name: 'System Administrator' }, ...solution.roles.map((r) => ({ id: r.id, name: r.name }))];
    for (const r of roles) {
      const id = /^[0-9a-fA-F-]{36}$/.test(r.id) ? r.id.toLowerCase() : stableId('role', r.name);
      if (!store.get(role, id)) store.insert(role, { roleid: id, name: r.name, businessunitid: ROOT_BUSINESS_UNIT_ID }, null);
    }
    // The solution's column security profiles (membership is not part of a solution: a deploy script adds users).
    const profile = schema.entity('fieldsecurityprofile');
    for (const p of solution.fieldSecurityProfiles) {
      if (!store.get(profile, p.id)) store.insert(profile, { fieldsecurityprofileid: p.id, name: p.name }, null);
    }
    const def = schema.entity('environmentvariabledefinition');
    for (const v of solution.environmentVariables) {
      if (store.findIdByKey(def, { schemaname: v.schemaName })) continue;
      store.insert(
        def,
        {
          environmentvariabledefinitionid: stableId('environmentvariabledefinition', v.schemaName),
          schemaname: v.schemaName,
          displayname: v.displayName,
          description: v.description,
          defaultvalue: v.defaultValue,
          type: ENV_VAR_TYPES[v.type],
          isrequired: v.isRequired ? 1 : 0,
        },
        null,
      );
    }
  });
}
