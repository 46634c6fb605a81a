// Topic rules through the official @azure/service-bus SDK: listRules/createRule/deleteRule on `$management`, messages
// routed by SQL and correlation filters, rule actions, errors, persistence and Microsoft's Config.json rule format.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isServiceBusError, ServiceBusClient, type RuleProperties, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { startServiceBusEmulator, type EmulatorConfig } from '@dataverse-outbox/emulators/servicebus';
import { fastRetries, startHarness, type Harness } from './support';

async function listRules(h: Harness, topic: string, subscription: string): Promise<RuleProperties[]> {
  const out: RuleProperties[] = [];
  for await (const rule of h.client.createRuleManager(topic, subscription).listRules()) out.push(rule);
  return out;
}

async function drain(client: ServiceBusClient, topic: string, subscription: string, waitInMs = 700): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(topic, subscription, { receiveMode: 'receiveAndDelete' });
  const out: ServiceBusReceivedMessage[] = [];
  for (;;) {
    const batch = await receiver.receiveMessages(50, { maxWaitTimeInMs: waitInMs });
    if (batch.length === 0) break;
    out.push(...batch);
  }
  await receiver.close();
  return out;
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isServiceBusError(e)) return { code: e.code, message: e.message };
    return { code: 'not a ServiceBusError', message: String(e) };
  }
  throw new Error('expected the call to be refused');
}

describe('Service Bus emulator: topic rules through @azure/service-bus', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      topics: [
        {
          name: 'orders',
          subscriptions: [
            { name: 'all' },
            { name: 'red', rules: [{ name: 'red-only', sqlFilter: "color = 'red'" }] },
            { name: 'eu-orders', rules: [{ name: 'eu', correlationFilter: { subject: 'order', applicationProperties: { region: 'eu' } } }] },
            { name: 'halved', rules: [{ name: 'halve', sqlFilter: "user.color = 'blue'", action: 'SET quantity = quantity / 2; REMOVE priority; SET sys.CorrelationId = \'low\'' }] },
          ],
        },
        { name: 'managed', subscriptions: [{ name: 's1' }, { name: 's2' }, { name: 'copies' }, { name: 'empty' }, { name: 'syntax' }] },
      ],
    });
  });
  afterAll(async () => h.close());

  it('lists $Default (a TrueFilter, no action) for a subscription configured without rules', async () => {
    expect(await listRules(h, 'orders', 'all')).toEqual([{ name: '$Default', filter: { sqlExpression: '1=1' }, action: {} }]);
  });

  it('lists configured SQL and correlation rules as RuleProperties', async () => {
    expect(await listRules(h, 'orders', 'red')).toEqual([{ name: 'red-only', filter: { sqlExpression: "color = 'red'" }, action: {} }]);
    const [eu] = await listRules(h, 'orders', 'eu-orders');
    expect(eu).toEqual({
      name: 'eu',
      filter: {
        correlationId: null,
        messageId: null,
        to: null,
        replyTo: null,
        subject: 'order',
        sessionId: null,
        replyToSessionId: null,
        contentType: null,
        applicationProperties: { region: 'eu' },
      },
      action: {},
    });
    expect(await listRules(h, 'orders', 'halved')).toEqual([
      { name: 'halve', filter: { sqlExpression: "user.color = 'blue'" }, action: { sqlExpression: "SET quantity = quantity / 2; REMOVE priority; SET sys.CorrelationId = 'low'" } },
    ]);
  });

  it('routes each message to the subscriptions whose filters select it, and applies the rule action to that copy only', async () => {
    await h.client.createSender('orders').sendMessages([
      { body: 1, subject: 'order', applicationProperties: { color: 'red', quantity: 10, region: 'eu', priority: 'high' } },
      { body: 2, subject: 'order', applicationProperties: { color: 'blue', quantity: 10, region: 'us', priority: 'high' } },
      { body: 3, subject: 'refund', applicationProperties: { color: 'Red', quantity: 3, region: 'eu' } },
      { body: 4, applicationProperties: { quantity: 1 } },
    ]);
    expect((await drain(h.client, 'orders', 'all')).map((m) => m.body)).toEqual([1, 2, 3, 4]);
    expect((await drain(h.client, 'orders', 'red')).map((m) => m.body)).toEqual([1]); // string equality is case-sensitive
    expect((await drain(h.client, 'orders', 'eu-orders')).map((m) => m.body)).toEqual([1]);
    const halved = await drain(h.client, 'orders', 'halved');
    expect(halved.map((m) => [m.body, m.applicationProperties, m.correlationId])).toEqual([
      [2, { color: 'blue', quantity: 5, region: 'us', RuleName: 'halve' }, 'low'],
    ]);
  });

  it('createRule adds SQL and correlation rules, deleteRule removes $Default, and routing follows at once', async () => {
    const s1 = h.client.createRuleManager('managed', 's1');
    await s1.createRule('big', { sqlExpression: 'amount > 100 AND sys.Label LIKE \'inv%\'' });
    await s1.createRule('vip', { correlationId: 'vip', applicationProperties: { tier: 'gold' } });
    await s1.deleteRule('$Default');
    expect((await listRules(h, 'managed', 's1')).map((r) => r.name)).toEqual(['big', 'vip']);
    await h.client.createSender('managed').sendMessages([
      { body: 'small', subject: 'invoice', applicationProperties: { amount: 5 } },
      { body: 'large', subject: 'invoice', applicationProperties: { amount: 250.5 } },
      { body: 'large-refund', subject: 'refund', applicationProperties: { amount: 250 } },
      { body: 'gold', correlationId: 'vip', applicationProperties: { tier: 'gold' } },
      { body: 'silver', correlationId: 'vip', applicationProperties: { tier: 'silver' } },
    ]);
    expect((await drain(h.client, 'managed', 's1')).map((m) => m.body)).toEqual(['large', 'gold']);
    expect((await drain(h.client, 'managed', 's2')).map((m) => m.body)).toEqual(['small', 'large', 'large-refund', 'gold', 'silver']);
  });

  it('refuses a second rule of the same name (MessagingEntityAlreadyExists) and deleting a missing rule (MessagingEntityNotFound)', async () => {
    const s2 = h.client.createRuleManager('managed', 's2');
    expect(await refusal(s2.createRule('$default', { sqlExpression: '1=1' }))).toMatchObject({ code: 'MessagingEntityAlreadyExists', message: expect.stringContaining('already exists') });
    expect(await refusal(s2.deleteRule('no-such-rule'))).toMatchObject({ code: 'MessagingEntityNotFound' });
    expect((await listRules(h, 'managed', 's2')).map((r) => r.name)).toEqual(['$Default']);
  });

  it('refuses a filter or action that does not parse with the Service Bus parser message, and keeps the rules as they were', async () => {
    const m = h.client.createRuleManager('managed', 'syntax');
    const unterminated = await refusal(m.createRule('bad', { sqlExpression: "color = 'red" }));
    expect(unterminated.message).toMatch(/There was an error parsing the SQL expression\. \[Token line=1, column=8, .*unterminated string literal\]/);
    expect((await refusal(m.createRule('bad', { sqlExpression: 'color = = 1' }))).message).toMatch(/error parsing the SQL expression/);
    expect((await refusal(m.createRule('bad', { sqlExpression: 'sys.NoSuchThing = 1' }))).message).toMatch(/'sys\.NoSuchThing' is not a system property/);
    expect((await refusal(m.createRule('bad', { sqlExpression: '1=1' }, { sqlExpression: 'UPDATE x = 1' }))).message).toMatch(/expecting SET, or REMOVE/);
    expect((await refusal(m.createRule('bad', { sqlExpression: 'x'.repeat(1025) + ' = 1' }))).message).toMatch(/at most 1024/);
    expect((await refusal(m.createRule('n'.repeat(51), { sqlExpression: '1=1' }))).message).toMatch(/at most 50/);
    expect(await listRules(h, 'managed', 'syntax')).toEqual([{ name: '$Default', filter: { sqlExpression: '1=1' }, action: {} }]);
  });

  it('keeps one copy for all matching rules without actions and one more copy per matching rule with an action', async () => {
    await drain(h.client, 'managed', 'copies', 300); // what earlier tests sent to the topic
    const m = h.client.createRuleManager('managed', 'copies');
    await m.createRule('tagged', { sqlExpression: 'EXISTS(tag)' }, { sqlExpression: "SET tag = tag + '-seen'" });
    await m.createRule('priority', { sqlExpression: 'priority IN (1, 2)' });
    await h.client.createSender('managed').sendMessages({ body: 'x', applicationProperties: { tag: 't', priority: 2 } });
    const got = await drain(h.client, 'managed', 'copies');
    // $Default and "priority" select one plain copy; "tagged" adds its own edited copy with a sequence number of its own.
    expect(got.map((m) => [m.body, m.applicationProperties])).toEqual([
      ['x', { tag: 't', priority: 2 }],
      ['x', { tag: 't-seen', priority: 2, RuleName: 'tagged' }],
    ]);
    expect(new Set(got.map((m) => m.sequenceNumber!.toNumber())).size).toBe(2);
  });

  it('a subscription whose last rule was deleted receives nothing', async () => {
    await drain(h.client, 'managed', 'empty', 300); // what earlier tests sent to the topic
    await h.client.createRuleManager('managed', 'empty').deleteRule('$Default');
    expect(await listRules(h, 'managed', 'empty')).toEqual([]);
    await h.client.createSender('managed').sendMessages({ body: 'nobody' });
    expect(await drain(h.client, 'managed', 'empty', 400)).toEqual([]);
  });
});

describe('Service Bus emulator: rules per case through @azure/service-bus', () => {
  // One rule at a time, so a rule that wrongly matches or wrongly misses is named in the failure.
  const message = {
    body: 'm',
    subject: 'ABC%x',
    messageId: 'm1-9',
    to: 'c',
    contentType: 'application/json',
    replyTo: 'r',
    correlationId: 'c',
    sessionId: undefined,
    applicationProperties: { qty: 2, flag: true, 'odd name': 1, 'other name': 2, color: 'green', big: 123456.789, text: 'a%b' },
  };
  const cases: Array<[string, string, boolean]> = [
    ['LIKE with ESCAPE', "sys.Label LIKE 'ABC\\%%' ESCAPE '\\'", true],
    ['LIKE without ESCAPE treats % as a wildcard', "sys.Label LIKE 'ABC%'", true],
    ['LIKE with _', "sys.MessageId LIKE 'm_-%'", true],
    ['NOT LIKE', "text NOT LIKE 'a!%b' ESCAPE '!'", false],
    ['IN', "sys.To IN ('a', 'c')", true],
    ['NOT IN', "sys.To NOT IN ('a', 'c')", false],
    ['IN over numbers of both kinds', 'qty IN (1.5, 2.0)', true],
    ['IS NULL on a missing user property', 'missing IS NULL', true],
    ['IS NOT NULL', 'color IS NOT NULL', true],
    ['EXISTS', 'EXISTS(color) AND NOT EXISTS(missing)', true],
    ['comparison with a missing property is unknown', 'missing = 1', false],
    ['NOT of unknown is unknown', 'NOT (missing = 1)', false],
    ['unknown OR true', 'missing = 1 OR qty = 2', true],
    ['unknown AND false', 'NOT (missing = 1 AND qty = 3)', true],
    ['integer arithmetic truncates', 'qty / 4 = 0 AND 7 % 3 = 1', true],
    ['double arithmetic', '7.0 / 2 = 3.5 AND 0.5E1 = 5', true],
    ['unary minus and precedence', '-qty + 3 * 2 = 4', true],
    ['approximate numbers', 'big > 1.2E5 AND big < 123456.8', true],
    ['string concatenation', "color + '-' + qty = 'green-2'", true],
    ['booleans', 'flag = TRUE AND flag <> FALSE', true],
    ['quoted and delimited identifiers', '"odd name" = 1 AND [other name] = 2', true],
    ['user. scope and case-insensitive names', "user.COLOR = 'green'", true],
    ['system properties', "sys.ContentType = 'application/json' AND sys.ReplyTo = 'r' AND sys.CorrelationId = 'c'", true],
    ['sys.SessionId of a message without one is NULL', 'sys.SessionId IS NULL', true],
    ['case-sensitive string equality', "color = 'Green'", false],
    ['!= is <>', "color != 'green'", false],
    ['a type mismatch selects nothing', "qty = 'two'", false],
    ['division by zero selects nothing', 'qty / 0 = 1', false],
    ['property() function', "property('color') = 'green' AND p('sys.To') = 'c'", true],
  ];
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ topics: [{ name: 'cases', subscriptions: [{ name: 'probe' }] }] });
    await h.client.createRuleManager('cases', 'probe').deleteRule('$Default');
  });
  afterAll(async () => h.close());

  it.each(cases)('%s: %s selects the message: %s', async (_name, expression, selected) => {
    const rules = h.client.createRuleManager('cases', 'probe');
    await rules.createRule('probe', { sqlExpression: expression });
    try {
      await h.client.createSender('cases').sendMessages(message);
      expect((await drain(h.client, 'cases', 'probe', 400)).length).toBe(selected ? 1 : 0);
    } finally {
      await rules.deleteRule('probe');
    }
  });
});

describe('Service Bus emulator: rules in Config.json, persistence and quota', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const microsoftFormat = (rules: unknown[]): EmulatorConfig =>
    ({
      UserConfig: {
        Namespaces: [{ Name: 'sbemulatorns', Queues: [], Topics: [{ Name: 'topic.1', Subscriptions: [{ Name: 'subscription.3', Rules: rules }] }] }],
        Logging: { Type: 'File' },
      },
    }) as EmulatorConfig;

  it("accepts Microsoft's Sql rule format with an Action, and routes by it", async () => {
    const emulator = await startServiceBusEmulator({
      config: microsoftFormat([
        {
          Name: 'sql-filter-1',
          Properties: { FilterType: 'Sql', SqlFilter: { SqlExpression: "sys.MessageId = '123456' AND userProp1 = 'value1'" }, Action: { SqlExpression: "SET sys.To = 'Entity'" } },
        },
        { Name: 'app-prop-filter-1', Properties: { FilterType: 'Correlation', CorrelationFilter: { ContentType: 'application/text', Properties: { userProp1: 'value2' } } } },
      ]),
    });
    const client = new ServiceBusClient(emulator.connectionString, fastRetries);
    try {
      await client.createSender('topic.1').sendMessages([
        { body: 'a', messageId: '123456', applicationProperties: { userProp1: 'value1' } },
        { body: 'b', messageId: '123456', applicationProperties: { userProp1: 'other' } },
        { body: 'c', contentType: 'application/text', applicationProperties: { userProp1: 'value2' } },
      ]);
      const got = await drain(client, 'topic.1', 'subscription.3');
      expect(got.map((m) => [m.body, m.to, m.applicationProperties?.RuleName])).toEqual([
        ['a', 'Entity', 'sql-filter-1'],
        ['c', undefined, undefined],
      ]);
    } finally {
      await client.close();
      await emulator.close();
    }
  });

  it('refuses at start a Sql rule that does not parse, naming the JSON path, and an unknown FilterType', async () => {
    await expect(startServiceBusEmulator({ config: microsoftFormat([{ Name: 'r', Properties: { FilterType: 'Sql', SqlFilter: { SqlExpression: "a = 'x" } } }]) })).rejects.toThrow(
      /Subscriptions\[0\]\.Rules\[0\]\.Properties\.SqlFilter\.SqlExpression: There was an error parsing the SQL expression.*unterminated string literal/,
    );
    await expect(
      startServiceBusEmulator({ config: microsoftFormat([{ Name: 'r', Properties: { FilterType: 'Sql', SqlFilter: { SqlExpression: '1=1' }, Action: { SqlExpression: 'SET sys.SequenceNumber = 1' } } }]) }),
    ).rejects.toThrow(/Rules\[0\]\.Properties\.Action\.SqlExpression: .*cannot be set by a rule action/);
    await expect(startServiceBusEmulator({ config: microsoftFormat([{ Name: 'r', Properties: { FilterType: 'SQL', SqlFilter: { SqlExpression: '1=1' } } }]) })).rejects.toThrow(
      /Rules\[0\]\.Properties.*FilterType must be "Correlation" \(with CorrelationFilter\) or "Sql" \(with SqlFilter\)/,
    );
    await expect(startServiceBusEmulator({ config: microsoftFormat([{ Name: 'r', Properties: { FilterType: 'Correlation', CorrelationFilter: {} } }]) })).rejects.toThrow(
      /at least one property/,
    );
  });

  it('keeps rules created and deleted by clients across a restart with the same data file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-rules-'));
    dirs.push(dir);
    const options = { dataFile: join(dir, 'state.db'), config: microsoftFormat([]) };
    let emulator = await startServiceBusEmulator(options);
    let client = new ServiceBusClient(emulator.connectionString, fastRetries);
    await client.createRuleManager('topic.1', 'subscription.3').createRule('kept', { sqlExpression: "kind = 'keep'" }, { sqlExpression: 'SET seen = TRUE' });
    await client.createRuleManager('topic.1', 'subscription.3').deleteRule('$Default');
    await client.close();
    await emulator.close();

    emulator = await startServiceBusEmulator(options);
    client = new ServiceBusClient(emulator.connectionString, fastRetries);
    try {
      const rules: RuleProperties[] = [];
      for await (const r of client.createRuleManager('topic.1', 'subscription.3').listRules()) rules.push(r);
      expect(rules).toEqual([{ name: 'kept', filter: { sqlExpression: "kind = 'keep'" }, action: { sqlExpression: 'SET seen = TRUE' } }]);
      await client.createSender('topic.1').sendMessages([{ body: 1, applicationProperties: { kind: 'drop' } }, { body: 2, applicationProperties: { kind: 'keep' } }]);
      expect((await drain(client, 'topic.1', 'subscription.3')).map((m) => [m.body, m.applicationProperties?.seen])).toEqual([[2, true]]);
    } finally {
      await client.close();
      await emulator.close();
    }
  });

  it('refuses a rule beyond 2,000 SQL filters per topic with QuotaExceeded, while correlation filters have their own quota', async () => {
    const sql = (prefix: string): unknown[] => Array.from({ length: 1000 }, (_, i) => ({ Name: `${prefix}${i}`, Properties: { FilterType: 'Sql', SqlFilter: { SqlExpression: `n = ${i}` } } }));
    const config = {
      UserConfig: {
        Namespaces: [{ Name: 'sbemulatorns', Queues: [], Topics: [{ Name: 'full', Subscriptions: [{ Name: 'a', Rules: sql('a') }, { Name: 'b', Rules: sql('b') }, { Name: 'c', Rules: [] }] }] }],
        Logging: { Type: 'File' },
      },
    } as EmulatorConfig;
    // "c" has $Default, a TrueFilter: 2,001 SQL filters in all, one too many.
    await expect(startServiceBusEmulator({ config })).rejects.toThrow(/Subscriptions\[2\]: the topic has more than 2000 SQL filters/);

    config.UserConfig.Namespaces[0]!.Topics![0]!.Subscriptions![2] = {
      Name: 'c',
      Rules: [{ Name: 'corr', Properties: { FilterType: 'Correlation', CorrelationFilter: { Label: 'x' } } }],
    };
    const emulator = await startServiceBusEmulator({ config });
    const client = new ServiceBusClient(emulator.connectionString, fastRetries);
    try {
      const c = client.createRuleManager('full', 'c');
      expect(await refusal(c.createRule('one-more', { sqlExpression: '1=1' }))).toMatchObject({ code: 'QuotaExceeded', message: expect.stringContaining('2000 SQL filters') });
      await c.createRule('another-correlation', { subject: 'y' });
      await client.createRuleManager('full', 'a').deleteRule('a0');
      await c.createRule('fits-now', { sqlExpression: '1=1' });
      const names: string[] = [];
      for await (const r of c.listRules()) names.push(r.name);
      expect(names).toEqual(['corr', 'another-correlation', 'fits-now']);
      // Pages of listRules follow skip/top.
      const page = await client.createRuleManager('full', 'a').listRules().byPage({ maxPageSize: 300 }).next();
      expect((page.value as RuleProperties[]).map((r) => r.name).slice(0, 2)).toEqual(['a1', 'a2']);
      expect((page.value as RuleProperties[]).length).toBe(300);
    } finally {
      await client.close();
      await emulator.close();
    }
  });
});
