// Create, retrieve, update (with upsert), delete, single properties and navigation properties of one record.
// Semantics from Microsoft Learn: "Create a table row using the Web API", "Update and delete table rows using the Web
// API" (PATCH is an upsert; If-Match: * prevents create, If-None-Match: * prevents update), "Perform conditional
// operations using the Web API" (ETags, 412, 304), "Associate and disassociate table rows using the Web API".
import { DataverseErrors } from '../core/errors';
import {
  entityForSet,
  findRecordId,
  parseJsonObject,
  readEntityBody,
  requireRecordId,
  resolveReference,
  alternateKeyValues,
  type Engine,
} from '../core/engine';
import type { ResourceKey, ResourcePath } from '../core/paths';
import { emptyResponse, header, jsonResponse, preferences, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import { annotationOptions, etagOf, propertyName, rowToJson, versionFromEtag } from '../core/serialize';
import { fromStorage, toStorage, type StoredRow } from '../core/values';
import { isLookup, type EntityDef } from '../metadata/model';
import { parseQueryOptions, resolveNavigation } from '../query/options';
import { serializeRows } from '../query/executor';
import { resolveProperty } from '../query/filterSql';
import { listResponse } from './query';

export function entityUrl(ctx: RequestContext, entity: EntityDef, id: string): string {
  return `${ctx.apiBase}${entity.entitySetName}(${id})`;
}

function contextUrl(ctx: RequestContext, entity: EntityDef, selectText: string | undefined, suffix: string): string {
  return `${ctx.apiBase}$metadata#${entity.entitySetName}${selectText ? `(${selectText})` : ''}${suffix}`;
}

/** Checks If-Match against the stored row (Dataverse: 412 0x80060882 when the version differs). */
function checkIfMatch(req: ApiRequest, row: StoredRow): void {
  const ifMatch = header(req, 'if-match');
  if (!ifMatch || ifMatch.trim() === '*') return;
  const current = Number(row['versionnumber']);
  const ok = ifMatch.split(',').some((tag) => versionFromEtag(tag) === current);
  if (!ok) throw DataverseErrors.versionMismatch();
}

function writtenResponse(req: ApiRequest, ctx: RequestContext, engine: Engine, entity: EntityDef, row: StoredRow, created: boolean): ApiResponse {
  const id = row[entity.primaryIdAttribute] as string;
  const headers: Record<string, string> = { 'OData-EntityId': entityUrl(ctx, entity, id) };
  const prefer = preferences(req);
  if (prefer.get('return') === 'representation') {
    const options = parseQueryOptions(engine, entity, req.query);
    const [json] = serializeRows(engine, ctx, entity, [row], options, annotationOptions(prefer, engine, ctx));
    return jsonResponse(
      created ? 201 : 200,
      { '@odata.context': contextUrl(ctx, entity, options.selectText, '/$entity'), ...json },
      { ...headers, 'Preference-Applied': 'return=representation', ETag: etagOf(row) },
    );
  }
  return emptyResponse(204, headers);
}

export function createRecord(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef): ApiResponse {
  const body = parseJsonObject(req, entity.logicalName);
  for (const key of Object.keys(body)) {
    if (entity.oneToMany.has(key)) throw DataverseErrors.notSupported(`Deep insert through '${key}' in this emulator`);
  }
  const values = readEntityBody(engine, ctx, entity, body);
  const row = engine.store.transaction(() => engine.store.insert(entity, values, ctx.userId));
  ctx.cost.recordsWritten++;
  return writtenResponse(req, ctx, engine, entity, row, true);
}

export function retrieveRecord(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef, key: ResourceKey): ApiResponse {
  const options = parseQueryOptions(engine, entity, req.query);
  const id = requireRecordId(engine, entity, key);
  const row = engine.store.get(entity, id) as StoredRow;
  ctx.cost.recordsRead++;
  const prefer = preferences(req);
  // Dataverse never answers 304 when annotations or $expand are asked for: those parts may change without the row's
  // version changing (a lookup's name, a related row), so the row is always sent.
  const ifNoneMatch = header(req, 'if-none-match');
  const cacheable = !prefer.has('odata.include-annotations') && !req.query.has('$expand');
  if (cacheable && ifNoneMatch && ifNoneMatch.split(',').some((t) => versionFromEtag(t) === Number(row['versionnumber']))) {
    return emptyResponse(304, { ETag: etagOf(row) });
  }
  const [json] = serializeRows(engine, ctx, entity, [row], options, annotationOptions(prefer, engine, ctx));
  return jsonResponse(200, { '@odata.context': contextUrl(ctx, entity, options.selectText, '/$entity'), ...json }, { ETag: etagOf(row) });
}

/** PATCH set(key): update, or create when the record does not exist (upsert), honouring If-Match / If-None-Match. */
export function upsertRecord(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef, key: ResourceKey): ApiResponse {
  const body = parseJsonObject(req, entity.logicalName);
  const values = readEntityBody(engine, ctx, entity, body);
  const ifMatch = header(req, 'if-match');
  const ifNoneMatch = header(req, 'if-none-match');
  const { row, created } = engine.store.transaction(() => {
    const id = findRecordId(engine, entity, key);
    if (id === undefined) {
      // If-Match (any value) means "update only": no create, 404 (Microsoft Learn: "Prevent create in upsert").
      if (ifMatch) {
        throw key.kind === 'id' ? DataverseErrors.recordNotFound(entity.logicalName, key.id) : DataverseErrors.recordNotFoundByKey(entity.logicalName);
      }
      const keyValues = key.kind === 'id' ? { [entity.primaryIdAttribute]: key.id } : alternateKeyValues(entity, key.values);
      return { row: engine.store.insert(entity, { ...values, ...keyValues }, ctx.userId), created: true };
    }
    const existing = engine.store.get(entity, id) as StoredRow;
    if (ifNoneMatch && ifNoneMatch.trim() === '*') throw DataverseErrors.duplicateRecord();
    checkIfMatch(req, existing);
    return { row: engine.store.update(entity, id, values, ctx.userId), created: false };
  });
  ctx.cost.recordsWritten++;
  return writtenResponse(req, ctx, engine, entity, row, created);
}

export function deleteRecord(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef, key: ResourceKey): ApiResponse {
  engine.store.transaction(() => {
    const id = requireRecordId(engine, entity, key);
    checkIfMatch(req, engine.store.get(entity, id) as StoredRow);
    engine.store.delete(entity, id);
  });
  ctx.cost.recordsWritten++;
  return emptyResponse(204);
}

/** GET/PUT/DELETE set(key)/property. */
export function recordProperty(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef, key: ResourceKey, name: string): ApiResponse {
  const attr = resolveProperty(entity, name);
  if (req.method === 'GET') {
    const id = requireRecordId(engine, entity, key);
    const row = engine.store.get(entity, id) as StoredRow;
    ctx.cost.recordsRead++;
    const value = fromStorage(attr, row[attr.logicalName] ?? null);
    if (value === null) return emptyResponse(204);
    return jsonResponse(200, { '@odata.context': `${ctx.apiBase}$metadata#${entity.entitySetName}(${id})/${propertyName(attr)}`, value });
  }
  if (isLookup(attr) || attr.readOnly) throw DataverseErrors.methodNotAllowed(req.method, req.path);
  let value: unknown = null;
  if (req.method === 'PUT') {
    const body = parseJsonObject(req, entity.logicalName);
    if (!('value' in body)) throw DataverseErrors.payload(entity.logicalName, "The property 'value' is missing.");
    value = body['value'];
  } else if (req.method !== 'DELETE') throw DataverseErrors.methodNotAllowed(req.method, req.path);
  const stored = toStorage(entity, attr, value);
  engine.store.transaction(() => {
    const id = requireRecordId(engine, entity, key);
    checkIfMatch(req, engine.store.get(entity, id) as StoredRow);
    engine.store.update(entity, id, { [attr.logicalName]: stored }, ctx.userId);
  });
  ctx.cost.recordsWritten++;
  return emptyResponse(204);
}

/** set(key)/navigation[(key)][/$ref]: read related rows, associate and disassociate. */
export function recordNavigation(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef, key: ResourceKey, path: ResourcePath): ApiResponse {
  const navSeg = path.segments[0] as { name: string; key?: ResourceKey };
  const isRef = path.segments[1]?.name === '$ref';
  if (path.segments.length > (isRef ? 2 : 1)) throw DataverseErrors.resourceNotFound(path.segments[path.segments.length - 1]?.name ?? '');
  const nav = resolveNavigation(engine, entity, navSeg.name);
  const id = requireRecordId(engine, entity, key);

  if (req.method === 'GET' && !isRef) {
    if (nav.kind === 'lookup') {
      const row = engine.store.get(entity, id) as StoredRow;
      const refId = row[nav.attr.logicalName];
      if (typeof refId !== 'string') return emptyResponse(204);
      return retrieveRecord(engine, req, ctx, nav.target, { kind: 'id', id: refId });
    }
    const options = parseQueryOptions(engine, nav.target, req.query);
    const expandItem = { name: navSeg.name, nav, options };
    const [json] = serializeRows(engine, ctx, entity, [engine.store.get(entity, id) as StoredRow], { orderBy: [], count: false, expand: [expandItem], select: [] }, annotationOptions(preferences(req), engine, ctx));
    return listResponse(ctx, nav.target, options, (json as Record<string, unknown>)[navSeg.name] as unknown[], {});
  }
  if (!isRef) throw DataverseErrors.methodNotAllowed(req.method, req.path);

  const refFromBody = (): { entity: EntityDef; id: string } => {
    const body = parseJsonObject(req, entity.logicalName);
    return resolveReference(engine, ctx, entity, body['@odata.id'], nav.target.logicalName, navSeg.name);
  };
  const refFromUrl = (): { entity: EntityDef; id: string } => {
    if (navSeg.key) return { entity: nav.target, id: requireRecordId(engine, nav.target, navSeg.key) };
    const idParam = req.query.get('$id');
    if (!idParam) throw DataverseErrors.queryOption('The $id query option is required to delete a reference from a collection.');
    return resolveReference(engine, ctx, entity, idParam, nav.target.logicalName, navSeg.name);
  };

  engine.store.transaction(() => {
    if (nav.kind === 'manyToMany') {
      const other = req.method === 'DELETE' ? refFromUrl() : refFromBody();
      if (req.method !== 'POST' && req.method !== 'DELETE') throw DataverseErrors.methodNotAllowed(req.method, req.path);
      const [a, b] = nav.self === 'entity1' ? [id, other.id] : [other.id, id];
      if (req.method === 'POST') {
        // Associating twice is a duplicate (Dataverse: 0x80040237 "Cannot insert duplicate key.").
        if (!engine.store.associate(nav.rel, a, b)) throw DataverseErrors.duplicatePrimaryKey();
      } else if (!engine.store.disassociate(nav.rel, a, b)) {
        throw DataverseErrors.recordNotFound(nav.rel.intersectTable, other.id);
      }
      return;
    }
    if (nav.kind === 'oneToMany') {
      const other = req.method === 'DELETE' ? refFromUrl() : refFromBody();
      if (req.method !== 'POST' && req.method !== 'DELETE') throw DataverseErrors.methodNotAllowed(req.method, req.path);
      engine.store.update(nav.target, other.id, { [nav.rel.referencingAttribute]: req.method === 'POST' ? id : null }, ctx.userId);
      return;
    }
    if (req.method === 'PUT') {
      engine.store.update(entity, id, { [nav.attr.logicalName]: refFromBody().id }, ctx.userId);
    } else if (req.method === 'DELETE') {
      engine.store.update(entity, id, { [nav.attr.logicalName]: null }, ctx.userId);
    } else throw DataverseErrors.methodNotAllowed(req.method, req.path);
  });
  ctx.cost.recordsWritten++;
  return emptyResponse(204);
}

export function setForPath(engine: Engine, path: ResourcePath): EntityDef {
  return entityForSet(engine, path.set);
}

export { rowToJson };
