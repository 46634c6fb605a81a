// CreateMultiple, UpdateMultiple, UpsertMultiple (Microsoft Learn: "Use bulk operation messages"): bound to the entity
// set, `{"Targets":[{..., "@odata.type":"Microsoft.Dynamics.CRM.<table>"}]}`, all-or-nothing on standard tables.
// CreateMultiple returns {"Ids":[...]}; UpdateMultiple and UpsertMultiple return 204.
import { DataverseErrors } from '../core/errors';
import { parseJsonObject, readEntityBody, type Engine } from '../core/engine';
import { emptyResponse, jsonResponse, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import type { SqlValue, StoredRow } from '../core/values';
import type { EntityDef } from '../metadata/model';

function readTargets(req: ApiRequest, entity: EntityDef): Record<string, unknown>[] {
  const body = parseJsonObject(req, entity.logicalName);
  const targets = body['Targets'];
  if (!Array.isArray(targets)) throw DataverseErrors.payload(entity.logicalName, "The parameter 'Targets' is required and must be a collection of entities.");
  const expectedType = `Microsoft.Dynamics.CRM.${entity.logicalName}`;
  return targets.map((t, i) => {
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw DataverseErrors.payload(entity.logicalName, `Targets[${i}] is not an entity.`);
    const type = (t as Record<string, unknown>)['@odata.type'];
    if (type !== expectedType) {
      throw DataverseErrors.payload(entity.logicalName, `Targets[${i}] must have "@odata.type": "${expectedType}" (found ${JSON.stringify(type ?? null)}).`);
    }
    return t as Record<string, unknown>;
  });
}

/** The record a target addresses: its primary key, or the values of one of the table's alternate keys. */
function targetKey(entity: EntityDef, values: StoredRow): { id?: string; key?: Record<string, SqlValue> } {
  const pk = values[entity.primaryIdAttribute];
  if (typeof pk === 'string') return { id: pk };
  for (const k of entity.alternateKeys) {
    if (k.columns.every((c) => values[c] !== undefined && values[c] !== null)) {
      return { key: Object.fromEntries(k.columns.map((c) => [c, values[c] as SqlValue])) };
    }
  }
  return {};
}

export function createMultiple(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef): ApiResponse {
  const targets = readTargets(req, entity);
  const ids = engine.store.transaction(() =>
    targets.map((t) => engine.store.insert(entity, readEntityBody(engine, ctx, entity, t), ctx.userId)[entity.primaryIdAttribute] as string),
  );
  ctx.cost.recordsWritten += ids.length;
  return jsonResponse(200, { '@odata.context': `${ctx.apiBase}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`, Ids: ids });
}

export function updateMultiple(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef): ApiResponse {
  const targets = readTargets(req, entity);
  engine.store.transaction(() => {
    for (const t of targets) {
      const values = readEntityBody(engine, ctx, entity, t);
      const { id, key } = targetKey(entity, values);
      if (id === undefined && key === undefined) {
        throw DataverseErrors.invalidArgument(`Each target of UpdateMultiple needs its primary key '${entity.primaryIdAttribute}' or an alternate key.`);
      }
      const found = id ?? engine.store.findIdByKey(entity, key as Record<string, SqlValue>);
      if (found === undefined) throw DataverseErrors.recordNotFoundByKey(entity.logicalName);
      engine.store.update(entity, found, values, ctx.userId);
    }
  });
  ctx.cost.recordsWritten += targets.length;
  return emptyResponse(204);
}

export function upsertMultiple(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef): ApiResponse {
  const targets = readTargets(req, entity);
  engine.store.transaction(() => {
    for (const t of targets) {
      const values = readEntityBody(engine, ctx, entity, t);
      const { id, key } = targetKey(entity, values);
      const found = id !== undefined ? (engine.store.get(entity, id) ? id : undefined) : key ? engine.store.findIdByKey(entity, key) : undefined;
      if (found !== undefined) engine.store.update(entity, found, values, ctx.userId);
      else engine.store.insert(entity, values, ctx.userId);
    }
  });
  ctx.cost.recordsWritten += targets.length;
  return emptyResponse(204);
}
