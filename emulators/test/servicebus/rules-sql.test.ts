// The SQL filter and action parser and evaluator on their own: the grammar's corners, Service Bus's error wording, and
// hostile text (deep nesting, huge input, unterminated literals, pathological LIKE patterns) refused or handled in
// bounded time without a stack overflow.
import { compileRuleAction } from '../../src/servicebus/filters/ruleAction';
import { compileRule, route, type SubscriptionRule } from '../../src/servicebus/filters/rules';
import { compileSqlFilter, FilterEvaluationError, like } from '../../src/servicebus/filters/sqlFilter';
import { parseSqlAction, parseSqlFilter, SqlSyntaxError, sqlLimits } from '../../src/servicebus/filters/sqlSyntax';
import type { FilterableMessage } from '../../src/servicebus/filters/systemProperties';

const message: FilterableMessage = {
  messageId: 'm-1',
  subject: 'Order.Created',
  to: 'eu',
  sequenceNumber: 42,
  applicationProperties: { qty: 10, price: 2.5, name: "O'Brien", flag: false, nothing: null },
};

function refusal(run: () => unknown): SqlSyntaxError {
  try {
    run();
  } catch (e) {
    if (e instanceof SqlSyntaxError) return e;
    throw new Error(`expected a SqlSyntaxError, got ${String(e)}`);
  }
  throw new Error('expected the expression to be refused');
}

describe('SQL filter syntax', () => {
  it.each([
    ["name = 'O''Brien'", true],
    ['qty * price = 25.0', true],
    ['qty % 3 = 1 AND qty / 3 = 3', true],
    ['sys.SequenceNumber > 41', true],
    ['SYS.label LIKE \'Order.%\'', true],
    ['nothing IS NULL AND EXISTS(nothing) AND NOT EXISTS(absent)', true],
    ['flag = FALSE', true],
    ['qty IN (1, 10.0, 100)', true],
    ['qty NOT IN (1, 2)', true],
    ['(qty > 5 OR absent = 1) AND NOT (qty > 50)', true],
    ['absent = 1 OR absent <> 1', false], // unknown OR unknown
    ['NOT absent = 1', false],
    ['1=1', true],
    ['1=0', false],
    ['sys.MessageId = \'m-1\' AND sys.To = \'eu\'', true],
  ])('%s -> %s', (expression, expected) => {
    expect(compileSqlFilter(expression).matches(message)).toBe(expected);
  });

  it('words a refusal as Service Bus does, with the 0-based column and the token in error', () => {
    const e = refusal(() => parseSqlFilter('qty = = 1'));
    expect(e.message).toBe("There was an error parsing the SQL expression. [Token line=1, column=6, Token in error= =, Additional details= syntax error, unexpected '=']");
    expect(refusal(() => parseSqlFilter('qty @ 1')).message).toContain("Unrecognized character. '@'");
    expect(refusal(() => parseSqlFilter('qty = 1 qty')).message).toContain('unexpected token after the end');
    expect(refusal(() => parseSqlFilter('foo.bar = 1')).details).toMatch(/scope of a property must be 'sys' or 'user'/);
    expect(refusal(() => parseSqlFilter('unknownfn(1) = 1')).details).toMatch(/unknown function/);
    expect(refusal(() => compileSqlFilter('sys.EnqueuedTimeUtc > 1')).details).toMatch(/not evaluated by the emulator/);
    expect(refusal(() => parseSqlFilter('   ')).details).toMatch(/empty/);
  });

  it('LIKE matches % runs, _ single characters and escaped wildcards', () => {
    expect(like('ABC%x', 'ABC\\%%', '\\')).toBe(true);
    expect(like('ABCx', 'ABC\\%%', '\\')).toBe(false);
    expect(like('', '%')).toBe(true);
    expect(like('a', '_')).toBe(true);
    expect(like('ab', '_')).toBe(false);
    expect(like('xaybzc', '%a%b%c')).toBe(true);
    expect(like('😀b', '_b')).toBe(true); // one character, not one UTF-16 unit
    expect(() => like('a', 'a!', '!')).toThrow(FilterEvaluationError);
  });
});

describe('SQL rule actions', () => {
  it('sets and removes user and system properties, later statements seeing earlier ones', () => {
    const edits = compileRuleAction("SET qty = qty / 2; SET total = qty * price; REMOVE name, SET sys.Label = 'routed'; SET sys.To = NULL").apply(message);
    expect(edits).toEqual({ system: { subject: 'routed', to: undefined }, set: { qty: 5, total: 12.5 }, remove: ['name'] });
  });

  it('leaves a property unchanged when set to an unknown value, and refuses read-only or unknown system properties', () => {
    expect(compileRuleAction('SET qty = absent + 1').apply(message).set).toEqual({});
    expect(refusal(() => compileRuleAction('SET sys.SequenceNumber = 1')).details).toMatch(/cannot be set/);
    expect(refusal(() => compileRuleAction('SET sys.Nope = 1')).details).toMatch(/not a system property/);
    expect(() => compileRuleAction('SET sys.To = 5').apply(message)).toThrow(FilterEvaluationError);
    expect(refusal(() => parseSqlAction('qty = 1')).message).toContain('expecting SET, or REMOVE');
  });

  it('routes one plain copy for rules without actions and one copy per rule with an action, naming the rule', () => {
    const rules: SubscriptionRule[] = [
      compileRule({ name: 'a', filter: { kind: 'true' }, createdAt: 0 }),
      compileRule({ name: 'b', filter: { kind: 'sql', expression: 'qty > 1' }, createdAt: 0 }),
      compileRule({ name: 'c', filter: { kind: 'sql', expression: 'qty > 1' }, action: 'SET seen = 1', createdAt: 0 }),
      compileRule({ name: 'd', filter: { kind: 'false' }, action: 'SET never = 1', createdAt: 0 }),
      compileRule({ name: 'e', filter: { kind: 'sql', expression: "qty = 'x'" }, createdAt: 0 }), // type mismatch: selects nothing
    ];
    expect(route(rules, message)).toEqual([{}, { edits: { system: {}, set: { seen: 1, RuleName: 'c' }, remove: [] } }]);
    expect(route([rules[4]!], message)).toEqual([]);
    expect(route([], message)).toEqual([]);
  });
});

describe('hostile: SQL filters and actions', () => {
  it(`hostile: parentheses nested past ${sqlLimits.maxNesting} levels are refused, not a stack overflow`, () => {
    const deep = '('.repeat(400) + '1=1' + ')'.repeat(400);
    expect(refusal(() => parseSqlFilter(deep)).details).toMatch(/nested more than 64 levels/);
    const ok = '('.repeat(20) + '1=1' + ')'.repeat(20);
    expect(compileSqlFilter(ok).matches(message)).toBe(true);
  });

  it('hostile: a chain of NOT, unary minus or nested property() calls is bounded the same way', () => {
    expect(refusal(() => parseSqlFilter('NOT '.repeat(200) + '1=1')).details).toMatch(/nested/);
    expect(refusal(() => parseSqlFilter('-'.repeat(600) + '1 = 1')).details).toMatch(/nested/);
    expect(refusal(() => parseSqlFilter('p('.repeat(150) + "'a'" + ')'.repeat(150) + ' = 1')).details).toMatch(/nested/);
  });

  it('hostile: a filter or action beyond 1,024 characters is refused before it is tokenised', () => {
    const huge = 'a = 1 OR '.repeat(100_000) + 'a = 1';
    const started = process.hrtime.bigint();
    expect(refusal(() => parseSqlFilter(huge)).details).toMatch(/900005 characters long; Service Bus allows at most 1024/);
    expect(refusal(() => parseSqlAction('SET a = 1; '.repeat(10_000))).details).toMatch(/at most 1024/);
    expect(process.hrtime.bigint() - started).toBeGreaterThan(0n);
  });

  it('hostile: a long flat OR chain within the limit parses and evaluates', () => {
    const chain = Array.from({ length: 80 }, (_, i) => `q${i} = ${i}`).join(' OR ') + ' OR qty = 10';
    expect(chain.length).toBeLessThanOrEqual(sqlLimits.maxLength);
    expect(compileSqlFilter(chain).matches(message)).toBe(true);
  });

  it.each([
    ["hostile: an unterminated string literal", "name = 'O''Brien", /column=7, Token in error= 'O''Brien, .*unterminated string literal/],
    ['hostile: an unterminated delimited identifier', '[odd name = 1', /unterminated delimited identifier/],
    ['hostile: an unterminated quoted identifier', '"odd = 1', /unterminated quoted identifier/],
    ['hostile: an empty delimited identifier', '[] = 1', /empty identifier/],
    ['hostile: a NUL character', 'a = 1\u0000', /Unrecognized character/],
    ['hostile: a semicolon injection in a filter', "a = 1; DROP TABLE x", /Unrecognized character|unexpected/],
    ['hostile: an integer past Int64', 'a = 9223372036854775808', /out of the Int64 range/],
    ['hostile: a double past its range', 'a = 1e400', /out of the Double range/],
    ['hostile: a malformed exponent', 'a = 1e', /malformed number/],
    ['hostile: digits running into letters', 'a = 12abc', /malformed number/],
    ['hostile: IS NULL on a constant', "'x' IS NULL", /applies to a property/],
    ['hostile: an IN list left open', 'a IN (1, 2', /expecting '\)'/],
    ['hostile: a dangling operator', 'a = 1 AND', /unexpected end of expression/],
    ['hostile: an EXISTS of a constant', 'EXISTS(1)', /expecting a property name/],
  ])('%s', (_name, expression, details) => {
    expect(refusal(() => compileSqlFilter(expression)).message).toMatch(details);
  });

  it('hostile: more than 32 action statements are refused', () => {
    const many = Array.from({ length: 33 }, (_, i) => `SET a${i} = 1`).join(';');
    expect(many.length).toBeLessThanOrEqual(sqlLimits.maxLength);
    expect(refusal(() => parseSqlAction(many)).details).toMatch(/at most 32 statements/);
    expect(parseSqlAction(Array.from({ length: 32 }, (_, i) => `SET a${i} = 1`).join(';'))).toHaveLength(32);
  });

  it('hostile: a LIKE pattern made to backtrack finishes (no regular expression behind it)', () => {
    const value = 'a'.repeat(5000);
    const pattern = '%a'.repeat(500) + 'b';
    expect(like(value, pattern)).toBe(false);
    const filter = compileSqlFilter(`v LIKE '${'%a'.repeat(100)}b'`);
    expect(filter.matches({ applicationProperties: { v: 'a'.repeat(100_000) } })).toBe(false);
  });

  it('hostile: Int64 arithmetic wraps as unchecked C# does instead of growing without bound', () => {
    expect(compileSqlFilter('9223372036854775807 + 1 < 0').matches(message)).toBe(true);
    expect(compileSqlFilter('big * big * big * big = 0').matches({ applicationProperties: { big: 2 ** 32 } })).toBe(true);
  });

  it('hostile: a message property of an unexpected AMQP type is opaque, not an exception', () => {
    const odd: FilterableMessage = { applicationProperties: { when: new Date(0), bytes: Buffer.from([1]), list: [1, 2] } };
    expect(compileSqlFilter('when IS NOT NULL AND EXISTS(bytes)').matches(odd)).toBe(true);
    expect(compileSqlFilter('when = 1').matches.bind(null, odd)).toThrow(FilterEvaluationError);
    expect(route([compileRule({ name: 'r', filter: { kind: 'sql', expression: 'list = 1' }, createdAt: 0 })], odd)).toEqual([]);
  });

  it('hostile: property names that look like prototype members are plain names', () => {
    expect(compileSqlFilter('[__proto__] IS NULL AND constructor IS NULL AND NOT EXISTS([toString]) AND NOT EXISTS(hasOwnProperty)').matches(message)).toBe(true);
    const edits = compileRuleAction('SET [__proto__] = 1; SET constructor = 2').apply(message);
    expect(Object.keys(edits.set).sort()).toEqual(['__proto__', 'constructor']);
  });
});
