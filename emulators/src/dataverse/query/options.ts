// OData system query options as Dataverse accepts them: $select, $filter, $orderby, $top, $count, $expand (with nested
// $select/$filter/$orderby/$top). $skip is rejected as Dataverse does (paging is by @odata.nextLink only).
import { DataverseErrors } from '../core/errors';
import type { Engine } from '../core/engine';
import { isLookup, type AttributeDef, type EntityDef, type ManyToManyDef, type OneToManyDef } from '../metadata/model';
import { parseFilter, type FilterNode } from './filterParser';
import { resolveProperty } from './filterSql';

export interface OrderBy {
  attr: AttributeDef;
  desc: boolean;
}

export type ExpandTarget =
  | { kind: 'lookup'; attr: AttributeDef; target: EntityDef }
  | { kind: 'oneToMany'; rel: OneToManyDef; target: EntityDef }
  | { kind: 'manyToMany'; rel: ManyToManyDef; self: 'entity1' | 'entity2'; target: EntityDef };

export interface ExpandItem {
  name: string;
  nav: ExpandTarget;
  options: QueryOptions;
}

export interface QueryOptions {
  select?: AttributeDef[];
  /** The $select text as written, for @odata.context. */
  selectText?: string;
  filter?: FilterNode;
  orderBy: OrderBy[];
  top?: number;
  count: boolean;
  expand: ExpandItem[];
}

const SUPPORTED = new Set(['$select', '$filter', '$orderby', '$top', '$count', '$expand', '$skiptoken', '$deltatoken', '$format', '$trackingversion', '$id']);

/** Splits on a separator outside parentheses and quotes. */
export function splitTopLevel(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (ch === sep && depth === 0 && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function parseSelect(entity: EntityDef, text: string): AttributeDef[] {
  return splitTopLevel(text, ',').map((name) => resolveProperty(entity, name));
}

function parseOrderBy(entity: EntityDef, text: string): OrderBy[] {
  return splitTopLevel(text, ',').map((part) => {
    const [name, dir, extra] = part.split(/\s+/);
    if (extra !== undefined || (dir !== undefined && dir !== 'asc' && dir !== 'desc')) {
      throw DataverseErrors.querySyntax(part.indexOf(dir ?? ''), text);
    }
    return { attr: resolveProperty(entity, name as string), desc: dir === 'desc' };
  });
}

function parseTop(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw DataverseErrors.queryOption(`Invalid value '${text}' for $top query option found. The $top query option requires a non-negative integer value.`);
  return Number(text);
}

function resolveNavigation(engine: Engine, entity: EntityDef, name: string): ExpandTarget {
  const lookup = [...entity.attributes.values()].find((a) => isLookup(a) && a.navigationProperty === name);
  if (lookup && lookup.target && engine.schema.hasEntity(lookup.target)) {
    return { kind: 'lookup', attr: lookup, target: engine.schema.entity(lookup.target) };
  }
  const rel = entity.oneToMany.get(name);
  if (rel) return { kind: 'oneToMany', rel, target: engine.schema.entity(rel.referencingEntity) };
  const nn = engine.schema.manyToManyFor(entity.logicalName, name);
  if (nn) {
    const other = nn.self === 'entity1' ? nn.rel.entity2 : nn.rel.entity1;
    return { kind: 'manyToMany', rel: nn.rel, self: nn.self, target: engine.schema.entity(other) };
  }
  throw DataverseErrors.propertyNotFound(name, entity.logicalName);
}

export { resolveNavigation };

function parseExpand(engine: Engine, entity: EntityDef, text: string): ExpandItem[] {
  return splitTopLevel(text, ',').map((item) => {
    const open = item.indexOf('(');
    const name = (open < 0 ? item : item.slice(0, open)).trim();
    const nav = resolveNavigation(engine, entity, name);
    const nested = new URLSearchParams();
    if (open >= 0) {
      if (!item.endsWith(')')) throw DataverseErrors.querySyntax(item.length, text);
      for (const opt of splitTopLevel(item.slice(open + 1, -1), ';')) {
        const eq = opt.indexOf('=');
        if (eq < 0) throw DataverseErrors.querySyntax(0, opt);
        nested.set(opt.slice(0, eq).trim(), opt.slice(eq + 1));
      }
    }
    const options = parseQueryOptions(engine, nav.target, nested);
    if (nav.kind === 'lookup' && (options.filter || options.orderBy.length || options.top !== undefined)) {
      throw DataverseErrors.queryOption(`Only $select is allowed when expanding the single-valued navigation property '${name}'.`);
    }
    return { name, nav, options };
  });
}

export function parseQueryOptions(engine: Engine, entity: EntityDef, query: URLSearchParams): QueryOptions {
  for (const key of query.keys()) {
    if (key === '$skip') throw DataverseErrors.queryOption('The query parameter $skip is not supported');
    if (key.startsWith('$') && !SUPPORTED.has(key)) throw DataverseErrors.queryOption(`The query parameter ${key} is not supported`);
  }
  const select = query.get('$select');
  const filter = query.get('$filter');
  const orderby = query.get('$orderby');
  const top = query.get('$top');
  const count = query.get('$count');
  const expand = query.get('$expand');
  if (count !== null && count !== 'true' && count !== 'false') {
    throw DataverseErrors.queryOption(`'${count}' is not a valid count option.`);
  }
  const options: QueryOptions = {
    select: select !== null ? parseSelect(entity, select) : undefined,
    selectText: select ?? undefined,
    filter: filter !== null ? parseFilter(filter) : undefined,
    orderBy: orderby !== null ? parseOrderBy(entity, orderby) : [],
    top: top !== null ? parseTop(top) : undefined,
    count: count === 'true',
    expand: expand !== null ? parseExpand(engine, entity, expand) : [],
  };
  return options;
}
