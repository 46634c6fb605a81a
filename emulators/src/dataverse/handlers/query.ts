// GET on an entity set: OData query options with paging ("Page results": Prefer odata.maxpagesize, @odata.nextLink,
// $count capped at 5,000), FetchXML (?fetchXml=), and change tracking ("Use change tracking to synchronize data with
// external systems": Prefer odata.track-changes, @odata.deltaLink, $deletedEntity rows, expired tokens).
import { DataverseErrors } from '../core/errors';
import type { Engine } from '../core/engine';
import { jsonResponse, preferences, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import { annotationOptions, rowToJson } from '../core/serialize';
import type { EntityDef } from '../metadata/model';
import { quoteIdent } from '../persistence/store';
import { executeQuery, serializeRows } from '../query/executor';
import { parseQueryOptions, type QueryOptions } from '../query/options';
import { fetchXmlQuery } from './fetchXml';

export function listResponse(
  ctx: RequestContext,
  entity: EntityDef,
  options: QueryOptions,
  value: unknown[],
  extra: { count?: number; countLimitExceeded?: boolean; nextLink?: string; deltaLink?: string; delta?: boolean },
  headers: Record<string, string> = {},
): ApiResponse {
  const body: Record<string, unknown> = {
    '@odata.context': `${ctx.apiBase}$metadata#${entity.entitySetName}${options.selectText ? `(${options.selectText})` : ''}${extra.delta ? '/$delta' : ''}`,
  };
  if (extra.count !== undefined) {
    body['@odata.count'] = extra.count;
    body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = extra.countLimitExceeded ?? false;
  }
  body['value'] = value;
  if (extra.nextLink) body['@odata.nextLink'] = extra.nextLink;
  if (extra.deltaLink) body['@odata.deltaLink'] = extra.deltaLink;
  return jsonResponse(200, body, headers);
}

export function pageSizeFor(engine: Engine, prefer: ReadonlyMap<string, string>): { size: number; applied?: string } {
  const raw = prefer.get('odata.maxpagesize');
  if (raw === undefined) return { size: engine.settings.maxPageSize };
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw DataverseErrors.queryOption(`The value '${raw}' of the odata.maxpagesize preference is not valid.`);
  const size = Math.min(n, engine.settings.maxPageSize);
  return { size, applied: `odata.maxpagesize=${size}` };
}

function linkWith(ctx: RequestContext, entity: EntityDef, query: URLSearchParams, set: Record<string, string>, drop: readonly string[]): string {
  const q = new URLSearchParams(query);
  for (const d of drop) q.delete(d);
  for (const [k, v] of Object.entries(set)) q.set(k, v);
  // Keys stay literal ($select, $skiptoken) and values are percent-encoded, as in Dataverse's own links.
  const qs = [...q.entries()].map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ',').replace(/%24/g, '$').replace(/!/g, '%21')}`).join('&');
  return `${ctx.apiBase}${entity.entitySetName}?${qs}`;
}

export function queryEntitySet(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef): ApiResponse {
  const fetchXml = req.query.get('fetchXml');
  if (fetchXml !== null) return fetchXmlQuery(engine, req, ctx, entity, fetchXml);
  const prefer = preferences(req);
  const deltaToken = req.query.get('$deltatoken');
  if (prefer.has('odata.track-changes') || deltaToken !== null) return trackChanges(engine, req, ctx, entity, deltaToken);
  const options = parseQueryOptions(engine, entity, req.query);
  const page = pageSizeFor(engine, prefer);
  const result = executeQuery(engine, ctx, entity, options, { pageSize: page.size, skipToken: req.query.get('$skiptoken') ?? undefined });
  const value = serializeRows(engine, ctx, entity, result.rows, options, annotationOptions(prefer, engine, ctx));
  return listResponse(
    ctx,
    entity,
    options,
    value,
    {
      count: result.count,
      countLimitExceeded: result.countLimitExceeded,
      nextLink: result.nextSkipToken ? linkWith(ctx, entity, req.query, { $skiptoken: result.nextSkipToken }, []) : undefined,
    },
    page.applied ? { 'Preference-Applied': page.applied } : {},
  );
}

// ---- change tracking ---------------------------------------------------------------------------------------------

function formatTokenTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Dataverse delta tokens look like `919042!08/22/2017 08:10:44` (row version ! issue time, UTC). */
function makeDeltaToken(version: number, now: number): string {
  return `${version}!${formatTokenTime(now)}`;
}

function parseDeltaToken(token: string): { version: number; issuedAt: number } {
  const m = /^(\d+)!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(token.trim());
  if (!m) throw DataverseErrors.invalidArgument(`The delta token '${token}' is not valid.`);
  const issuedAt = Date.UTC(Number(m[4]), Number(m[2]) - 1, Number(m[3]), Number(m[5]), Number(m[6]), Number(m[7]));
  return { version: Number(m[1]), issuedAt };
}

function trackChanges(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef, deltaToken: string | null): ApiResponse {
  if (!entity.changeTrackingEnabled) throw DataverseErrors.changeTrackingNotEnabled(entity.logicalName);
  for (const opt of ['$filter', '$orderby', '$expand', '$top', '$count']) {
    if (req.query.has(opt)) throw DataverseErrors.queryOption(`The query option ${opt} is not supported with change tracking (Prefer: odata.track-changes).`);
  }
  const prefer = preferences(req);
  const options = parseQueryOptions(engine, entity, req.query);
  const annotations = annotationOptions(prefer, engine, ctx);
  const selectParam: Record<string, string> = options.selectText ? { $select: options.selectText } : {};

  if (deltaToken === null) {
    // Initial synchronisation: every row, paged; the delta link comes with the last page and carries the version
    // captured on the first page, so changes made while paging are delivered by the next delta.
    const skipToken = req.query.get('$skiptoken') ?? undefined;
    const trackingParam = req.query.get('$trackingversion');
    const version = trackingParam !== null ? Number(trackingParam) : engine.store.currentVersion();
    const page = pageSizeFor(engine, prefer);
    const q = new URLSearchParams(req.query);
    q.delete('$trackingversion');
    const result = executeQuery(engine, ctx, entity, options, { pageSize: page.size, skipToken });
    const value = serializeRows(engine, ctx, entity, result.rows, options, annotations);
    const nextLink = result.nextSkipToken
      ? linkWith(ctx, entity, q, { $skiptoken: result.nextSkipToken, $trackingversion: String(version) }, [])
      : undefined;
    const deltaLink = nextLink ? undefined : linkWith(ctx, entity, new URLSearchParams(), { ...selectParam, $deltatoken: makeDeltaToken(version, ctx.now) }, []);
    return listResponse(ctx, entity, options, value, { nextLink, deltaLink }, { 'Preference-Applied': 'odata.track-changes' });
  }

  const { version, issuedAt } = parseDeltaToken(deltaToken);
  if (version > engine.store.currentVersion()) throw DataverseErrors.invalidArgument(`The delta token '${deltaToken}' is not valid.`);
  if (ctx.now - issuedAt > engine.settings.changeTrackingTokenTtlMs) throw DataverseErrors.expiredVersionStamp();
  const upTo = engine.store.currentVersion();
  const changed = engine.store.all(
    `SELECT * FROM ${quoteIdent(entity.logicalName)} WHERE versionnumber > ? AND versionnumber <= ? ORDER BY versionnumber`,
    [version, upTo],
  );
  ctx.cost.recordsRead += changed.length;
  const value: unknown[] = changed.map((row) => rowToJson(entity, row, options.select, annotations));
  for (const d of engine.store.deletedSince(entity, version, upTo)) {
    value.push({ '@odata.context': `${ctx.apiBase}$metadata#${entity.entitySetName}/$deletedEntity`, id: d.id, reason: 'deleted' });
  }
  const deltaLink = linkWith(ctx, entity, new URLSearchParams(), { ...selectParam, $deltatoken: makeDeltaToken(upTo, ctx.now) }, []);
  return listResponse(ctx, entity, options, value, { deltaLink, delta: true }, { 'Preference-Applied': 'odata.track-changes' });
}
