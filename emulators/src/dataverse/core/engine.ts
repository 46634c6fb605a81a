// What every handler needs: the schema, the store, the settings, and the shared steps of reading a request (entity set,
// record key, JSON body with @odata.bind) into typed values.
import { DataverseErrors } from './errors';
import { parseEntityReference, type ResourceKey } from './paths';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './jsonDepth';
import type { ApiRequest, RequestContext } from './protocol';
import { toStorage, type SqlValue, type StoredRow } from './values';
import { isLookup, type AttributeDef, type EntityDef } from '../metadata/model';
import type { Schema } from '../metadata/schema';
import type { DataverseStore } from '../persistence/store';

export interface EngineSettings {
  /** Largest page a query returns (Dataverse: 5,000). */
  readonly maxPageSize: number;
  /** Change tracking tokens older than this are rejected with ExpiredVersionStamp (Dataverse default: 7 days). */
  changeTrackingTokenTtlMs: number;
  /** Rows an aggregate FetchXML query may cover (Dataverse: 50,000). */
  aggregateLimit: number;
  /** Requests in one $batch (Dataverse: 1,000). */
  readonly maxBatchRequests: number;
}

export interface Engine {
  readonly schema: Schema;
  readonly store: DataverseStore;
  readonly settings: EngineSettings;
}

export function entityForSet(engine: Engine, set: string): EntityDef {
  const e = engine.schema.entityBySet(set);
  if (!e) throw DataverseErrors.resourceNotFound(set);
  return e;
}

/** The stored values of an alternate key given in a URL, checked against the table's declared keys. */
export function alternateKeyValues(entity: EntityDef, values: ReadonlyMap<string, unknown>): Record<string, SqlValue> {
  const names = [...values.keys()].sort();
  const key = entity.alternateKeys.find((k) => [...k.columns].sort().join(',') === names.join(','));
  const isPk = names.length === 1 && names[0] === entity.primaryIdAttribute;
  if (!key && !isPk) {
    throw DataverseErrors.invalidArgument(`The key attributes '${names.join(',')}' do not form an alternate key of the entity '${entity.logicalName}'.`);
  }
  const out: Record<string, SqlValue> = {};
  for (const [name, v] of values) {
    const attr = entity.attributes.get(name) as AttributeDef;
    out[name] = toStorage(entity, attr, typeof v === 'number' && attr.type === 'string' ? String(v) : v);
  }
  return out;
}

/** Finds the record a key addresses; undefined when none exists. */
export function findRecordId(engine: Engine, entity: EntityDef, key: ResourceKey): string | undefined {
  if (key.kind === 'id') return engine.store.get(entity, key.id) ? key.id : undefined;
  return engine.store.findIdByKey(entity, alternateKeyValues(entity, key.values));
}

export function requireRecordId(engine: Engine, entity: EntityDef, key: ResourceKey): string {
  const id = findRecordId(engine, entity, key);
  if (id === undefined) {
    throw key.kind === 'id' ? DataverseErrors.recordNotFound(entity.logicalName, key.id) : DataverseErrors.recordNotFoundByKey(entity.logicalName);
  }
  return id;
}

export function parseJsonBody(req: ApiRequest, logicalName: string): unknown {
  const text = req.body.toString('utf8');
  if (text.trim().length === 0) throw DataverseErrors.malformedJson(logicalName, 'The request body is empty.');
  if (jsonDepthExceeds(text)) throw DataverseErrors.malformedJson(logicalName, `The JSON is nested more than ${MAX_JSON_DEPTH} levels deep.`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw DataverseErrors.malformedJson(logicalName, (e as Error).message);
  }
}

export function parseJsonObject(req: ApiRequest, logicalName: string): Record<string, unknown> {
  const body = parseJsonBody(req, logicalName);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw DataverseErrors.payload(logicalName, 'A resource (a JSON object) was expected in the request payload.');
  }
  return body as Record<string, unknown>;
}

/** Resolves `$1` (batch Content-ID) or an entity URL in @odata.bind / $ref to the referenced record's id. */
export function resolveReference(engine: Engine, ctx: RequestContext, entity: EntityDef, ref: unknown, expectedTarget: string | undefined, property: string): { entity: EntityDef; id: string } {
  if (typeof ref !== 'string') throw DataverseErrors.cannotConvert(entity.logicalName, ref, 'Edm.String');
  let text = ref;
  const cid = /^\$(\w+)$/.exec(text.trim());
  if (cid) {
    const url = ctx.contentIds?.get(cid[1] as string);
    if (!url) throw DataverseErrors.payload(entity.logicalName, `The Content-ID '${text}' does not reference a previous request in the change set.`);
    text = url;
  }
  const parsed = parseEntityReference(text, ctx.apiBase);
  if (!parsed) throw DataverseErrors.payload(entity.logicalName, `The value '${ref}' of '${property}@odata.bind' is not a valid entity reference URL.`);
  const target = entityForSet(engine, parsed.set);
  if (expectedTarget && target.logicalName !== expectedTarget) {
    throw DataverseErrors.payload(entity.logicalName, `The entity set '${parsed.set}' cannot be bound to '${property}', which references '${expectedTarget}'.`);
  }
  return { entity: target, id: requireRecordId(engine, target, parsed.key) };
}

/**
 * Reads a create/update body into stored values. Unknown properties and wrong types are payload errors; read-only
 * columns are ignored (as Dataverse does); `nav@odata.bind` sets lookups; other annotations are ignored.
 */
export function readEntityBody(engine: Engine, ctx: RequestContext, entity: EntityDef, body: Record<string, unknown>): StoredRow {
  const values: StoredRow = {};
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith('@')) continue;
    const at = key.indexOf('@');
    if (at > 0) {
      const annotation = key.slice(at + 1);
      const nav = key.slice(0, at);
      if (annotation !== 'odata.bind') continue;
      const attr = [...entity.attributes.values()].find((a) => isLookup(a) && a.navigationProperty === nav);
      if (!attr) throw DataverseErrors.undeclaredProperty(nav, entity.logicalName);
      if (value === null) {
        values[attr.logicalName] = null;
        continue;
      }
      values[attr.logicalName] = resolveReference(engine, ctx, entity, value, attr.target, nav).id;
      continue;
    }
    const attr = entity.attributes.get(key);
    if (!attr || isLookup(attr)) throw DataverseErrors.undeclaredProperty(key, entity.logicalName);
    if (attr.readOnly) continue;
    values[key] = toStorage(entity, attr, value);
  }
  return values;
}
