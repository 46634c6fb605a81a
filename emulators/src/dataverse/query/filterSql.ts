// $filter AST -> SQL, with OData's type checks ("A binary operator with incompatible types was detected ...").
import { DataverseErrors } from '../core/errors';
import { parseDateTime } from '../core/values';
import { edmType, isLookup, type AttributeDef, type EntityDef } from '../metadata/model';
import { conditionSql, type ConditionContext, type SqlFragment } from './conditions';
import { CRM_PREFIX, parseFilter, type FilterNode, type LiteralNode, type PropertyNode, type ValueNode } from './filterParser';

/** Resolves a property name used in a query: a column's logical name or a lookup's `_x_value`. */
export function resolveProperty(entity: EntityDef, name: string): AttributeDef {
  const direct = entity.attributes.get(name);
  if (direct && !isLookup(direct)) return direct;
  const m = /^_(.+)_value$/.exec(name);
  if (m) {
    const lookup = entity.attributes.get(m[1] as string);
    if (lookup && isLookup(lookup)) return lookup;
  }
  throw DataverseErrors.propertyNotFound(name, entity.logicalName);
}

const OP_KIND: Record<string, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};

function compatible(attr: AttributeDef, lit: LiteralNode): boolean {
  if (lit.edm === 'null') return true;
  const t = edmType(attr.type);
  switch (t) {
    case 'Edm.String':
      return lit.edm === 'Edm.String';
    case 'Edm.Int32':
    case 'Edm.Int64':
      return lit.edm === 'Edm.Int32' || lit.edm === 'Edm.Int64';
    case 'Edm.Decimal':
      return lit.edm === 'Edm.Int32' || lit.edm === 'Edm.Int64' || lit.edm === 'Edm.Decimal';
    case 'Edm.Boolean':
      return lit.edm === 'Edm.Boolean';
    case 'Edm.DateTimeOffset':
      return lit.edm === 'Edm.DateTimeOffset' || lit.edm === 'Edm.Date';
    case 'Edm.Guid':
      return lit.edm === 'Edm.Guid';
    default:
      return false;
  }
}

const FLIP: Record<string, string> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };

/** CRM query function name -> FetchXML operator. */
function crmOperator(name: string): string | undefined {
  const map: Record<string, string> = {
    In: 'in',
    NotIn: 'not-in',
    Between: 'between',
    NotBetween: 'not-between',
    Today: 'today',
    Yesterday: 'yesterday',
    Tomorrow: 'tomorrow',
    On: 'on',
    OnOrAfter: 'on-or-after',
    OnOrBefore: 'on-or-before',
    EqualUserId: 'eq-userid',
    NotEqualUserId: 'ne-userid',
  };
  if (map[name]) return map[name];
  const m = /^(OlderThan|Last|Next)X(Minutes|Hours|Days|Weeks|Months|Years)$/.exec(name);
  return m ? `${(m[1] as string).toLowerCase()}-x-${(m[2] as string).toLowerCase()}` : undefined;
}

function literalJs(lit: LiteralNode): unknown {
  return lit.value;
}

export function filterToSql(ctx: ConditionContext, filter: FilterNode): SqlFragment {
  const entity = ctx.entity;
  const visit = (node: FilterNode): SqlFragment => {
    switch (node.kind) {
      case 'logical': {
        const l = visit(node.left);
        const r = visit(node.right);
        return { sql: `(${l.sql} ${node.op === 'and' ? 'AND' : 'OR'} ${r.sql})`, params: [...l.params, ...r.params] };
      }
      case 'not': {
        const inner = visit(node.operand);
        return { sql: `(NOT ${inner.sql})`, params: inner.params };
      }
      case 'property': {
        const attr = resolveProperty(entity, node.name);
        if (attr.type !== 'boolean') throw DataverseErrors.queryOption(`The $filter expression must evaluate to a single boolean value; '${node.name}' is not a boolean property.`);
        return conditionSql(ctx, attr, 'eq', [true]);
      }
      case 'compare': {
        let prop: PropertyNode;
        let lit: LiteralNode;
        let op: string = node.op;
        if (node.left.kind === 'property' && node.right.kind === 'literal') {
          prop = node.left;
          lit = node.right;
        } else if (node.left.kind === 'literal' && node.right.kind === 'property') {
          prop = node.right;
          lit = node.left;
          op = FLIP[op] as string;
        } else {
          throw DataverseErrors.notSupported(comparisonShape(node.left, node.right));
        }
        const attr = resolveProperty(entity, prop.name);
        if (!compatible(attr, lit)) throw DataverseErrors.incompatibleOperands(edmType(attr.type), lit.edm, OP_KIND[node.op] as string);
        if (lit.edm === 'null' && op !== 'eq' && op !== 'ne') return { sql: '0', params: [] };
        return conditionSql(ctx, attr, op, [literalJs(lit)]);
      }
      case 'call': {
        const attr = resolveProperty(entity, node.property.name);
        if (node.value.kind !== 'literal' || node.value.edm !== 'Edm.String' || edmType(attr.type) !== 'Edm.String') {
          throw DataverseErrors.queryOption(
            `No function signature for the function with name '${node.name}' matches the specified arguments. The function signatures considered are: ${node.name}(Edm.String Nullable=true, Edm.String Nullable=true).`,
          );
        }
        const op = node.name === 'contains' ? 'contains-text' : node.name === 'startswith' ? 'begins-with' : 'ends-with';
        return conditionSql(ctx, attr, op, [node.value.value]);
      }
      case 'crm': {
        const op = crmOperator(node.name);
        if (!op) throw DataverseErrors.queryOption(`An unknown function with name '${CRM_PREFIX}${node.name}' was found.`);
        const propertyName = node.params.get('PropertyName');
        if (!propertyName || Array.isArray(propertyName) || typeof propertyName.value !== 'string') {
          throw DataverseErrors.queryOption(`The function '${CRM_PREFIX}${node.name}' requires the parameter 'PropertyName'.`);
        }
        const attr = resolveProperty(entity, propertyName.value);
        const single = node.params.get('PropertyValue');
        const list = node.params.get('PropertyValues');
        const values: unknown[] = [];
        if (Array.isArray(list)) values.push(...list.map(literalJs));
        else if (list) values.push(literalJs(list));
        if (single && !Array.isArray(single)) values.push(literalJs(single));
        // Query functions take string-typed values for every column type (Web API Query Function Reference).
        for (const val of values) {
          if (typeof val === 'string' && attr.type === 'datetime' && parseDateTime(val) === undefined && !/^\d+$/.test(val)) {
            throw DataverseErrors.invalidArgument(`'${val}' is not a valid date and time.`);
          }
        }
        return conditionSql(ctx, attr, op, values);
      }
    }
  };
  return visit(filter);
}

function comparisonShape(l: ValueNode, r: ValueNode): string {
  return `Comparing ${l.kind === 'property' ? `property '${l.name}'` : 'a literal'} with ${r.kind === 'property' ? `property '${r.name}'` : 'a literal'}`;
}

export function compileFilter(ctx: ConditionContext, text: string): SqlFragment {
  return filterToSql(ctx, parseFilter(text));
}
