// W3C trace context on the outbox row: the grammar both writers enforce for traceParent (stored in obx_tracecontext),
// and the contexts the publisher derives from it (a child keeps the trace id, a new trace without a parent).
import {
  buildOutboxRow,
  formatTraceParent,
  newTraceParent,
  OutboxMessage,
  OutboxRowError,
  outboxRowUpsert,
  parseTraceParent,
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
