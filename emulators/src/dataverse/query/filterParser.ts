// Recursive-descent parser for the OData $filter subset Dataverse supports: comparisons (eq ne gt ge lt le), and/or/not,
// parentheses, null, contains/startswith/endswith, and the Microsoft.Dynamics.CRM query functions (In, Between,
// OlderThanXDays, LastXHours, ...). Syntax errors carry the position, as Dataverse's "Syntax error at position N in '...'".
// (Microsoft Learn: "Filter rows" / "Query data using the Web API" and "Web API Query Function Reference".)
import { DataverseErrors } from '../core/errors';

export type LiteralEdm = 'Edm.String' | 'Edm.Int32' | 'Edm.Int64' | 'Edm.Decimal' | 'Edm.Boolean' | 'Edm.Guid' | 'Edm.DateTimeOffset' | 'Edm.Date' | 'null';

export interface LiteralNode {
  kind: 'literal';
  value: string | number | boolean | null;
  edm: LiteralEdm;
  pos: number;
}
export interface PropertyNode {
  kind: 'property';
  name: string;
  pos: number;
}
export type ValueNode = LiteralNode | PropertyNode;
export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterNode =
  | { kind: 'logical'; op: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; op: CompareOp; left: ValueNode; right: ValueNode; pos: number }
  | { kind: 'call'; name: 'contains' | 'startswith' | 'endswith'; property: PropertyNode; value: ValueNode; pos: number }
  | { kind: 'crm'; name: string; params: ReadonlyMap<string, LiteralNode | LiteralNode[]>; pos: number }
  | PropertyNode;

type Token =
  | { t: 'punct'; v: '(' | ')' | ',' | '[' | ']' | '='; pos: number }
  | { t: 'ident'; v: string; pos: number }
  | { t: 'literal'; lit: LiteralNode; pos: number }
  | { t: 'end'; pos: number };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT:])/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDlL]?/;
const IDENT = /^[A-Za-z_$][A-Za-z0-9_./$]*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '[' || c === ']' || c === '=') {
      tokens.push({ t: 'punct', v: c, pos: i });
      i++;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= text.length) throw DataverseErrors.querySyntax(i, text);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j++;
      }
      tokens.push({ t: 'literal', lit: { kind: 'literal', value, edm: 'Edm.String', pos: i }, pos: i });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    let m = GUID.exec(rest);
    if (m && !/[0-9a-zA-Z]/.test(rest[m[0].length] ?? '')) {
      tokens.push({ t: 'literal', lit: { kind: 'literal', value: m[0].toLowerCase(), edm: 'Edm.Guid', pos: i }, pos: i });
      i += m[0].length;
      continue;
    }
    m = DATETIME.exec(rest);
    if (m) {
      tokens.push({ t: 'literal', lit: { kind: 'literal', value: m[0], edm: 'Edm.DateTimeOffset', pos: i }, pos: i });
      i += m[0].length;
      continue;
    }
    m = DATE.exec(rest);
    if (m) {
      tokens.push({ t: 'literal', lit: { kind: 'literal', value: m[0], edm: 'Edm.Date', pos: i }, pos: i });
      i += m[0].length;
      continue;
    }
    m = NUMBER.exec(rest);
    if (m) {
      const raw = m[0].replace(/[mMdDlL]$/, '');
      const isInt = /^-?\d+$/.test(raw);
      const n = Number(raw);
      const edm: LiteralEdm = isInt ? (Math.abs(n) > 2147483647 ? 'Edm.Int64' : 'Edm.Int32') : 'Edm.Decimal';
      tokens.push({ t: 'literal', lit: { kind: 'literal', value: n, edm, pos: i }, pos: i });
      i += m[0].length;
      continue;
    }
    m = IDENT.exec(rest);
    if (m) {
      const word = m[0];
      if (word === 'true' || word === 'false') {
        tokens.push({ t: 'literal', lit: { kind: 'literal', value: word === 'true', edm: 'Edm.Boolean', pos: i }, pos: i });
      } else if (word === 'null') {
        tokens.push({ t: 'literal', lit: { kind: 'literal', value: null, edm: 'null', pos: i }, pos: i });
      } else {
        tokens.push({ t: 'ident', v: word, pos: i });
      }
      i += word.length;
      continue;
    }
    throw DataverseErrors.querySyntax(i, text);
  }
  tokens.push({ t: 'end', pos: text.length });
  return tokens;
}

const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const STRING_FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);
export const CRM_PREFIX = 'Microsoft.Dynamics.CRM.';
/** Parentheses and `not` nested deeper than this are refused (400), long before the recursion could exhaust the stack. */
export const MAX_FILTER_DEPTH = 100;

/**
 * A chain of one operator as a balanced tree (and/or are associative): `a and b and ... ` with thousands of terms stays
 * a few levels deep, for the recursive SQL translation and for SQLite's expression depth limit (1,000).
 */
function balanced(op: 'and' | 'or', terms: readonly FilterNode[]): FilterNode {
  if (terms.length === 1) return terms[0] as FilterNode;
  const mid = Math.ceil(terms.length / 2);
  return { kind: 'logical', op, left: balanced(op, terms.slice(0, mid)), right: balanced(op, terms.slice(mid)) };
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }
  private next(): Token {
    return this.tokens[this.i++] as Token;
  }
  private fail(tok: Token = this.peek()): never {
    throw DataverseErrors.querySyntax(tok.pos, this.text);
  }
  private isWord(word: string): boolean {
    const t = this.peek();
    return t.t === 'ident' && t.v === word;
  }
  private expect(v: '(' | ')' | ',' | '[' | ']' | '='): void {
    const t = this.next();
    if (t.t !== 'punct' || t.v !== v) this.fail(t);
  }

  parse(): FilterNode {
    const node = this.or();
    if (this.peek().t !== 'end') this.fail();
    return node;
  }

  private or(): FilterNode {
    const terms = [this.and()];
    while (this.isWord('or')) {
      this.next();
      terms.push(this.and());
    }
    return balanced('or', terms);
  }

  private and(): FilterNode {
    const terms = [this.unary()];
    while (this.isWord('and')) {
      this.next();
      terms.push(this.unary());
    }
    return balanced('and', terms);
  }

  /** Runs one level of nesting (a parenthesis or a `not`), within MAX_FILTER_DEPTH. */
  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_FILTER_DEPTH) throw DataverseErrors.queryTooDeep('$filter', MAX_FILTER_DEPTH);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private unary(): FilterNode {
    if (this.isWord('not')) {
      this.next();
      return { kind: 'not', operand: this.nested(() => this.unary()) };
    }
    return this.comparison();
  }

  private comparison(): FilterNode {
    const start = this.peek();
    if (start.t === 'punct' && start.v === '(') {
      this.next();
      const inner = this.nested(() => this.or());
      this.expect(')');
      return inner;
    }
    const left = this.primary();
    if ('kind' in left && left.kind !== 'literal' && left.kind !== 'property') return left;
    const opTok = this.peek();
    if (opTok.t === 'ident' && COMPARE_OPS.has(opTok.v)) {
      this.next();
      const right = this.primary();
      if (right.kind !== 'literal' && right.kind !== 'property') this.fail(opTok);
      return { kind: 'compare', op: opTok.v as CompareOp, left: left as ValueNode, right, pos: opTok.pos };
    }
    if (left.kind === 'property') return left;
    return this.fail(opTok);
  }

  private primary(): FilterNode | ValueNode {
    const t = this.next();
    if (t.t === 'literal') return t.lit;
    if (t.t !== 'ident') return this.fail(t);
    const after = this.peek();
    if (after.t === 'punct' && after.v === '(') {
      if (STRING_FUNCTIONS.has(t.v)) return this.stringFunction(t.v as 'contains', t.pos);
      if (t.v.startsWith(CRM_PREFIX)) return this.crmFunction(t.v.slice(CRM_PREFIX.length), t.pos);
      throw DataverseErrors.queryOption(`An unknown function with name '${t.v}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`);
    }
    if (t.v.includes('/')) throw DataverseErrors.notSupported(`Filtering on the navigation path '${t.v}' in this emulator`);
    return { kind: 'property', name: t.v, pos: t.pos };
  }

  private stringFunction(name: 'contains' | 'startswith' | 'endswith', pos: number): FilterNode {
    this.expect('(');
    const prop = this.next();
    if (prop.t !== 'ident') this.fail(prop);
    this.expect(',');
    const value = this.next();
    if (value.t !== 'literal') this.fail(value);
    this.expect(')');
    return { kind: 'call', name, property: { kind: 'property', name: prop.v, pos: prop.pos }, value: value.lit, pos };
  }

  private crmFunction(name: string, pos: number): FilterNode {
    this.expect('(');
    const params = new Map<string, LiteralNode | LiteralNode[]>();
    if (!(this.peek().t === 'punct' && (this.peek() as { v: string }).v === ')')) {
      for (;;) {
        const key = this.next();
        if (key.t !== 'ident') this.fail(key);
        this.expect('=');
        const v = this.peek();
        if (v.t === 'punct' && v.v === '[') {
          this.next();
          const list: LiteralNode[] = [];
          while (!(this.peek().t === 'punct' && (this.peek() as { v: string }).v === ']')) {
            const item = this.next();
            if (item.t !== 'literal') this.fail(item);
            list.push(item.lit);
            const sep = this.peek();
            if (sep.t === 'punct' && sep.v === ',') this.next();
            else if (!(sep.t === 'punct' && sep.v === ']')) this.fail(sep);
          }
          this.next();
          params.set(key.v, list);
        } else {
          const item = this.next();
          if (item.t !== 'literal') this.fail(item);
          params.set(key.v, item.lit);
        }
        const sep = this.peek();
        if (sep.t === 'punct' && sep.v === ',') {
          this.next();
          continue;
        }
        break;
      }
    }
    this.expect(')');
    return { kind: 'crm', name, params, pos };
  }
}

export function parseFilter(text: string): FilterNode {
  if (text.trim().length === 0) throw DataverseErrors.querySyntax(0, text);
  return new Parser(tokenize(text), text).parse();
}
