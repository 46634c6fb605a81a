// FetchXML over the Web API (`GET <set>?fetchXml=...`, Microsoft Learn "Use FetchXml to query data"): attributes,
// all-attributes, nested and/or filters with conditions (FetchXML operator names, date operators included), order,
// top, count/page paging with morerecords, returntotalrecordcount, and aggregate="true" with count, countcolumn, sum,
// avg, min, max and groupby, limited to 50,000 rows as Dataverse does (0x8004E023). link-entity is not supported.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DataverseErrors } from '../core/errors';
import type { Engine } from '../core/engine';
import { jsonResponse, preferences, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import { annotationOptions, rowToJson } from '../core/serialize';
import { fromStorage, type SqlValue } from '../core/values';
import type { AttributeDef, EntityDef } from '../metadata/model';
import { quoteIdent } from '../persistence/store';
import { conditionSql, isKnownOperator, type SqlFragment } from '../query/conditions';

type XmlNode = Record<string, unknown>;

const ARRAYS = new Set(['attribute', 'order', 'filter', 'condition', 'value', 'link-entity', 'entity']);
/** Elements nested deeper than this are refused (400) before anything walks the tree recursively. */
export const MAX_FETCH_DEPTH = 50;
const parser = new XMLParser({
  // A DOCTYPE is refused before parsing; entities are never expanded even so (no XXE, no entity expansion bomb).
  processEntities: false,
  maxNestedTags: MAX_FETCH_DEPTH,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ARRAYS.has(name),
});

function attrOf(node: XmlNode, name: string): string | undefined {
  const v = node[`@${name}`];
  return typeof v === 'string' ? v : undefined;
}

function children(node: XmlNode, name: string): XmlNode[] {
  const v = node[name];
  return Array.isArray(v) ? (v as XmlNode[]) : [];
}

function column(entity: EntityDef, name: string | undefined): AttributeDef {
  const a = name ? entity.attributes.get(name) : undefined;
  if (!a) throw DataverseErrors.fetchNoAttribute(entity.logicalName, name ?? '');
  return a;
}

function isTrue(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

/** Parses and checks a FetchXML document; returns the <fetch> node and its single <entity>. */
export function parseFetch(xml: string): { fetch: XmlNode; entityNode: XmlNode } {
  // Dataverse reads FetchXML with DTD processing prohibited; this is the .NET XmlReader's refusal.
  if (/<!DOCTYPE/i.test(xml)) {
    throw DataverseErrors.invalidFetchXml('For security reasons DTD is prohibited in this XML document (a <!DOCTYPE> declaration was found).');
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw DataverseErrors.invalidFetchXml(valid.err.msg);
  let doc: XmlNode;
  try {
    doc = parser.parse(xml) as XmlNode;
  } catch (e) {
    // The parser's own limits (element nesting past MAX_FETCH_DEPTH) are the caller's error, not ours.
    const detail = e instanceof Error && /nested/i.test(e.message) ? `elements are nested more than ${MAX_FETCH_DEPTH} levels deep.` : e instanceof Error ? e.message : String(e);
    throw DataverseErrors.invalidFetchXml(detail);
  }
  const fetch = doc['fetch'] as XmlNode | undefined;
  if (!fetch || typeof fetch !== 'object') throw DataverseErrors.invalidFetchXml("The root element must be 'fetch'.");
  const entities = children(fetch, 'entity');
  if (entities.length !== 1) throw DataverseErrors.invalidFetchXml("A fetch element must contain exactly one 'entity' element.");
  const entityNode = entities[0] as XmlNode;
  if (children(entityNode, 'link-entity').length > 0) throw DataverseErrors.notSupported('link-entity in FetchXML (in this emulator)');
  return { fetch, entityNode };
}

export function filterSql(entity: EntityDef, ctx: { now: number; userId: string | null }, filter: XmlNode): SqlFragment {
  const type = attrOf(filter, 'type') ?? 'and';
  if (type !== 'and' && type !== 'or') throw DataverseErrors.invalidFetchXml(`The filter type '${type}' is not valid.`);
  const parts: SqlFragment[] = [];
  for (const c of children(filter, 'condition')) {
    const attr = column(entity, attrOf(c, 'attribute'));
    const op = attrOf(c, 'operator') ?? '';
    if (!isKnownOperator(op)) throw DataverseErrors.invalidFetchXml(`The condition operator '${op}' is not valid.`);
    const single = attrOf(c, 'value');
    const values: unknown[] = single !== undefined ? [single] : children(c, 'value').map((v) => (typeof v === 'object' ? (v['#text'] as string | undefined) ?? '' : String(v)));
    parts.push(conditionSql({ entity, now: ctx.now, userId: ctx.userId }, attr, op, values));
  }
  for (const f of children(filter, 'filter')) parts.push(filterSql(entity, ctx, f));
  if (parts.length === 0) return { sql: '1', params: [] };
  return balancedSql(parts, type === 'and' ? ' AND ' : ' OR ');
}

/** Joins conditions as a balanced tree of parentheses: thousands of them stay under SQLite's expression depth (1,000). */
function balancedSql(parts: readonly SqlFragment[], joiner: string): SqlFragment {
  if (parts.length === 1) return { sql: `(${(parts[0] as SqlFragment).sql})`, params: (parts[0] as SqlFragment).params };
  const mid = Math.ceil(parts.length / 2);
  const left = balancedSql(parts.slice(0, mid), joiner);
  const right = balancedSql(parts.slice(mid), joiner);
  return { sql: `(${left.sql}${joiner}${right.sql})`, params: [...left.params, ...right.params] };
}

/** WHERE clause of a FetchXML entity node. */
export function whereOf(entity: EntityDef, ctx: { now: number; userId: string | null }, entityNode: XmlNode): SqlFragment {
  const filters = children(entityNode, 'filter').map((f) => filterSql(entity, ctx, f));
  if (filters.length === 0) return { sql: '1', params: [] };
  return { sql: filters.map((f) => f.sql).join(' AND '), params: filters.flatMap((f) => f.params) };
}

const AGGREGATES: Record<string, (col: string) => string> = {
  count: () => 'COUNT(*)',
  countcolumn: (c) => `COUNT(${c})`,
  sum: (c) => `SUM(${c})`,
  avg: (c) => `AVG(${c})`,
  min: (c) => `MIN(${c})`,
  max: (c) => `MAX(${c})`,
};

export function fetchXmlQuery(engine: Engine, req: ApiRequest, ctx: RequestContext, entity: EntityDef, xml: string): ApiResponse {
  const { fetch, entityNode } = parseFetch(xml);
  if (attrOf(entityNode, 'name') !== entity.logicalName) {
    throw DataverseErrors.queryOption(`The entity name '${attrOf(entityNode, 'name') ?? ''}' in the FetchXML does not match the entity set '${entity.entitySetName}'.`);
  }
  const table = quoteIdent(entity.logicalName);
  const where = whereOf(entity, ctx, entityNode);
  const annotations = annotationOptions(preferences(req), engine, ctx);
  const context = `${ctx.apiBase}$metadata#${entity.entitySetName}`;

  if (isTrue(attrOf(fetch, 'aggregate'))) {
    const limit = engine.settings.aggregateLimit;
    const covered = (engine.store.all(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${where.sql} LIMIT ${limit + 1})`, where.params)[0] as { n: number }).n;
    // Charged before the refusal: finding out that more than the limit match means reading limit + 1 of them.
    ctx.cost.recordsRead += covered;
    if (covered > limit) throw DataverseErrors.aggregateQueryRecordLimit();
    const selects: string[] = [];
    const groups: string[] = [];
    const outputs: { alias: string; attr?: AttributeDef }[] = [];
    for (const a of children(entityNode, 'attribute')) {
      const attr = column(entity, attrOf(a, 'name'));
      const alias = attrOf(a, 'alias');
      if (!alias) throw DataverseErrors.invalidFetchXml(`An alias is required for every attribute of an aggregate query ('${attr.logicalName}').`);
      const agg = attrOf(a, 'aggregate');
      if (attrOf(a, 'dategrouping')) throw DataverseErrors.notSupported('dategrouping in FetchXML (in this emulator)');
      if (isTrue(attrOf(a, 'groupby'))) {
        selects.push(`${quoteIdent(attr.logicalName)} AS ${quoteIdent(alias)}`);
        groups.push(quoteIdent(attr.logicalName));
        outputs.push({ alias, attr });
      } else if (agg && AGGREGATES[agg]) {
        selects.push(`${(AGGREGATES[agg] as (c: string) => string)(quoteIdent(attr.logicalName))} AS ${quoteIdent(alias)}`);
        outputs.push({ alias, attr: agg === 'min' || agg === 'max' ? attr : undefined });
      } else {
        throw DataverseErrors.invalidFetchXml(`The attribute '${attr.logicalName}' of an aggregate query needs aggregate="..." or groupby="true".`);
      }
    }
    const orders = children(entityNode, 'order').map((o) => {
      const alias = attrOf(o, 'alias');
      if (!alias || !outputs.some((x) => x.alias === alias)) throw DataverseErrors.invalidFetchXml('An order in an aggregate query must reference an attribute alias.');
      return `${quoteIdent(alias)} ${isTrue(attrOf(o, 'descending')) ? 'DESC' : 'ASC'}`;
    });
    const sql = `SELECT ${selects.join(', ')} FROM ${table} WHERE ${where.sql}${groups.length ? ` GROUP BY ${groups.join(', ')}` : ''}${orders.length ? ` ORDER BY ${orders.join(', ')}` : ''}`;
    const rows = engine.store.all(sql, where.params).map((r) => {
      const out: Record<string, unknown> = {};
      for (const o of outputs) {
        const raw = r[o.alias] ?? null;
        const value = o.attr ? fromStorage(o.attr, raw) : raw;
        if (annotations.formattedValues && o.attr?.optionLabels && value !== null) {
          const label = o.attr.optionLabels.get(value as number);
          if (label !== undefined) out[`${o.alias}@OData.Community.Display.V1.FormattedValue`] = label;
        }
        out[o.alias] = value;
      }
      return out;
    });
    return jsonResponse(200, { '@odata.context': context, value: rows });
  }

  const attrs = children(entityNode, 'attribute').map((a) => column(entity, attrOf(a, 'name')));
  const all = entityNode['all-attributes'] !== undefined;
  const select = all ? undefined : attrs;
  const order = children(entityNode, 'order').map((o) => `${quoteIdent(column(entity, attrOf(o, 'attribute')).logicalName)} ${isTrue(attrOf(o, 'descending')) ? 'DESC' : 'ASC'}`);
  order.push(`${quoteIdent(entity.primaryIdAttribute)} ASC`);
  const top = attrOf(fetch, 'top');
  const count = attrOf(fetch, 'count');
  const page = Number(attrOf(fetch, 'page') ?? '1');
  if (top !== undefined && count !== undefined) throw DataverseErrors.invalidFetchXml("The 'top' attribute can't be specified with paging attribute 'count'.");
  const pageSize = top !== undefined ? Number(top) : count !== undefined ? Number(count) : engine.settings.maxPageSize;
  if (!Number.isInteger(pageSize) || pageSize <= 0 || !Number.isInteger(page) || page <= 0) throw DataverseErrors.invalidFetchXml('top, count and page must be positive whole numbers.');
  const distinct = isTrue(attrOf(fetch, 'distinct')) ? 'DISTINCT ' : '';
  const offset = top !== undefined ? 0 : (page - 1) * pageSize;
  const rows = engine.store.all(`SELECT ${distinct}* FROM ${table} WHERE ${where.sql} ORDER BY ${order.join(', ')} LIMIT ${pageSize + 1} OFFSET ${offset}`, where.params);
  const more = top === undefined && rows.length > pageSize;
  const pageRows = rows.slice(0, pageSize);
  ctx.cost.recordsRead += pageRows.length;
  const body: Record<string, unknown> = {
    '@odata.context': `${context}${select && select.length ? `(${select.map((a) => a.logicalName).join(',')})` : ''}`,
  };
  if (isTrue(attrOf(fetch, 'returntotalrecordcount'))) {
    const total = (engine.store.all(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${table} WHERE ${where.sql} LIMIT 5001)`, where.params)[0] as { n: number }).n;
    // Counting reads the matching rows (up to the 5,000 cap and one more), on top of the page returned.
    ctx.cost.recordsRead += total;
    body['@Microsoft.Dynamics.CRM.totalrecordcount'] = Math.min(total, 5000);
    body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = total > 5000;
  }
  body['value'] = pageRows.map((r) => rowToJson(entity, r, select, annotations));
  if (top === undefined) {
    body['@Microsoft.Dynamics.CRM.morerecords'] = more;
    if (more) {
      const last = pageRows[pageRows.length - 1];
      const id = String(last?.[entity.primaryIdAttribute] ?? '');
      // The inner cookie is URL-encoded twice, as Dataverse sends it (clients decode it twice).
      body['@Microsoft.Dynamics.CRM.fetchxmlpagingcookie'] =
        `<cookie pagenumber="${page + 1}" pagingcookie="${encodeURIComponent(encodeURIComponent(`<cookie page="${page}"><${entity.primaryIdAttribute} last="{${id}}" /></cookie>`))}" istracking="False" />`;
    }
  }
  return jsonResponse(200, body);
}

export type { SqlValue };
