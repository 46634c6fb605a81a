// W3C trace context on the outbox row: the grammar both writers enforce for traceParent (stored in obx_tracecontext),
// and the contexts the publisher derives from it (a child keeps the trace id, a new trace without a parent).
import {
  acknowledgementBatchSubject,
  buildOutboxRow,
  formatTraceParent,
  newTraceParent,
  OutboxMessage,
  OutboxRowError,
  outboxRowUpsert,
  parseAcknowledgement,
  parseAcknowledgements,
  parseTraceParent,
  toAcknowledgementBatchMessage,
  toAcknowledgementMessage,
  toAcknowledgementMessages,
  TRACEPARENT_LENGTH,
  type OutboxRowOptions,
} from '../src';

const col = OutboxMessage.columns;
const options: OutboxRowOptions = { newId: () => '11111111-1111-4111-8111-111111111111' };
const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('traceParent on an outbox row', () => {
  it('is stored in obx_tracecontext as given, in the create and the upsert form; absent or empty stores nothing', () => {
    expect(buildOutboxRow({ target: 'orders', payload: 1, traceParent: VALID }, options).record[col.traceContext]).toBe(VALID);
    expect(outboxRowUpsert(buildOutboxRow({ target: 'orders', payload: 1, messageId: 'm', traceParent: VALID }, options)).record[col.traceContext]).toBe(VALID);
    expect(buildOutboxRow({ target: 'orders', payload: 1 }, options).record).not.toHaveProperty(col.traceContext);
    expect(buildOutboxRow({ target: 'orders', payload: 1, traceParent: '' }, options).record).not.toHaveProperty(col.traceContext);
    expect(OutboxMessage.maxLength.obx_tracecontext).toBeGreaterThanOrEqual(TRACEPARENT_LENGTH);
  });

  it.each([
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['a future version with extra fields', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz'],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['surrounding spaces', ` ${VALID} `],
    ['a line break (header injection)', `${VALID}\r\nx-evil: 1`],
    ['a trailing tracestate', `${VALID};tracestate=a=b`],
    ['a non-hex flag', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g'],
    ['a number', 42],
    ['an object', { traceId: 'x' }],
    ['a huge string', 'a'.repeat(100_000)],
  ])('refuses %s with InvalidField on traceParent, without quoting it', (_label, value) => {
    let error: unknown;
    try {
      buildOutboxRow({ target: 'orders', payload: 1, traceParent: value as string }, options, 2);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OutboxRowError);
    expect(error).toMatchObject({ code: 'InvalidField', field: 'traceParent', position: 2 });
    if (typeof value === 'string' && value.length > 8) expect((error as Error).message).not.toContain(value);
  });
});

describe('trace contexts', () => {
  it('parses and formats a version-00 traceparent', () => {
    const parsed = parseTraceParent(VALID);
    expect(parsed).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
    expect(formatTraceParent(parsed!)).toBe(VALID);
    expect(formatTraceParent({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 0 })).toMatch(/-00$/);
  });

  it('a child keeps the trace id and flags with a new span id; without a parent it starts a sampled trace', () => {
    const parent = parseTraceParent(VALID)!;
    const child = newTraceParent(parent);
    expect(child.traceId).toBe(parent.traceId);
    expect(child.flags).toBe(parent.flags);
    expect(child.spanId).not.toBe(parent.spanId);
    expect(parseTraceParent(formatTraceParent(child))).toEqual(child);
    const root = newTraceParent();
    expect(root.traceId).not.toBe(parent.traceId);
    expect(parseTraceParent(formatTraceParent(root))).toEqual(root);
    expect(root.flags).toBe(1);
  });

  it('never yields an all-zero id, even from a source that returns zeros first', () => {
    let calls = 0;
    const zerosOnce = (n: number): Uint8Array => (calls++ < 1 ? new Uint8Array(n) : new Uint8Array(n).fill(7));
    const root = newTraceParent(undefined, zerosOnce);
    expect(root.traceId).toBe('07'.repeat(16));
    expect(parseTraceParent(formatTraceParent(root))).toEqual(root);
  });
});

describe('an acknowledgement carries the consumer trace context back', () => {
  const ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
  const at = new Date('2030-01-01T00:00:00.000Z');

  it('in the single and the batch form, read back by the publisher; an invalid one is neither sent nor read', () => {
    const single = toAcknowledgementMessage({ outboxId: ID, messageId: 'm-1', outcome: 'processed', processedAt: at, traceParent: VALID });
    expect(single.body.traceParent).toBe(VALID);
    expect(parseAcknowledgement(JSON.parse(JSON.stringify(single.body)))).toEqual({ ack: { outboxId: ID, messageId: 'm-1', outcome: 'processed', processedAt: at, traceParent: VALID } });
    const batch = toAcknowledgementBatchMessage([
      { outboxId: ID, messageId: 'm-1', outcome: 'processed', processedAt: at, traceParent: VALID },
      { outboxId: ID, messageId: 'm-2', outcome: 'processed', processedAt: at, traceParent: 'bogus' },
    ]);
    expect(batch.body.map((b) => b.traceParent)).toEqual([VALID, undefined]);
    expect(Object.keys(batch.body[1]!)).not.toContain('traceParent');
    const read = parseAcknowledgements(JSON.parse(JSON.stringify([{ ...batch.body[0], traceParent: `${VALID}\n` }, batch.body[0]])), acknowledgementBatchSubject);
    expect(read.map((r) => ('ack' in r ? r.ack.traceParent : 'malformed'))).toEqual([undefined, VALID]);
  });

  it('is counted when acknowledgements are split into batch messages (no body over the byte limit)', () => {
    // An empty messageId leaves the bound no slack from the free text: a bound without the traceParent would undercount.
    const acks = Array.from({ length: 400 }, () => ({ outboxId: ID, messageId: '', outcome: 'processed' as const, processedAt: at, traceParent: VALID }));
    const limit = 8 * 1024;
    const messages = toAcknowledgementMessages(acks, { maxBodyBytes: limit });
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) if (Array.isArray(m.body)) expect(Buffer.byteLength(JSON.stringify(m.body), 'utf8')).toBeLessThanOrEqual(limit);
    expect(messages.flatMap((m) => (Array.isArray(m.body) ? m.body : [m.body])).every((b) => b.traceParent === VALID)).toBe(true);
  });
});
