// The core of the emulator: routes a Web API request to its handler. Knows nothing of sockets (see http/), so $batch
// parts and HTTP requests take exactly the same path.
import { DataverseErrors } from './errors';
import { entityForSet, type Engine } from './engine';
import { parseResourcePath } from './paths';
import { emptyResponse, jsonResponse, type ApiRequest, type ApiResponse, type RequestContext } from './protocol';
import { executeBatch } from '../handlers/batch';
import { bulkDelete } from '../handlers/bulkDelete';
import { createMultiple, updateMultiple, upsertMultiple } from '../handlers/bulk';
import { entityDefinitions } from '../handlers/entityDefinitions';
import { whoAmI, winOpportunity } from '../handlers/actions';
import { queryEntitySet } from '../handlers/query';
import { createRecord, deleteRecord, recordNavigation, recordProperty, retrieveRecord, upsertRecord } from '../handlers/records';
import { isLookup } from '../metadata/model';
import { quoteIdent } from '../persistence/store';
import { COUNT_LIMIT } from '../query/executor';
import { parseQueryOptions } from '../query/options';
import { filterToSql } from '../query/filterSql';

const BOUND_ACTIONS = {
  'Microsoft.Dynamics.CRM.CreateMultiple': createMultiple,
  'Microsoft.Dynamics.CRM.UpdateMultiple': updateMultiple,
  'Microsoft.Dynamics.CRM.UpsertMultiple': upsertMultiple,
} as const;

function only(method: string, req: ApiRequest): void {
  if (req.method !== method) throw DataverseErrors.methodNotAllowed(req.method, req.path);
}

export function execute(engine: Engine, req: ApiRequest, ctx: RequestContext): ApiResponse {
  const path = req.path.replace(/\/+$/, '');
  if (path === '') {
    only('GET', req);
    return jsonResponse(200, {
      '@odata.context': `${ctx.apiBase}$metadata`,
      value: engine.schema.entities.map((e) => ({ name: e.entitySetName, kind: 'EntitySet', url: e.entitySetName })),
    });
  }
  if (path === '$batch') {
    only('POST', req);
    return executeBatch(engine, req, ctx, (inner, innerCtx) => {
      if (inner.path.replace(/\/+$/, '') === '$batch') throw DataverseErrors.malformedBatch('A $batch request cannot contain another $batch request.');
      return execute(engine, inner, innerCtx);
    });
  }
  if (path === '$metadata') throw DataverseErrors.notSupported('$metadata (CSDL) in this emulator');

  const resource = parseResourcePath(path);
  switch (resource.set) {
    case 'WhoAmI':
      only('GET', req);
      return whoAmI(engine, ctx);
    case 'BulkDelete':
      only('POST', req);
      return bulkDelete(engine, req, ctx);
    case 'WinOpportunity':
      only('POST', req);
      return winOpportunity(engine, req, ctx);
    case 'EntityDefinitions':
      return entityDefinitions(engine, req, ctx, resource);
    default:
      break;
  }
  const entity = entityForSet(engine, resource.set);
  if (!resource.key) {
    const first = resource.segments[0];
    if (!first) {
      if (req.method === 'GET') return queryEntitySet(engine, req, ctx, entity);
      if (req.method === 'POST') return createRecord(engine, req, ctx, entity);
      throw DataverseErrors.methodNotAllowed(req.method, req.path);
    }
    if (resource.segments.length === 1 && first.name === '$count') {
      only('GET', req);
      const options = parseQueryOptions(engine, entity, req.query);
      const where = options.filter ? filterToSql({ entity, now: ctx.now, userId: ctx.userId }, options.filter) : { sql: '1', params: [] };
      const n = (engine.store.all(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${quoteIdent(entity.logicalName)} WHERE ${where.sql} LIMIT ${COUNT_LIMIT + 1})`, where.params)[0] as { n: number }).n;
      return { status: 200, headers: { 'OData-Version': '4.0' }, text: { contentType: 'text/plain', body: String(Math.min(n, COUNT_LIMIT)) } };
    }
    const action = BOUND_ACTIONS[first.name as keyof typeof BOUND_ACTIONS];
    if (action && resource.segments.length === 1) {
      only('POST', req);
      return action(engine, req, ctx, entity);
    }
    throw DataverseErrors.resourceNotFound(first.name);
  }
  if (resource.segments.length === 0) {
    switch (req.method) {
      case 'GET':
        return retrieveRecord(engine, req, ctx, entity, resource.key);
      case 'PATCH':
        return upsertRecord(engine, req, ctx, entity, resource.key);
      case 'DELETE':
        return deleteRecord(engine, req, ctx, entity, resource.key);
      default:
        throw DataverseErrors.methodNotAllowed(req.method, req.path);
    }
  }
  const first = resource.segments[0] as { name: string };
  const attr = entity.attributes.get(first.name);
  const isValueProperty = (attr && !isLookup(attr)) || /^_.+_value$/.test(first.name);
  if (isValueProperty && resource.segments.length === 1) return recordProperty(engine, req, ctx, entity, resource.key, first.name);
  return recordNavigation(engine, req, ctx, entity, resource.key, resource);
}

export { emptyResponse };
