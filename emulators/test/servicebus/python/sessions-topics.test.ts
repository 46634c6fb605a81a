// Sessions, topics and rule management through Debian's azure-servicebus 7.8 (uamqp) over the emulator's TLS listener:
// one emulator, two Python processes (sessions_topics_cases.py, rules_cases.py) side by side.
import { describeWithPython, observed, startPythonHarness, type CaseResults, type PythonHarness } from './support';

describeWithPython('Service Bus emulator through the Python SDK (azure-servicebus 7.8 on uamqp): sessions and topics', () => {
  let harness: PythonHarness;
  let results: CaseResults;
  let rules: CaseResults;

  beforeAll(async () => {
    harness = await startPythonHarness({
      queues: [{ name: 'orders-by-customer', requiresSession: true }],
      topics: [
        {
          name: 'order-events',
          subscriptions: [
            { name: 'all' },
            { name: 'red', rules: [{ name: 'red', correlationFilter: { applicationProperties: { color: 'red' } } }] },
            { name: 'placed', rules: [{ name: 'placed', correlationFilter: { subject: 'OrderPlaced' } }] },
            { name: 'audit', rules: [{ name: 'audit', correlationFilter: { correlationId: 'audit-1' } }] },
          ],
        },
        {
          name: 'sql-events',
          subscriptions: [
            { name: 'big-red', rules: [{ name: 'big-red', sqlFilter: "color = 'red' AND quantity > 10" }] },
            { name: 'eu-orders', rules: [{ name: 'eu', sqlFilter: "sys.Label LIKE 'Order%' AND region IN ('eu-west', 'eu-north')" }] },
            { name: 'bulk', rules: [{ name: 'bulk', sqlFilter: 'quantity >= 100', action: "SET priority = 'high'" }] },
            { name: 'no-color', rules: [{ name: 'no-color', sqlFilter: 'color IS NULL' }] },
          ],
        },
        { name: 'rule-events', subscriptions: [{ name: 'managed' }] },
      ],
    });
    [results, rules] = await Promise.all([harness.run('sessions_topics_cases.py'), harness.run('rules_cases.py')]);
  }, 120_000);
  afterAll(async () => harness?.close());

  it('a named session delivers its own messages in order; session state is set, read and the lock renewed', () => {
    expect(observed(results, 'namedSessionInOrderWithState')).toEqual({
      sessionId: 'customer-A',
      bodies: ['A0', 'A1', 'A2', 'A3', 'A4'],
      messageSessionIds: ['customer-A'],
      initialState: null,
      state: 'checkpoint:A4',
      renewed: true,
    });
  });

  it('the next available session is named in the attach and delivered in order', () => {
    expect(observed(results, 'nextAvailableSession')).toEqual({ sessionId: 'customer-B', bodies: ['B0', 'B1', 'B2', 'B3', 'B4'], state: null });
  });

  it('binary session state outlives the receiver that set it', () => {
    expect(observed(results, 'sessionStateSurvivesReceivers')).toEqual({ state: [0, 1, ...Buffer.from('binary')] });
  });

  it('a locked session is refused to a second receiver with SessionCannotBeLocked', () => {
    expect(observed(results, 'sessionIsExclusive')).toEqual({ outcome: 'SessionCannotBeLockedError' });
  });

  it('a topic fans out to subscriptions by correlation filter (application property, subject, correlation id)', () => {
    expect(observed(results, 'topicCorrelationFilters')).toEqual({
      all: ['audit', 'blue order placed', 'red order placed', 'red order shipped'],
      red: ['red order placed', 'red order shipped'],
      placed: ['blue order placed', 'red order placed'],
      audit: ['audit'],
    });
  });

  it("a subscription's dead letter stays in its own DLQ with its reason; other subscriptions keep their copy", () => {
    expect(observed(results, 'subscriptionDeadLetter')).toEqual({
      dead: [['bad red', 'Rejected', 'red is out of stock', 'red']],
      otherSubscription: ['bad red'],
    });
  });

  it('a topic routes by SQL filters (comparison, AND, LIKE, IN, IS NULL, sys.Label) and applies a SQL rule action', () => {
    expect(observed(results, 'topicSqlFilters')).toEqual({
      'big-red': [['m2', null, null]],
      'eu-orders': [['m1', null, null], ['m3', null, null]],
      bulk: [['m3', 'high', 'bulk']],
      'no-color': [['m4', null, null]],
    });
  });

  // azure-servicebus 7.8 declares the AMQP rule operations but exposes them in no public method (its public rule API
  // is the HTTPS administration client, not served): rules_cases.py sends them through the SDK's own management path.
  it('rule management over $management: lists $Default, adds SQL (with action) and correlation rules, removes rules, refuses a duplicate and bad SQL', () => {
    expect(observed(rules, 'manageRules')).toEqual({
      initial: { status: 200, names: ['$Default'] },
      afterChanges: { status: 200, names: ['large', 'eu'] },
      duplicate: expect.stringMatching(/^ServiceBusError: .*already exists/),
      unparsable: expect.stringMatching(/^ServiceBusError: .*There was an error parsing the SQL expression/),
      routed: [['large us', 'gold'], ['small eu', null]],
      emptied: { status: 204, names: [] },
      withoutRules: [],
    });
  });
});
