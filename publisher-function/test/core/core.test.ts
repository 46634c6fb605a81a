import { canTransition, MessageProperties, OutboxStatus, parseAcknowledgement, Settings } from '@dataverse-outbox/contract';
import {
  KeyBlockers,
  backoffDelayInMs,
  compareSequence,
  computeHealth,
  decideAck,
  groupByTarget,
  isOutboxError,
  parseSettings,
  planOrdering,
  statusWhenSent,
  toOutboundMessage,
  validateRow,
  wireMessageId,
  REJECTED_BY_CONSUMER,
} from '../../src/core';
import { row } from './helpers';

const { Pending, Published, Acked, Failed, DeadLettered, Cancelled } = OutboxStatus;

describe('status machine (spec "Status machine", invariant 6)', () => {
  it('allows the spec transitions', () => {
    expect(canTransition(Pending, Published)).toBe(true);
    expect(canTransition(Published, Acked)).toBe(true);
    expect(canTransition(Published, DeadLettered)).toBe(true);
    expect(canTransition(Pending, Failed)).toBe(true);
    expect(canTransition(Failed, Pending, 'operator')).toBe(true);
    expect(canTransition(DeadLettered, Pending, 'operator')).toBe(true);
    for (const s of [Pending, Failed, DeadLettered]) expect(canTransition(s, Cancelled, 'operator')).toBe(true);
  });
  it('never lets the engine move a status backwards', () => {
    for (const final of [Acked, DeadLettered, Cancelled, Failed]) expect(canTransition(final, Published)).toBe(false);
    expect(canTransition(Acked, DeadLettered)).toBe(false);
    expect(canTransition(Published, Pending)).toBe(false); // only an operator replay does that
    expect(canTransition(Failed, Pending)).toBe(false);
    expect(canTransition(Cancelled, Pending, 'operator')).toBe(false);
    expect(canTransition(Published, Cancelled, 'operator')).toBe(false);
  });
});

describe('sequence order', () => {
  it('compares autonumbers numerically, padded or not', () => {
    expect(compareSequence('0000000009', '0000000010')).toBeLessThan(0);
    expect(compareSequence('9', '10')).toBeLessThan(0);
    expect(compareSequence('OBX-9', 'OBX-10')).toBeLessThan(0);
    expect(compareSequence('10', '10')).toBe(0);
  });
});

describe('settings', () => {
  it('uses solution defaults, then Dataverse values, then OUTBOX_* app settings', () => {
    const s = parseSettings({ BatchSize: '50', AllowedTargets: '["orders"]' }, { [Settings.BatchSize.appSetting]: '25' });
    expect(s.batchSize).toBe(25);
    expect(s.allowedTargets).toEqual(['orders']);
    expect(s.maxAttempts).toBe(10);
    expect(s.ackQueue).toBe('outbox-acks');
    expect(s.publisherEnabled).toBe(true);
    expect(s.healthThresholds).toEqual({ maxPendingAgeSeconds: 300, maxFailed: 0, maxDeadLettered: 0 });
  });
  it('reports every problem with the setting it came from', () => {
    let caught: unknown;
    try {
      parseSettings({ AllowedTargets: '{"a":1}', MaxAttempts: 'ten' }, { OUTBOX_BATCH_SIZE: '0', OUTBOX_HEALTH_THRESHOLDS: '{"maxFailed":-1}', OUTBOX_PUBLISHER_ENABLED: 'maybe' });
    } catch (e) {
      caught = e;
    }
    expect(isOutboxError(caught)).toBe(true);
    if (!isOutboxError(caught)) return;
    expect(caught.code).toBe('InvalidSettings');
    expect(caught.details).toHaveLength(5);
    expect(caught.message).toContain('app setting OUTBOX_BATCH_SIZE must be a whole number from 1 to 1000, got "0"');
    expect(caught.message).toContain('obx_AllowedTargets (dataverse) must be a JSON array');
    expect(caught.message).toContain('obx_MaxAttempts (dataverse) must be a whole number');
    expect(caught.message).toContain('OUTBOX_HEALTH_THRESHOLDS.maxFailed must be a number >= 0');
    expect(caught.message).toContain('OUTBOX_PUBLISHER_ENABLED must be yes/no');
  });
  it('rejects malformed JSON with the parser message', () => {
    expect(() => parseSettings({ AllowedTargets: '["orders"' })).toThrow(/obx_AllowedTargets \(dataverse\) is not valid JSON/);
  });
  it('accepts "no" as off (Dataverse boolean environment variables)', () => {
    expect(parseSettings({ PublisherEnabled: 'no' }).publisherEnabled).toBe(false);
  });
});

describe('row validation (invariant 5)', () => {
  const ctx = { allowedTargets: ['orders'], now: new Date('2025-01-01T00:00:00Z'), maxMessageSizeInBytes: () => 4096 };
  it('accepts a good row', () => expect(validateRow(row(), ctx)).toBeUndefined());
  it('names the target that is not allowed and the allowed ones', () => {
    expect(validateRow(row({ target: 'payments' }), ctx)).toEqual({ code: 'TargetNotAllowed', reason: 'Target "payments" is not in obx_AllowedTargets (allowed: "orders").' });
  });
  it('fails expired rows', () => {
    expect(validateRow(row({ expiresOn: new Date('2024-12-31T23:59:59Z') }), ctx)?.reason).toBe('Expired: obx_expireson 2024-12-31T23:59:59.000Z passed before the row could be published.');
  });
  it('fails malformed JSON with the parser position', () => {
    const p = validateRow(row({ payload: '{"a":' }), ctx);
    expect(p?.code).toBe('MalformedPayload');
    expect(p?.reason).toMatch(/^Malformed JSON payload \(.+\); obx_contenttype is "application\/json"/);
  });
  it('does not parse non-JSON content', () => {
    expect(validateRow(row({ payload: '<a/>', contentType: 'application/xml' }), ctx)).toBeUndefined();
  });
  it('fails payloads over the entity max size, in bytes', () => {
    const p = validateRow(row({ payload: JSON.stringify({ s: 'é'.repeat(2000) }) }), ctx);
    expect(p?.code).toBe('PayloadTooLarge');
    expect(p?.reason).toContain('4008 bytes, but target "orders" accepts messages up to 4096 bytes');
  });
});

describe('row -> message (spec "Row -> Service Bus message")', () => {
  const r = row({
    id: 'a1', messageId: 'm-1', eventType: 'OrderWon', correlationId: 'c-1', sessionKey: 'opportunity:1',
    sourceEntity: 'opportunity', sourceId: 's-1', sequence: '0000000042', payload: '{"x":1}',
  });
  it('maps every field', () => {
    expect(toOutboundMessage(r)).toEqual({
      messageId: 'm-1',
      body: { x: 1 },
      contentType: 'application/json',
      subject: 'OrderWon',
      correlationId: 'c-1',
      sessionId: 'opportunity:1',
      applicationProperties: {
        [MessageProperties.outboxId]: 'a1',
        [MessageProperties.outboxMessageId]: 'm-1',
        [MessageProperties.sourceEntity]: 'opportunity',
        [MessageProperties.sourceId]: 's-1',
        [MessageProperties.outboxSequence]: '0000000042',
      },
    });
  });
  it('suffixes replays with #r<n> but keeps the logical id in outbox-message-id', () => {
    const m = toOutboundMessage({ ...r, replayCount: 2 });
    expect(m.messageId).toBe('m-1#r2');
    expect(m.applicationProperties[MessageProperties.outboxMessageId]).toBe('m-1');
    expect(wireMessageId({ messageId: 'x', replayCount: 0 })).toBe('x');
  });
  it('sends non-JSON content as text and omits empty optional fields', () => {
    const m = toOutboundMessage(row({ payload: 'hello', contentType: 'text/plain' }));
    expect(m.body).toBe('hello');
    expect(m).not.toHaveProperty('sessionId');
    expect(m).not.toHaveProperty('subject');
  });
});

describe('per-key ordering (invariants 4 and 5)', () => {
  const until = new Date('2025-01-01T00:01:00Z');
  it('holds only rows behind a backing-off row of the same key', () => {
    const blockers = KeyBlockers.fromBackingOffRows([row({ id: 'b', sessionKey: 'k1', sequence: '5', nextAttemptOn: until })]);
    const due = [row({ id: 'x', sessionKey: 'k1', sequence: '6' }), row({ id: 'y', sessionKey: 'k2', sequence: '7' }), row({ id: 'z', sequence: '8' }), row({ id: 'w', sessionKey: 'k1', sequence: '4' })];
    const plan = planOrdering(due, blockers, { now: new Date('2025-01-01T00:00:00Z') });
    expect(plan.attempt.map((r) => r.id)).toEqual(['y', 'z', 'w']);
    expect(plan.held).toEqual([{ row: due[0], until, behind: 'b' }]);
  });
  it('lets a due blocker go first with its followers', () => {
    const blockers = KeyBlockers.fromBackingOffRows([row({ id: 'b', sessionKey: 'k1', sequence: '5', nextAttemptOn: until })]);
    const plan = planOrdering([row({ id: 'b', sessionKey: 'k1', sequence: '5' }), row({ id: 'x', sessionKey: 'k1', sequence: '6' })], blockers, { now: new Date('2025-01-01T00:00:00Z') });
    expect(plan.attempt.map((r) => r.id)).toEqual(['b', 'x']);
  });
  it('keeps the earliest row of a key as its blocker and frees the key when that row ends', () => {
    const blockers = KeyBlockers.fromBackingOffRows([
      row({ id: 'late', sessionKey: 'k', sequence: '9', nextAttemptOn: until }),
      row({ id: 'early', sessionKey: 'k', sequence: '3', nextAttemptOn: until }),
    ]);
    expect(blockers.get('k')?.rowId).toBe('early');
    blockers.releaseRow('k', 'late');
    expect(blockers.size).toBe(1);
    blockers.releaseRow('k', 'early');
    expect(blockers.size).toBe(0);
  });
  it('holds a row behind a held sibling even when the row that blocked them is due again', () => {
    // The backoff of 'b' was lost (it is due) while the hold of 'h' was written: 'x' must still wait for 'h'.
    const blockers = KeyBlockers.fromBackingOffRows([row({ id: 'b', sessionKey: 'k', sequence: '5', nextAttemptOn: until }), row({ id: 'h', sessionKey: 'k', sequence: '6', nextAttemptOn: until })]);
    const plan = planOrdering([row({ id: 'b', sessionKey: 'k', sequence: '5' }), row({ id: 'x', sessionKey: 'k', sequence: '7' })], blockers, { now: new Date('2025-01-01T00:00:00Z') });
    expect(plan.attempt.map((r) => r.id)).toEqual(['b']);
    expect(plan.held).toEqual([{ row: expect.objectContaining({ id: 'x' }), until, behind: 'h' }]);
  });
  it('keeps a key blocked while its waiting row is in flight, and forgets an overdue row that is no longer Pending', () => {
    const past = new Date('2025-01-01T00:00:00Z');
    const now = new Date('2025-01-01T00:00:10Z');
    const blockers = KeyBlockers.fromBackingOffRows([row({ id: 'h', sessionKey: 'k', sequence: '6', nextAttemptOn: past })]);
    const later = row({ id: 'x', sessionKey: 'k', sequence: '7' });
    const inFlight = planOrdering([later], blockers, { now, inFlight: new Set(['h']) });
    expect(inFlight.attempt).toEqual([]);
    expect(inFlight.held[0]?.until.getTime()).toBeGreaterThan(now.getTime());
    // Not in flight and long overdue, yet not read: it is Acked or Failed by now (or its wait was never written).
    const stale = planOrdering([later], blockers, { now });
    expect(stale.attempt.map((r) => r.id)).toEqual(['x']);
    expect(blockers.size).toBe(0);
  });
  it('groups by target in order of first appearance', () => {
    const groups = groupByTarget([row({ id: '1', target: 'b' }), row({ id: '2', target: 'a' }), row({ id: '3', target: 'b' })]);
    expect(groups.map((g) => [g.target, g.rows.map((r) => r.id)])).toEqual([['b', ['1', '3']], ['a', ['2']]]);
  });
});

describe('backoff', () => {
  it('doubles per attempt with jitter between half and the full delay, capped', () => {
    expect(backoffDelayInMs(1, { baseDelayInMs: 1000 }, () => 0)).toBe(500);
    expect(backoffDelayInMs(1, { baseDelayInMs: 1000 }, () => 1)).toBe(1000);
    expect(backoffDelayInMs(4, { baseDelayInMs: 1000 }, () => 1)).toBe(8000);
    expect(backoffDelayInMs(40, { baseDelayInMs: 1000, maxDelayInMs: 60_000 }, () => 1)).toBe(60_000);
  });
});

describe('acknowledgements', () => {
  const ack = { outboxId: 'a1', messageId: 'm', outcome: 'processed' as const, processedAt: new Date('2025-01-01T00:00:00Z') };
  it('parses the spec JSON and rejects anything else readably', () => {
    expect(parseAcknowledgement('{"outboxId":"{0A1B2C3D-0000-4000-8000-00000000000A}","messageId":"m","outcome":"rejected","reason":"bad","processedAt":"2025-01-01T00:00:00Z"}')).toEqual({
      ack: { outboxId: '0a1b2c3d-0000-4000-8000-00000000000a', messageId: 'm', outcome: 'rejected', reason: 'bad', processedAt: new Date('2025-01-01T00:00:00Z') },
    });
    expect(parseAcknowledgement({ outboxId: '0a1b2c3d-0000-4000-8000-00000000000a', outcome: 'done' })).toEqual({ reason: 'InvalidOutcome', problem: 'ack outcome must be "processed" or "rejected", got "done"' });
    expect(parseAcknowledgement({ outboxId: 'x', outcome: 'processed' })).toEqual({ reason: 'InvalidOutboxId', problem: 'ack outboxId must be a GUID, got "x"' });
    expect(parseAcknowledgement('nope')).toEqual({ reason: 'AckNotJson', problem: 'ack body is not JSON' });
  });
  it('applies to Published rows, records early acks on Pending rows, ignores final rows', () => {
    expect(decideAck(row({ status: Published }), ack)).toEqual({ kind: 'apply', changes: { status: Acked, ackedOn: ack.processedAt } });
    expect(decideAck(row({ status: Published }), { ...ack, outcome: 'rejected', reason: 'schema' })).toEqual({
      kind: 'apply', changes: { status: DeadLettered, ackedOn: ack.processedAt, lastError: `${REJECTED_BY_CONSUMER}: schema` },
    });
    expect(decideAck(row({ status: Pending }), ack)).toEqual({ kind: 'record-early', changes: { ackedOn: ack.processedAt } });
    for (const s of [Acked, DeadLettered, Cancelled, Failed]) expect(decideAck(row({ status: s }), ack).kind).toBe('ignore');
  });
  it('an early ack turns the Published mark into Acked (or DeadLettered for a rejection)', () => {
    expect(statusWhenSent(row())).toBe(Published);
    expect(statusWhenSent(row({ ackedOn: new Date() }))).toBe(Acked);
    expect(statusWhenSent(row({ ackedOn: new Date(), lastError: `${REJECTED_BY_CONSUMER}: x` }))).toBe(DeadLettered);
  });
});

describe('health (invariant 7)', () => {
  const base = { now: new Date('2025-01-01T01:00:00Z'), publisherEnabled: true, thresholds: { maxPendingAgeSeconds: 300, maxFailed: 0, maxDeadLettered: 0 } };
  it('is green when nothing waits', () => {
    const h = computeHealth({ ...base, counts: { Published: 10 }, lastPublishedOn: new Date('2025-01-01T00:59:00Z') });
    expect(h.level).toBe('green');
    expect(h.secondsSinceLastPublish).toBe(60);
    expect(h.oldestPendingAgeSeconds).toBeNull();
    // Only the statuses health judges are reported: finished rows are never counted.
    expect(h.counts).toEqual({ Pending: 0, Failed: 0, DeadLettered: 0 });
  });
  it('turns amber then red as the oldest pending row ages, even with a small backlog', () => {
    const lease = { leaseOwner: 'w1', leaseUntil: new Date('2025-01-01T01:01:00Z') };
    expect(computeHealth({ ...base, ...lease, counts: { Pending: 1 }, oldestPendingCreatedOn: new Date('2025-01-01T00:54:00Z') }).level).toBe('amber');
    const red = computeHealth({ ...base, ...lease, counts: { Pending: 1 }, oldestPendingCreatedOn: new Date('2025-01-01T00:49:00Z') });
    expect(red.level).toBe('red');
    expect(red.reasons[0]).toBe('oldest pending row is 660s old (threshold 300s)');
  });
  it('is red with Failed or DeadLettered rows over the threshold, amber with no lease holder', () => {
    expect(computeHealth({ ...base, counts: { Failed: 1 } }).level).toBe('red');
    const h = computeHealth({ ...base, counts: { Pending: 3 }, oldestPendingCreatedOn: base.now });
    expect(h.level).toBe('amber');
    expect(h.reasons).toEqual(['rows are pending but no publisher holds the lease']);
  });
});
