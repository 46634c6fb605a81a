// Runs a parsed query in SQL: WHERE from $filter (plus a base condition), ORDER BY with the primary key as the final
// tie-breaker, keyset paging (the skip token holds the last row's sort values, so every row is returned exactly once
// even while rows are inserted or deleted between pages), and $expand.
import { DataverseErrors } from '../core/errors';
import type { Engine } from '../core/engine';
import type { RequestContext } from '../core/protocol';
import type { SqlValue, StoredRow } from '../core/values';
import { rowToJson, type AnnotationOptions } from '../core/serialize';
import type { AttributeDef, EntityDef } from '../metadata/model';
import { quoteIdent } from '../persistence/store';
import type { SqlFragment } from './conditions';
import { filterToSql } from './filterSql';
import type { OrderBy, QueryOptions } from './options';

/** Dataverse caps $count at 5,000 (Microsoft Learn: "Count number of rows"). */
export const COUNT_LIMIT = 5000;

export interface PageResult {
  rows: StoredRow[];
  nextSkipToken?: string;
  count?: number;
  countLimitExceeded?: boolean;
}

interface PagingState {
  page: number;
  last: SqlValue[];
}

function encodeSkipToken(state: PagingState): string {
  const cookie = Buffer.from(JSON.stringify({ k: state.last }), 'utf8').toString('base64url');
  // Same outer shape as Dataverse's paging cookie; the inner cookie is this emulator's keyset.
  return `<cookie pagenumber="${state.page}" pagingcookie="${cookie}" istracking="False" />`;
}

function decodeSkipToken(token: string, orderLength: number): PagingState {
  const m = /^<cookie pagenumber="(\d+)" pagingcookie="([A-Za-z0-9_-]*)" istracking="(?:True|False)" \/>$/.exec(token);
  if (!m) throw DataverseErrors.queryOption(`The skip token '${token}' is not valid.`);
  try {
    const parsed = JSON.parse(Buffer.from(m[2] as string, 'base64url').toString('utf8')) as { k?: unknown };
    if (!Array.isArray(parsed.k) || parsed.k.length !== orderLength) throw new Error('shape');
    return { page: Number(m[1]), last: parsed.k as SqlValue[] };
  } catch {
    throw DataverseErrors.queryOption(`The skip token '${token}' is not valid.`);
  }
}

export function orderWithKey(entity: EntityDef, orderBy: readonly OrderBy[]): OrderBy[] {
  const pk = entity.attributes.get(entity.primaryIdAttribute) as AttributeDef;
  return orderBy.some((o) => o.attr === pk) ? [...orderBy] : [...orderBy, { attr: pk, desc: false }];
}

/** Rows strictly after `last` in the given order (SQLite sorts NULL first ascending, last descending, as SQL Server does). */
function keysetAfter(order: readonly OrderBy[], last: readonly SqlValue[]): SqlFragment {
  const ors: string[] = [];
  const params: SqlValue[] = [];
  for (let i = 0; i < order.length; i++) {
    const parts: string[] = [];
    const p: SqlValue[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${quoteIdent((order[j] as OrderBy).attr.logicalName)} IS ?`);
      p.push(last[j] ?? null);
    }
    const o = order[i] as OrderBy;
    const c = quoteIdent(o.attr.logicalName);
    const v = last[i] ?? null;
    if (!o.desc) {
      if (v === null) parts.push(`${c} IS NOT NULL`);
      else {
        parts.push(`${c} > ?`);
        p.push(v);
      }
    } else {
      if (v === null) continue; // nothing sorts after NULL in descending order
      parts.push(`(${c} < ? OR ${c} IS NULL)`);
      p.push(v);
    }
    ors.push(`(${parts.join(' AND ')})`);
    params.push(...p);
  }
  return ors.length === 0 ? { sql: '0', params: [] } : { sql: `(${ors.join(' OR ')})`, params };
}

function and(parts: readonly (SqlFragment | undefined)[]): SqlFragment {
  const present = parts.filter((p): p is SqlFragment => p !== undefined);
  if (present.length === 0) return { sql: '1', params: [] };
  return { sql: present.map((p) => `(${p.sql})`).join(' AND '), params: present.flatMap((p) => p.params) };
}

export interface ExecuteOptions {
  base?: SqlFragment;
  pageSize: number;
  skipToken?: string;
  /** Join used by N:N expansion/navigation: `JOIN intersect ON ...`. */
  join?: string;
}

export function executeQuery(engine: Engine, ctx: RequestContext, entity: EntityDef, options: QueryOptions, exec: ExecuteOptions): PageResult {
  const table = quoteIdent(entity.logicalName);
  const where = and([
    exec.base,
    options.filter ? filterToSql({ entity, now: ctx.now, userId: ctx.userId, alias: exec.join ? entity.logicalName : undefined }, options.filter) : undefined,
  ]);
  const order = orderWithKey(entity, options.orderBy);
  const paged = options.top === undefined;
  let state: PagingState = { page: 1, last: [] };
  let keyset: SqlFragment | undefined;
  if (paged && exec.skipToken) {
    state = decodeSkipToken(exec.skipToken, order.length);
    keyset = keysetAfter(order, state.last);
  }
  const limit = paged ? exec.pageSize + 1 : Math.min(options.top ?? exec.pageSize, engine.settings.maxPageSize);
  const full = and([where, keyset]);
  const from = exec.join ? `${table} ${exec.join}` : table;
  const orderSql = order.map((o) => `${table}.${quoteIdent(o.attr.logicalName)} ${o.desc ? 'DESC' : 'ASC'}`).join(', ');
  const sql = `SELECT ${table}.* FROM ${from} WHERE ${full.sql} ORDER BY ${orderSql} LIMIT ${limit}`;
  let rows = engine.store.all(sql, full.params);
  let nextSkipToken: string | undefined;
  if (paged && rows.length > exec.pageSize) {
    rows = rows.slice(0, exec.pageSize);
    const lastRow = rows[rows.length - 1] as StoredRow;
    nextSkipToken = encodeSkipToken({ page: state.page + 1, last: order.map((o) => lastRow[o.attr.logicalName] ?? null) });
  }
  ctx.cost.recordsRead += rows.length;
  const result: PageResult = { rows, nextSkipToken };
  if (options.count) {
    const c = engine.store.all(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${from} WHERE ${where.sql} LIMIT ${COUNT_LIMIT + 1})`, where.params)[0] as { n: number };
    // Counting reads the matching rows (up to the 5,000 cap and one more), on top of the page returned.
    ctx.cost.recordsRead += c.n;
    result.count = Math.min(c.n, COUNT_LIMIT);
    result.countLimitExceeded = c.n > COUNT_LIMIT;
  }
  return result;
}

/** Serialises rows with their $expand'ed related rows. */
export function serializeRows(
  engine: Engine,
  ctx: RequestContext,
  entity: EntityDef,
  rows: readonly StoredRow[],
  options: QueryOptions,
  annotations: AnnotationOptions,
): Record<string, unknown>[] {
  return rows.map((row) => {
    const json = rowToJson(entity, row, options.select, annotations);
    for (const item of options.expand) {
      const nav = item.nav;
      const id = row[entity.primaryIdAttribute] as string;
      if (nav.kind === 'lookup') {
        const refId = row[nav.attr.logicalName];
        const related = typeof refId === 'string' ? engine.store.get(nav.target, refId) : undefined;
        if (related) ctx.cost.recordsRead++;
        json[item.name] = related ? rowToJson(nav.target, related, item.options.select, annotations) : null;
        continue;
      }
      let base: SqlFragment;
      let join: string | undefined;
      if (nav.kind === 'oneToMany') {
        base = { sql: `${quoteIdent(nav.target.logicalName)}.${quoteIdent(nav.rel.referencingAttribute)} = ?`, params: [id] };
      } else {
        const selfCol = nav.self === 'entity1' ? nav.rel.entity1Attribute : nav.rel.entity2Attribute;
        const otherCol = nav.self === 'entity1' ? nav.rel.entity2Attribute : nav.rel.entity1Attribute;
        const it = quoteIdent(nav.rel.intersectTable);
        join = `JOIN ${it} ON ${it}.${quoteIdent(otherCol)} = ${quoteIdent(nav.target.logicalName)}.${quoteIdent(nav.target.primaryIdAttribute)}`;
        base = { sql: `${it}.${quoteIdent(selfCol)} = ?`, params: [id] };
      }
      const page = executeQuery(engine, ctx, nav.target, { ...item.options, count: false }, { base, join, pageSize: engine.settings.maxPageSize });
      json[item.name] = serializeRows(engine, ctx, nav.target, page.rows, item.options, annotations);
    }
    return json;
  });
}
