// One condition model for the three ways callers express a query ($filter, FetchXML, QueryExpression in BulkDelete),
// translated to SQL over the table's columns. Operator names are FetchXML's (the most complete list); the other two
// front ends map onto them. Date operators follow the ConditionOperator reference on Microsoft Learn, evaluated in UTC.
import { DataverseErrors } from '../core/errors';
import { boundDateTime, isGuid, parseDateTime, type SqlValue } from '../core/values';
import { edmType, type AttributeDef, type EntityDef } from '../metadata/model';
import { quoteIdent } from '../persistence/store';

export type SqlFragment = { sql: string; params: SqlValue[] };

export interface ConditionContext {
  entity: EntityDef;
  now: number;
  userId: string | null;
  /** Table alias or name to qualify columns with. */
  alias?: string;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

const NO_VALUE = new Set(['null', 'not-null', 'today', 'yesterday', 'tomorrow', 'this-week', 'this-month', 'this-year', 'eq-userid', 'ne-userid']);
const SINGLE = new Set(['eq', 'ne', 'neq', 'gt', 'ge', 'lt', 'le', 'like', 'not-like', 'begins-with', 'not-begin-with', 'ends-with', 'not-end-with', 'on', 'on-or-after', 'on-or-before']);
const X_UNITS: Record<string, 'minutes' | 'hours' | 'days' | 'weeks' | 'months' | 'years'> = {
  minutes: 'minutes',
  hours: 'hours',
  days: 'days',
  weeks: 'weeks',
  months: 'months',
  years: 'years',
};

export function isKnownOperator(op: string): boolean {
  if (NO_VALUE.has(op) || SINGLE.has(op) || ['in', 'not-in', 'between', 'not-between'].includes(op)) return true;
  return /^(olderthan|last|next)-x-(minutes|hours|days|weeks|months|years)$/.test(op);
}

function startOfDay(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

function addUnits(ms: number, unit: string, n: number): number {
  const d = new Date(ms);
  switch (unit) {
    case 'minutes':
      return ms + n * MINUTE;
    case 'hours':
      return ms + n * HOUR;
    case 'days':
      return ms + n * DAY;
    case 'weeks':
      return ms + n * 7 * DAY;
    case 'months':
      d.setUTCMonth(d.getUTCMonth() + n);
      return d.getTime();
    default:
      d.setUTCFullYear(d.getUTCFullYear() + n);
      return d.getTime();
  }
}

/** Converts one condition value (a JSON/FetchXML/QueryExpression value) to the stored form of `attr`. */
export function coerceValue(entity: EntityDef, attr: AttributeDef, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  const bad = (): never => {
    throw DataverseErrors.invalidArgument(
      `Condition for attribute '${entity.logicalName}.${attr.logicalName}': expected type '${edmType(attr.type)}' but the value '${String(value)}' cannot be converted.`,
    );
  };
  switch (attr.type) {
    case 'string':
    case 'memo':
    case 'autonumber':
      return typeof value === 'string' || typeof value === 'number' ? String(value) : bad();
    case 'integer':
    case 'bigint':
    case 'picklist':
    case 'state':
    case 'status': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
      return Number.isInteger(n) ? n : bad();
    }
    case 'decimal':
    case 'money': {
      const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
      return Number.isFinite(n) ? n : bad();
    }
    case 'boolean':
      if (typeof value === 'boolean') return value ? 1 : 0;
      if (value === 1 || value === '1' || value === 'true' || value === 'True') return 1;
      if (value === 0 || value === '0' || value === 'false' || value === 'False') return 0;
      return bad();
    case 'datetime': {
      const ms = typeof value === 'string' ? parseDateTime(value) : undefined;
      return ms === undefined ? bad() : boundDateTime(ms);
    }
    default: {
      const s = typeof value === 'string' ? value.replace(/^\{|\}$/g, '') : '';
      return isGuid(s) ? s.toLowerCase() : bad();
    }
  }
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** SQL for `attr <op> values`. */
export function conditionSql(ctx: ConditionContext, attr: AttributeDef, op: string, values: readonly unknown[]): SqlFragment {
  const column = ctx.alias ? `${quoteIdent(ctx.alias)}.${quoteIdent(attr.logicalName)}` : quoteIdent(attr.logicalName);
  const v = (i: number): SqlValue => coerceValue(ctx.entity, attr, values[i]);
  const need = (n: number): void => {
    if (values.length < n) throw DataverseErrors.invalidArgument(`Condition operator '${op}' on '${attr.logicalName}' expects ${n} value(s).`);
  };
  const isDate = attr.type === 'datetime';
  const range = (from: number | undefined, to: number | undefined): SqlFragment => {
    if (!isDate) throw DataverseErrors.invalidArgument(`Condition operator '${op}' is only valid for date and time columns; '${attr.logicalName}' is not one.`);
    // A huge X (LastXDays 99999999999) leaves the calendar: a bad argument, not an invalid Date deeper down.
    for (const bound of [from, to]) {
      if (bound !== undefined && Number.isNaN(new Date(bound).getTime())) {
        throw DataverseErrors.invalidArgument(`Condition operator '${op}' with value '${String(values[0])}' reaches a date outside the supported range.`);
      }
    }
    const parts: string[] = [];
    const params: SqlValue[] = [];
    if (from !== undefined) {
      parts.push(`${column} >= ?`);
      params.push(boundDateTime(from));
    }
    if (to !== undefined) {
      parts.push(`${column} < ?`);
      params.push(boundDateTime(to));
    }
    return { sql: `(${parts.join(' AND ')})`, params };
  };
  const xValue = (): number => {
    need(1);
    const n = Number(values[0]);
    if (!Number.isInteger(n) || n < 0) throw DataverseErrors.invalidArgument(`Condition operator '${op}' expects a whole number of units, got '${String(values[0])}'.`);
    return n;
  };
  switch (op) {
    case 'null':
      return { sql: `${column} IS NULL`, params: [] };
    case 'not-null':
      return { sql: `${column} IS NOT NULL`, params: [] };
    case 'eq':
      need(1);
      return values[0] === null ? { sql: `${column} IS NULL`, params: [] } : { sql: `${column} = ?`, params: [v(0)] };
    case 'ne':
    case 'neq':
      need(1);
      return values[0] === null ? { sql: `${column} IS NOT NULL`, params: [] } : { sql: `${column} <> ?`, params: [v(0)] };
    case 'gt':
      need(1);
      return { sql: `${column} > ?`, params: [v(0)] };
    case 'ge':
      need(1);
      return { sql: `${column} >= ?`, params: [v(0)] };
    case 'lt':
      need(1);
      return { sql: `${column} < ?`, params: [v(0)] };
    case 'le':
      need(1);
      return { sql: `${column} <= ?`, params: [v(0)] };
    case 'like':
    case 'not-like': {
      need(1);
      // FetchXML/QueryExpression LIKE uses % and _ as wildcards, as SQL does.
      return { sql: `${column} ${op === 'like' ? 'LIKE' : 'NOT LIKE'} ?`, params: [String(values[0])] };
    }
    case 'begins-with':
    case 'not-begin-with':
      need(1);
      return { sql: `${column} ${op === 'begins-with' ? '' : 'NOT '}LIKE ? ESCAPE '\\'`, params: [`${escapeLike(String(values[0]))}%`] };
    case 'ends-with':
    case 'not-end-with':
      need(1);
      return { sql: `${column} ${op === 'ends-with' ? '' : 'NOT '}LIKE ? ESCAPE '\\'`, params: [`%${escapeLike(String(values[0]))}`] };
    case 'contains-text':
      need(1);
      return { sql: `${column} LIKE ? ESCAPE '\\'`, params: [`%${escapeLike(String(values[0]))}%`] };
    case 'in':
    case 'not-in': {
      if (values.length === 0) throw DataverseErrors.invalidArgument(`Condition operator '${op}' on '${attr.logicalName}' expects at least one value.`);
      return { sql: `${column} ${op === 'in' ? 'IN' : 'NOT IN'} (${values.map(() => '?').join(', ')})`, params: values.map((_x, i) => v(i)) };
    }
    case 'between':
    case 'not-between':
      need(2);
      return { sql: `${column} ${op === 'between' ? '' : 'NOT '}BETWEEN ? AND ?`, params: [v(0), v(1)] };
    case 'today':
      return range(startOfDay(ctx.now), startOfDay(ctx.now) + DAY);
    case 'yesterday':
      return range(startOfDay(ctx.now) - DAY, startOfDay(ctx.now));
    case 'tomorrow':
      return range(startOfDay(ctx.now) + DAY, startOfDay(ctx.now) + 2 * DAY);
    case 'on':
    case 'on-or-after':
    case 'on-or-before': {
      need(1);
      const ms = typeof values[0] === 'string' ? parseDateTime(values[0]) : undefined;
      if (ms === undefined) throw DataverseErrors.invalidArgument(`Condition operator '${op}' expects a date, got '${String(values[0])}'.`);
      const day = startOfDay(ms);
      if (op === 'on') return range(day, day + DAY);
      return op === 'on-or-after' ? range(day, undefined) : range(undefined, day + DAY);
    }
    case 'eq-userid':
      return ctx.userId ? { sql: `${column} = ?`, params: [ctx.userId] } : { sql: '0', params: [] };
    case 'ne-userid':
      return ctx.userId ? { sql: `(${column} IS NULL OR ${column} <> ?)`, params: [ctx.userId] } : { sql: '1', params: [] };
    default: {
      const m = /^(olderthan|last|next)-x-(minutes|hours|days|weeks|months|years)$/.exec(op);
      if (!m) throw DataverseErrors.invalidArgument(`The condition operator '${op}' is not valid.`);
      const unit = X_UNITS[m[2] as string] as string;
      const n = xValue();
      if (m[1] === 'olderthan') return range(undefined, addUnits(ctx.now, unit, -n));
      // Last/next X hours and minutes are exact; day-based units start or end at midnight (UTC here).
      const exact = unit === 'minutes' || unit === 'hours';
      if (m[1] === 'last') return range(exact ? addUnits(ctx.now, unit, -n) : addUnits(startOfDay(ctx.now), unit, -n), ctx.now + 1);
      return range(ctx.now, exact ? addUnits(ctx.now, unit, n) : addUnits(startOfDay(ctx.now) + DAY, unit, n));
    }
  }
}

/** QueryExpression ConditionOperator names (BulkDelete's QuerySet) mapped to FetchXML operators. */
export function operatorFromQueryExpression(name: string): string {
  const map: Record<string, string> = {
    Equal: 'eq',
    NotEqual: 'ne',
    GreaterThan: 'gt',
    GreaterEqual: 'ge',
    LessThan: 'lt',
    LessEqual: 'le',
    Like: 'like',
    NotLike: 'not-like',
    In: 'in',
    NotIn: 'not-in',
    Between: 'between',
    NotBetween: 'not-between',
    Null: 'null',
    NotNull: 'not-null',
    BeginsWith: 'begins-with',
    DoesNotBeginWith: 'not-begin-with',
    EndsWith: 'ends-with',
    DoesNotEndWith: 'not-end-with',
    Today: 'today',
    Yesterday: 'yesterday',
    Tomorrow: 'tomorrow',
    On: 'on',
    OnOrAfter: 'on-or-after',
    OnOrBefore: 'on-or-before',
    EqualUserId: 'eq-userid',
    NotEqualUserId: 'ne-userid',
  };
  const direct = map[name];
  if (direct) return direct;
  const m = /^(OlderThan|Last|Next)X(Minutes|Hours|Days|Weeks|Months|Years)$/.exec(name);
  if (m) return `${(m[1] as string).toLowerCase()}-x-${(m[2] as string).toLowerCase()}`;
  throw DataverseErrors.invalidArgument(`The condition operator '${name}' is not valid.`);
}
