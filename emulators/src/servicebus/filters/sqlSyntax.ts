// The SQL-92 subset Service Bus documents for subscription rules ("Subscription Rule SQL Filter Syntax" and "SQL Action
// Syntax" on Microsoft Learn): a lexer and a recursive-descent parser that turn a filter or an action into a syntax
// tree. Nothing is ever evaluated as code. Input is bounded before parsing: Service Bus's own length limit (1,024
// characters), a nesting bound and at most 32 action statements, so hostile text costs linear time and a shallow stack.

/** Service Bus quotas: "Maximum length of filter condition string / rule action string: 1,024", "32 expressions per action". */
export const sqlLimits = { maxLength: 1024, maxNesting: 64, maxActionStatements: 32 } as const;

export type SqlScope = 'sys' | 'user';

export type SqlNode =
  | { kind: 'constant'; value: SqlConstant }
  | { kind: 'property'; scope: SqlScope; name: string }
  | { kind: 'newid' }
  | { kind: 'propertyFunction'; name: SqlNode }
  | { kind: 'negate' | 'plus'; operand: SqlNode }
  | { kind: 'arithmetic'; op: '+' | '-' | '*' | '/' | '%'; left: SqlNode; right: SqlNode }
  | { kind: 'compare'; op: '=' | '<>' | '>' | '>=' | '<' | '<='; left: SqlNode; right: SqlNode }
  | { kind: 'and' | 'or'; left: SqlNode; right: SqlNode }
  | { kind: 'not'; operand: SqlNode }
  | { kind: 'isNull'; property: SqlNode; negated: boolean }
  | { kind: 'in'; operand: SqlNode; list: SqlNode[]; negated: boolean }
  | { kind: 'like'; operand: SqlNode; pattern: SqlNode; escape?: SqlNode; negated: boolean }
  | { kind: 'exists'; property: SqlNode };

/** Integer constants are Int64 in Service Bus, decimals and approximate numbers are Double. */
export type SqlConstant =
  | { type: 'long'; value: bigint }
  | { type: 'double'; value: number }
  | { type: 'string'; value: string }
  | { type: 'boolean'; value: boolean }
  | { type: 'null' };

export type SqlActionStatement = { kind: 'set'; property: SqlPropertyNode; value: SqlNode } | { kind: 'remove'; property: SqlPropertyNode };
export type SqlPropertyNode = Extract<SqlNode, { kind: 'property' }>;

/** A refused expression, worded as Service Bus words it ("There was an error parsing the SQL expression. [Token line=…]"). */
export class SqlSyntaxError extends Error {
  override readonly name = 'SqlSyntaxError';
  constructor(
    readonly column: number,
    readonly token: string,
    readonly details: string,
  ) {
    super(`There was an error parsing the SQL expression. [Token line=1, column=${column}, Token in error= ${token}, Additional details= ${details}]`);
  }
}

const keywords = new Set(['AND', 'OR', 'NOT', 'IS', 'NULL', 'IN', 'LIKE', 'ESCAPE', 'EXISTS', 'TRUE', 'FALSE', 'SET', 'REMOVE']);

type TokenKind = 'number' | 'string' | 'identifier' | 'keyword' | 'symbol' | 'end';
interface Token {
  kind: TokenKind;
  /** Keywords upper-cased, identifiers unquoted, strings unescaped. */
  text: string;
  /** What the user wrote, for error messages. */
  raw: string;
  column: number;
  /** Identifier written as [..] or "..": never a keyword or a function name. */
  delimited?: boolean;
}

const isLetter = (c: string): boolean => /\p{L}/u.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentifierPart = (c: string): boolean => c === '_' || /[\p{L}\p{Nd}]/u.test(c);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (column: number, token: string, details: string): never => {
    throw new SqlSyntaxError(column, token, details);
  };
  /** Reads a quoted run where the closing quote is written twice to stand for itself. */
  const quoted = (open: number, close: string, what: string): { value: string; end: number } => {
    let value = '';
    let j = open + 1;
    for (;;) {
      if (j >= text.length) return fail(open, text.slice(open, open + 20), `unterminated ${what}`);
      const c = text[j]!;
      if (c === close) {
        if (text[j + 1] === close) {
          value += close;
          j += 2;
          continue;
        }
        return { value, end: j + 1 };
      }
      value += c;
      j++;
    }
  };
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      const { value, end } = quoted(i, "'", 'string literal');
      tokens.push({ kind: 'string', text: value, raw: text.slice(start, end), column: start });
      i = end;
    } else if (c === '[') {
      const { value, end } = quoted(i, ']', 'delimited identifier');
      if (value.length === 0) fail(start, '[]', 'empty identifier');
      tokens.push({ kind: 'identifier', text: value, raw: text.slice(start, end), column: start, delimited: true });
      i = end;
    } else if (c === '"') {
      const { value, end } = quoted(i, '"', 'quoted identifier');
      if (value.length === 0) fail(start, '""', 'empty identifier');
      tokens.push({ kind: 'identifier', text: value, raw: text.slice(start, end), column: start, delimited: true });
      i = end;
    } else if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      while (isDigit(text[i] ?? '')) i++;
      if (text[i] === '.') {
        i++;
        while (isDigit(text[i] ?? '')) i++;
      }
      if (text[i] === 'e' || text[i] === 'E') {
        let j = i + 1;
        if (text[j] === '+' || text[j] === '-') j++;
        if (!isDigit(text[j] ?? '')) fail(start, text.slice(start, j + 1), 'malformed number');
        while (isDigit(text[j] ?? '')) j++;
        i = j;
      }
      if (isIdentifierPart(text[i] ?? '')) fail(start, text.slice(start, i + 1), 'malformed number');
      tokens.push({ kind: 'number', text: text.slice(start, i), raw: text.slice(start, i), column: start });
    } else if (isLetter(c)) {
      while (i < text.length && isIdentifierPart(text[i]!)) i++;
      const word = text.slice(start, i);
      const upper = word.toUpperCase();
      tokens.push(keywords.has(upper) ? { kind: 'keyword', text: upper, raw: word, column: start } : { kind: 'identifier', text: word, raw: word, column: start });
    } else {
      const two = text.slice(i, i + 2);
      if (two === '<>' || two === '!=' || two === '>=' || two === '<=') {
        tokens.push({ kind: 'symbol', text: two === '!=' ? '<>' : two, raw: two, column: start });
        i += 2;
      } else if ('=<>+-*/%(),.;'.includes(c)) {
        tokens.push({ kind: 'symbol', text: c, raw: c, column: start });
        i++;
      } else {
        fail(start, c, `Unrecognized character. '${c}'`);
      }
    }
  }
  tokens.push({ kind: 'end', text: '', raw: '<end of expression>', column: text.length });
  return tokens;
}

class Parser {
  private position = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  private get current(): Token {
    return this.tokens[this.position]!;
  }

  private fail(details: string, token = this.current): never {
    throw new SqlSyntaxError(token.column, token.raw, details);
  }

  private next(): Token {
    const token = this.current;
    if (token.kind !== 'end') this.position++;
    return token;
  }

  private isSymbol(text: string): boolean {
    return this.current.kind === 'symbol' && this.current.text === text;
  }

  private isKeyword(text: string): boolean {
    return this.current.kind === 'keyword' && this.current.text === text;
  }

  private expectSymbol(text: string): void {
    if (!this.isSymbol(text)) this.fail(`syntax error, expecting '${text}'`);
    this.next();
  }

  /** Every recursion passes through here, so nesting (parentheses, NOT, signs) is bounded. */
  private nested<T>(parse: () => T): T {
    if (++this.depth > sqlLimits.maxNesting) this.fail(`the expression is nested more than ${sqlLimits.maxNesting} levels deep`);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  expectEnd(): void {
    if (this.current.kind !== 'end') this.fail('syntax error, unexpected token after the end of the expression');
  }

  atEnd(): boolean {
    return this.current.kind === 'end';
  }

  // predicate ::= or
  predicate(): SqlNode {
    return this.nested(() => {
      let left = this.conjunction();
      while (this.isKeyword('OR')) {
        this.next();
        left = { kind: 'or', left, right: this.conjunction() };
      }
      return left;
    });
  }

  private conjunction(): SqlNode {
    let left = this.negation();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.negation() };
    }
    return left;
  }

  private negation(): SqlNode {
    if (this.isKeyword('NOT')) {
      this.next();
      return this.nested(() => ({ kind: 'not', operand: this.negation() }));
    }
    return this.comparison();
  }

  private comparison(): SqlNode {
    if (this.isKeyword('EXISTS')) {
      this.next();
      this.expectSymbol('(');
      const property = this.property();
      this.expectSymbol(')');
      return { kind: 'exists', property };
    }
    const left = this.expression();
    const token = this.current;
    if (token.kind === 'symbol' && ['=', '<>', '>', '>=', '<', '<='].includes(token.text)) {
      this.next();
      return { kind: 'compare', op: token.text as Extract<SqlNode, { kind: 'compare' }>['op'], left, right: this.expression() };
    }
    if (this.isKeyword('IS')) {
      if (left.kind !== 'property' && left.kind !== 'propertyFunction') this.fail('syntax error, IS [NOT] NULL applies to a property');
      this.next();
      const negated = this.isKeyword('NOT');
      if (negated) this.next();
      if (!this.isKeyword('NULL')) this.fail('syntax error, expecting NULL');
      this.next();
      return { kind: 'isNull', property: left, negated };
    }
    let negated = false;
    if (this.isKeyword('NOT')) {
      this.next();
      negated = true;
      if (!this.isKeyword('IN') && !this.isKeyword('LIKE')) this.fail('syntax error, expecting IN or LIKE');
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expectSymbol('(');
      const list = [this.expression()];
      while (this.isSymbol(',')) {
        this.next();
        list.push(this.expression());
      }
      this.expectSymbol(')');
      return { kind: 'in', operand: left, list, negated };
    }
    if (this.isKeyword('LIKE')) {
      this.next();
      const pattern = this.expression();
      let escape: SqlNode | undefined;
      if (this.isKeyword('ESCAPE')) {
        this.next();
        escape = this.expression();
      }
      return { kind: 'like', operand: left, pattern, escape, negated };
    }
    return left;
  }

  // expression ::= additive
  expression(): SqlNode {
    return this.nested(() => {
      let left = this.term();
      while (this.isSymbol('+') || this.isSymbol('-')) {
        const op = this.next().text as '+' | '-';
        left = { kind: 'arithmetic', op, left, right: this.term() };
      }
      return left;
    });
  }

  private term(): SqlNode {
    let left = this.unary();
    while (this.isSymbol('*') || this.isSymbol('/') || this.isSymbol('%')) {
      const op = this.next().text as '*' | '/' | '%';
      left = { kind: 'arithmetic', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): SqlNode {
    if (this.isSymbol('-') || this.isSymbol('+')) {
      const sign = this.next().text;
      return this.nested(() => ({ kind: sign === '-' ? 'negate' : 'plus', operand: this.unary() }));
    }
    return this.primary();
  }

  private primary(): SqlNode {
    const token = this.current;
    if (this.isSymbol('(')) {
      this.next();
      const inner = this.predicate();
      this.expectSymbol(')');
      return inner;
    }
    if (token.kind === 'number') {
      this.next();
      return { kind: 'constant', value: numberConstant(token) };
    }
    if (token.kind === 'string') {
      this.next();
      return { kind: 'constant', value: { type: 'string', value: token.text } };
    }
    if (token.kind === 'keyword' && (token.text === 'TRUE' || token.text === 'FALSE')) {
      this.next();
      return { kind: 'constant', value: { type: 'boolean', value: token.text === 'TRUE' } };
    }
    if (token.kind === 'keyword' && token.text === 'NULL') {
      this.next();
      return { kind: 'constant', value: { type: 'null' } };
    }
    if (token.kind === 'identifier' && !token.delimited && this.tokens[this.position + 1]?.text === '(') {
      const name = token.text.toLowerCase();
      if (name === 'newid') {
        this.next();
        this.expectSymbol('(');
        this.expectSymbol(')');
        return { kind: 'newid' };
      }
      if (name === 'property' || name === 'p') {
        this.next();
        this.expectSymbol('(');
        const inner = this.expression();
        this.expectSymbol(')');
        return { kind: 'propertyFunction', name: inner };
      }
      this.fail(`unknown function '${token.text}'`);
    }
    if (token.kind === 'identifier') return this.property();
    return this.fail(token.kind === 'end' ? 'syntax error, unexpected end of expression' : `syntax error, unexpected ${token.kind === 'keyword' ? token.text : `'${token.raw}'`}`);
  }

  /** [sys. | user.] name, names case-insensitive for the scope; delimited names may hold any character. */
  property(): SqlPropertyNode {
    const first = this.current;
    if (first.kind !== 'identifier') this.fail('syntax error, expecting a property name');
    this.next();
    if (this.isSymbol('.') && !first.delimited && ['sys', 'user'].includes(first.text.toLowerCase())) {
      this.next();
      const name = this.current;
      if (name.kind !== 'identifier') this.fail('syntax error, expecting a property name after the scope');
      this.next();
      return { kind: 'property', scope: first.text.toLowerCase() as SqlScope, name: name.text };
    }
    if (this.isSymbol('.')) this.fail("syntax error, the scope of a property must be 'sys' or 'user'", first);
    return { kind: 'property', scope: 'user', name: first.text };
  }

  actionStatements(): SqlActionStatement[] {
    const statements: SqlActionStatement[] = [];
    while (!this.atEnd()) {
      if (statements.length >= sqlLimits.maxActionStatements) this.fail(`an action may hold at most ${sqlLimits.maxActionStatements} statements`);
      if (this.isKeyword('SET')) {
        this.next();
        const property = this.property();
        this.expectSymbol('=');
        statements.push({ kind: 'set', property, value: this.expression() });
      } else if (this.isKeyword('REMOVE')) {
        this.next();
        statements.push({ kind: 'remove', property: this.property() });
      } else {
        this.fail(`syntax error, unexpected ${this.current.kind === 'identifier' ? 'IDENTIFIER' : `'${this.current.raw}'`}, expecting SET, or REMOVE`);
      }
      // Statements are separated by ";" or ","; a trailing ";" is allowed.
      if (this.isSymbol(';') || this.isSymbol(',')) this.next();
      else if (!this.atEnd() && !this.isKeyword('SET') && !this.isKeyword('REMOVE')) this.fail("syntax error, expecting ';'");
    }
    if (statements.length === 0) this.fail('syntax error, expecting SET, or REMOVE');
    return statements;
  }
}

function numberConstant(token: Token): SqlConstant {
  if (/^\d+$/.test(token.text)) {
    const value = BigInt(token.text);
    if (value > 9_223_372_036_854_775_807n) throw new SqlSyntaxError(token.column, token.raw, 'integer constant is out of the Int64 range');
    return { type: 'long', value };
  }
  const value = Number(token.text);
  if (!Number.isFinite(value)) throw new SqlSyntaxError(token.column, token.raw, 'number is out of the Double range');
  return { type: 'double', value };
}

function checkLength(text: string, what: string): void {
  if (text.trim().length === 0) throw new SqlSyntaxError(0, '<empty>', `the ${what} is empty`);
  if (text.length > sqlLimits.maxLength) {
    throw new SqlSyntaxError(sqlLimits.maxLength, text.slice(sqlLimits.maxLength, sqlLimits.maxLength + 20), `the ${what} is ${text.length} characters long; Service Bus allows at most ${sqlLimits.maxLength}`);
  }
}

/** Parses a SQL filter condition into a syntax tree, or throws SqlSyntaxError. */
export function parseSqlFilter(text: string): SqlNode {
  checkLength(text, 'filter expression');
  const parser = new Parser(tokenize(text));
  const tree = parser.predicate();
  parser.expectEnd();
  return tree;
}

/** Parses a SQL rule action (`SET p = expr; REMOVE q`) into its statements, or throws SqlSyntaxError. */
export function parseSqlAction(text: string): SqlActionStatement[] {
  checkLength(text, 'action expression');
  return new Parser(tokenize(text)).actionStatements();
}
