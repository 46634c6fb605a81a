// Queues through Debian's azure-servicebus 7.8 (uamqp) over the emulator's TLS listener: one emulator, one Python
// process running every case of queue_cases.py, one test per case.
import { describeWithPython, observed, startPythonHarness, type CaseResults, type PythonHarness } from './support';

describeWithPython('Service Bus emulator through the Python SDK (azure-servicebus 7.8 on uamqp): queues', () => {
  let harness: PythonHarness;
  let results: CaseResults;

  beforeAll(async () => {
    harness = await startPythonHarness({
      queues: [
        { name: 'send-receive' },
        { name: 'abandon' },
        { name: 'dead-letter', maxDeliveryCount: 2 },
        { name: 'receive-delete' },
        { name: 'peek' },
        { name: 'schedule' },
        { name: 'defer' },
        { name: 'lock', lockDurationInMs: 1_500 },
        { name: 'batch' },
      ],
    });
    results = await harness.run('queue_cases.py');
  }, 120_000);
  afterAll(async () => harness?.close());

  it('sends, receives in peekLock with every property and broker annotation, completes', () => {
    expect(observed(results, 'sendReceiveComplete')).toEqual({
      bodies: ['{"order":1}', 'second', 'third'],
      sequenceNumbers: [1, 2, 3],
      messageId: 'order-1',
      subject: 'OrderPlaced',
      contentType: 'application/json',
      correlationId: 'corr-1',
      properties: { 'outbox-id': 'row-1', attempt: 2 },
      deliveryCount: 0,
      hasLockToken: true,
      lockedUntilInFuture: true,
      enqueued: true,
      afterComplete: 0,
    });
  });

  it('abandons: the same message comes back with delivery count + 1', () => {
    expect(observed(results, 'abandon')).toEqual({ first: 0, again: 1, sameMessage: true });
  });

  it('dead-letters with a reason and description, read back from the DLQ', () => {
    expect(observed(results, 'deadLetterWithReason')).toEqual({
      remaining: 0,
      body: 'poison',
      reason: 'SchemaInvalid',
      description: "field 'total' is missing",
      properties: { kind: 'poison', DeadLetterReason: 'SchemaInvalid', DeadLetterErrorDescription: "field 'total' is missing" },
    });
  });

  it('dead-letters after MaxDeliveryCount abandons with MaxDeliveryCountExceeded', () => {
    expect(observed(results, 'maxDeliveryCount')).toEqual({ left: 0, messageId: 'mdc-1', reason: 'MaxDeliveryCountExceeded' });
  });

  it('receives and deletes: no lock tokens, nothing left', () => {
    expect(observed(results, 'receiveAndDelete')).toEqual({ bodies: ['a', 'b'], lockTokens: [null, null], left: 0 });
  });

  it('peeks without locking, from a sequence number', () => {
    expect(observed(results, 'peek')).toEqual({
      peeked: ['p1', 'p2', 'p3'],
      states: ['ACTIVE', 'ACTIVE', 'ACTIVE'],
      fromSecond: ['p2', 'p3'],
      received: ['p1', 'p2', 'p3'],
    });
  });

  it('schedules (shown as scheduled when peeked), cancels, and delivers a due scheduled message', () => {
    expect(observed(results, 'scheduleAndCancel')).toEqual({
      sequenceNumbers: [1, 2, 3],
      scheduledStates: [true, true],
      arrived: ['in a second'],
      scheduledTimeKept: [true],
      left: 0,
    });
  });

  it('defers, receives deferred messages by sequence number with their lock tokens, renews and settles them', () => {
    const seen = observed<{ lockTokens: string[] } & Record<string, unknown>>(results, 'deferAndSettleDeferred');
    expect(seen).toMatchObject({
      activeWhileDeferred: 0,
      peekedStates: ['DEFERRED', 'DEFERRED'],
      deferredBodies: ['later 1', 'later 2'],
      renewed: true,
      left: 0,
      deadLettered: [['later 2', 'NotNeeded']],
    });
    // Read from x-opt-lock-token in the delivery annotations: without it the SDK cannot settle a deferred message.
    expect(seen.lockTokens).toHaveLength(2);
    for (const token of seen.lockTokens) expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('renews a message lock, so complete succeeds after the first lock would have expired', () => {
    expect(observed(results, 'renewLock')).toEqual({ extended: true, left: 0 });
  });

  it('a lock held past LockDuration is lost and the message is redelivered with delivery count 1', () => {
    expect(observed(results, 'lockLost')).toEqual({ outcome: 'ServiceBusError', redelivered: [['too slow', 1]] });
  });

  it('sends a message batch (max size from the link) in order', () => {
    expect(observed(results, 'batchSend')).toEqual({ maxSize: 262_144, bodies: Array.from({ length: 20 }, (_, i) => `item ${i}`) });
  });

  it('an unknown queue is refused with amqp:not-found', () => {
    const seen = observed<{ outcome: string; message: string }>(results, 'unknownEntity');
    expect(seen.outcome).toBe('ServiceBusCommunicationError');
    expect(seen.message).toMatch(/could not be found[\s\S]*NotFound/);
  });
});
