// Evaluates a parsed SQL filter against a message with Service Bus's semantics: three-valued logic (a missing user
// property is "unknown"), Int64 and Double numbers with C#-style promotion, `+` concatenating strings, LIKE with % _
// and ESCAPE (matched without regular expressions, so a hostile pattern costs O(pattern x value) at worst).
import { randomUUID } from 'node:crypto';
import { parseSqlFilter, SqlSyntaxError, type SqlConstant, type SqlNode } from './sqlSyntax';
import { lookupSystemProperty, type FilterableMessage } from './systemProperties';

/** A value during evaluation; `undefined` is SQL's "unknown". Values of other AMQP types are opaque. */
export type SqlValue = SqlConstant | { type: 'other' } | undefined;

/** An operation Service Bus would raise a FilterException for (type mismatch, division by zero). */
export class FilterEvaluationError extends Error {
  override readonly name = 'FilterEvaluationError';
}

const fail = (message: string): never => {
  throw new FilterEvaluationError(message);
};

/** Converts an application property as the AMQP codec decoded it. */
export function toSqlValue(raw: unknown): SqlValue {
  if (raw === null) return { type: 'null' };
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return { type: 'string', value: raw };
  if (typeof raw === 'boolean') return { type: 'boolean', value: raw };
  if (typeof raw === 'bigint') return { type: 'long', value: BigInt.asIntN(64, raw) };
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? { type: 'long', value: BigInt(raw) } : { type: 'double', value: raw };
  return { type: 'other' };
}

/** The value a rule action writes back into application properties (Int64 beyond 2^53 stays a bigint). */
export function fromSqlValue(value: SqlValue): unknown {
  if (value === undefined || value.type === 'null' || value.type === 'other') return null;
  if (value.type === 'long') return value.value >= BigInt(Number.MIN_SAFE_INTEGER) && value.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value.value) : value.value;
  return value.value;
}

function userProperty(message: FilterableMessage, name: string): { exists: boolean; value: SqlValue } {
  const props = message.applicationProperties ?? {};
  if (Object.prototype.hasOwnProperty.call(props, name)) return { exists: true, value: toSqlValue(props[name]) };
  // Property names are case-insensitive in Service Bus filters.
  const lower = name.toLowerCase();
  for (const key of Object.keys(props)) if (key.toLowerCase() === lower) return { exists: true, value: toSqlValue(props[key]) };
  return { exists: false, value: undefined };
}

function systemProperty(message: FilterableMessage, name: string): SqlValue {
  const found = lookupSystemProperty(name);
  if (!found.ok) return fail(found.reason);
  const raw = message[found.field];
  if (raw === undefined) return { type: 'null' };
  return typeof raw === 'number' ? { type: 'long', value: BigInt(raw) } : { type: 'string', value: raw };
}

type PropertyRef = { scope: 'sys' | 'user'; name: string };

function resolveReference(node: SqlNode, message: FilterableMessage): PropertyRef {
  if (node.kind === 'property') return { scope: node.scope, name: node.name };
  if (node.kind === 'propertyFunction') {
    const name = evaluate(node.name, message);
    if (name?.type !== 'string') return fail('property(name) needs a string name');
    const match = /^(sys|user)\.(.+)$/i.exec(name.value);
    return match ? { scope: match[1]!.toLowerCase() as 'sys' | 'user', name: match[2]! } : { scope: 'user', name: name.value };
  }
  return fail('a property reference was expected');
}

function readProperty(ref: PropertyRef, message: FilterableMessage): { exists: boolean; value: SqlValue } {
  if (ref.scope === 'user') return userProperty(message, ref.name);
  const value = systemProperty(message, ref.name);
  return { exists: value !== undefined && value.type !== 'null', value };
}

const isNumber = (v: SqlValue): v is Extract<SqlConstant, { type: 'long' | 'double' }> => v?.type === 'long' || v?.type === 'double';
const asDouble = (v: Extract<SqlConstant, { type: 'long' | 'double' }>): number => (v.type === 'long' ? Number(v.value) : v.value);
const bool = (value: boolean): SqlValue => ({ type: 'boolean', value });

function text(v: Exclude<SqlValue, undefined>): string {
  switch (v.type) {
    case 'string':
      return v.value;
    case 'long':
      return v.value.toString();
    case 'double':
      return String(v.value);
    case 'boolean':
      return v.value ? 'True' : 'False';
    default:
      return '';
  }
}

function arithmetic(op: '+' | '-' | '*' | '/' | '%', a: SqlValue, b: SqlValue): SqlValue {
  if (a === undefined || b === undefined || a.type === 'null' || b.type === 'null') return undefined;
  if (op === '+' && (a.type === 'string' || b.type === 'string')) return { type: 'string', value: text(a) + text(b) };
  if (!isNumber(a) || !isNumber(b)) return fail(`operator '${op}' cannot be applied to ${a.type} and ${b.type}`);
  if (a.type === 'long' && b.type === 'long') {
    const [x, y] = [a.value, b.value];
    if ((op === '/' || op === '%') && y === 0n) return fail('division by zero');
    const result = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
    return { type: 'long', value: BigInt.asIntN(64, result) }; // unchecked Int64, as C#
  }
  const [x, y] = [asDouble(a), asDouble(b)];
  const result = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
  return { type: 'double', value: result };
}

/** -1, 0 or 1; throws for types C# cannot compare. */
function order(op: string, a: Exclude<SqlValue, undefined>, b: Exclude<SqlValue, undefined>): number {
  if (isNumber(a) && isNumber(b)) {
    if (a.type === 'long' && b.type === 'long') return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
    const [x, y] = [asDouble(a), asDouble(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const equalityOnly = op === '=' || op === '<>';
  if (a.type === 'string' && b.type === 'string') {
    if (!equalityOnly) return fail(`operator '${op}' cannot be applied to two strings`);
    return a.value === b.value ? 0 : 1; // ordinal, case-sensitive
  }
  if (a.type === 'boolean' && b.type === 'boolean' && equalityOnly) return a.value === b.value ? 0 : 1;
  return fail(`operator '${op}' cannot be applied to ${a.type} and ${b.type}`);
}

function compare(op: string, a: SqlValue, b: SqlValue): SqlValue {
  if (a === undefined || b === undefined || a.type === 'null' || b.type === 'null') return undefined;
  const c = order(op, a, b);
  switch (op) {
    case '=':
      return bool(c === 0);
    case '<>':
      return bool(c !== 0);
    case '<':
      return bool(c < 0);
    case '<=':
      return bool(c <= 0);
    case '>':
      return bool(c > 0);
    default:
      return bool(c >= 0);
  }
}

/** SQL LIKE: % any run, _ one character, `escape` makes the next character literal. Iterative, no backtracking blow-up. */
export function like(value: string, pattern: string, escape?: string): boolean {
  // Compile to tokens: a literal character, '_' (any one) or '%' (any run).
  const parts: Array<{ any?: 'one' | 'run'; char?: string }> = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (escape !== undefined && c === escape) {
      const next = pattern[i + 1];
      if (next === undefined) return fail('the LIKE pattern ends with its escape character');
      parts.push({ char: next });
      i++;
    } else if (c === '%') parts.push({ any: 'run' });
    else if (c === '_') parts.push({ any: 'one' });
    else parts.push({ char: c });
  }
  const chars = [...value];
  let v = 0;
  let p = 0;
  let starP = -1;
  let starV = 0;
  while (v < chars.length) {
    const part = parts[p];
    if (part && (part.any === 'one' || (part.char !== undefined && part.char === chars[v]))) {
      v++;
      p++;
    } else if (part?.any === 'run') {
      starP = p++;
      starV = v;
    } else if (starP >= 0) {
      p = starP + 1;
      v = ++starV;
    } else return false;
  }
  while (parts[p]?.any === 'run') p++;
  return p === parts.length;
}

function truth(v: SqlValue, what: string): boolean | undefined {
  if (v === undefined || v.type === 'null') return undefined;
  if (v.type !== 'boolean') return fail(`${what} needs a boolean operand, got ${v.type}`);
  return v.value;
}

function stringOperand(v: SqlValue, what: string): string | undefined {
  if (v === undefined || v.type === 'null') return undefined;
  if (v.type !== 'string') return fail(`${what} must be a string, got ${v.type}`);
  return v.value;
}

/** Evaluates any node; predicates yield booleans. Throws FilterEvaluationError where Service Bus would. */
export function evaluate(node: SqlNode, message: FilterableMessage): SqlValue {
  switch (node.kind) {
    case 'constant':
      return node.value;
    case 'property':
    case 'propertyFunction':
      return readProperty(resolveReference(node, message), message).value;
    case 'newid':
      return { type: 'string', value: randomUUID() };
    case 'plus':
    case 'negate': {
      const v = evaluate(node.operand, message);
      if (v === undefined || v.type === 'null') return undefined;
      if (!isNumber(v)) return fail(`unary '${node.kind === 'plus' ? '+' : '-'}' cannot be applied to ${v.type}`);
      if (node.kind === 'plus') return v;
      return v.type === 'long' ? { type: 'long', value: BigInt.asIntN(64, -v.value) } : { type: 'double', value: -v.value };
    }
    case 'arithmetic':
      return arithmetic(node.op, evaluate(node.left, message), evaluate(node.right, message));
    case 'compare':
      return compare(node.op, evaluate(node.left, message), evaluate(node.right, message));
    case 'and': {
      const a = truth(evaluate(node.left, message), 'AND');
      if (a === false) return bool(false);
      const b = truth(evaluate(node.right, message), 'AND');
      if (b === false) return bool(false);
      return a === true && b === true ? bool(true) : undefined;
    }
    case 'or': {
      const a = truth(evaluate(node.left, message), 'OR');
      if (a === true) return bool(true);
      const b = truth(evaluate(node.right, message), 'OR');
      if (b === true) return bool(true);
      return a === false && b === false ? bool(false) : undefined;
    }
    case 'not': {
      const a = truth(evaluate(node.operand, message), 'NOT');
      return a === undefined ? undefined : bool(!a);
    }
    case 'isNull': {
      const { exists, value } = readProperty(resolveReference(node.property, message), message);
      const isNull = !exists || value === undefined || value.type === 'null';
      return bool(node.negated ? !isNull : isNull);
    }
    case 'exists':
      return bool(readProperty(resolveReference(node.property, message), message).exists);
    case 'in': {
      const operand = evaluate(node.operand, message);
      if (operand === undefined || operand.type === 'null') return undefined;
      let found = false;
      for (const item of node.list) {
        const candidate = evaluate(item, message);
        if (candidate === undefined || candidate.type === 'null') continue;
        try {
          if (order('=', operand, candidate) === 0) {
            found = true;
            break;
          }
        } catch {
          // A candidate of another type is simply not equal.
        }
      }
      return bool(node.negated ? !found : found);
    }
    case 'like': {
      const value = stringOperand(evaluate(node.operand, message), 'the LIKE operand');
      const pattern = stringOperand(evaluate(node.pattern, message), 'the LIKE pattern');
      let escape: string | undefined;
      if (node.escape) {
        escape = stringOperand(evaluate(node.escape, message), 'the ESCAPE character');
        if (escape === undefined) return undefined;
        if ([...escape].length !== 1) return fail('the ESCAPE character must be a string of length 1');
      }
      if (value === undefined || pattern === undefined) return undefined;
      const matched = like(value, pattern, escape);
      return bool(node.negated ? !matched : matched);
    }
  }
}

/** Walks the tree once at creation: every `sys.` name must be one Service Bus has and the emulator evaluates. */
export function checkSystemProperties(node: SqlNode | undefined, visit?: (name: string) => void): void {
  if (!node) return;
  switch (node.kind) {
    case 'property':
      if (node.scope === 'sys') {
        const found = lookupSystemProperty(node.name);
        if (!found.ok) throw new SqlSyntaxError(0, `sys.${node.name}`, found.reason);
        visit?.(node.name);
      }
      return;
    case 'propertyFunction':
      return checkSystemProperties(node.name, visit);
    case 'plus':
    case 'negate':
    case 'not':
      return checkSystemProperties(node.operand, visit);
    case 'arithmetic':
    case 'compare':
    case 'and':
    case 'or':
      checkSystemProperties(node.left, visit);
      return checkSystemProperties(node.right, visit);
    case 'isNull':
    case 'exists':
      return checkSystemProperties(node.property, visit);
    case 'in':
      checkSystemProperties(node.operand, visit);
      for (const item of node.list) checkSystemProperties(item, visit);
      return;
    case 'like':
      checkSystemProperties(node.operand, visit);
      checkSystemProperties(node.pattern, visit);
      return checkSystemProperties(node.escape, visit);
    default:
      return;
  }
}

export interface CompiledSqlFilter {
  readonly expression: string;
  /** True only when the condition is TRUE; unknown and FALSE select nothing. Throws FilterEvaluationError. */
  matches(message: FilterableMessage): boolean;
}

/** Parses and checks a SQL filter; throws SqlSyntaxError with Service Bus's wording when it is refused. */
export function compileSqlFilter(expression: string): CompiledSqlFilter {
  const tree = parseSqlFilter(expression);
  checkSystemProperties(tree);
  return {
    expression,
    matches(message) {
      return truth(evaluate(tree, message), 'a filter') === true;
    },
  };
}
