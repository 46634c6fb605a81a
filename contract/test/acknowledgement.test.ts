// The acknowledgement message, both ends: what the consumer toolkit builds is what the publisher's ack listener reads,
// and anything else a hostile or broken consumer puts on obx_AckQueue gets one reason of the closed set (never a throw).
import {
  InvalidIdentifierError,
  MalformedAcknowledgementReasons,
  MessageProperties,
  acknowledgementSubject,
  parseAcknowledgement,
  toAcknowledgementMessage,
  type Acknowledgement,
  type MalformedAcknowledgementReason,
  type ParsedAcknowledgement,
} from '../src';

const ID = '0a1b2c3d-0000-4000-8000-00000000000a';
const at = new Date('2025-03-04T05:06:07.089Z');

/** The body as it travels: JSON text, then bytes (what the SDK hands the listener for a data section). */
const overTheWire = (body: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(body));

function problemOf(parsed: ParsedAcknowledgement): MalformedAcknowledgementReason | undefined {
  return 'reason' in parsed ? parsed.reason : undefined;
}

describe('toAcknowledgementMessage -> parseAcknowledgement', () => {
  it.each<[string, Acknowledgement]>([
    ['processed', { outboxId: ID, messageId: 'order-1', outcome: 'processed', processedAt: at }],
    ['rejected, with a reason', { outboxId: ID, messageId: 'order-2', outcome: 'rejected', reason: 'ValidationFailed: amount must not be negative', processedAt: at }],
  ])('round trip (%s) as object, JSON text and UTF-8 bytes', (_name, ack) => {
    const message = toAcknowledgementMessage(ack);
    for (const body of [message.body, JSON.stringify(message.body), overTheWire(message.body)]) {
      expect(parseAcknowledgement(body)).toEqual({ ack });
    }
  });

  it('builds the wire shape the publisher and older consumers agree on', () => {
    const message = toAcknowledgementMessage({ outboxId: `{${ID.toUpperCase()}}`, messageId: 'm-1', outcome: 'processed', processedAt: at });
    expect(message).toEqual({
      messageId: 'm-1:ack:processed',
      contentType: 'application/json',
      subject: acknowledgementSubject,
      correlationId: ID,
      body: { outboxId: ID, messageId: 'm-1', outcome: 'processed', processedAt: '2025-03-04T05:06:07.089Z' },
      applicationProperties: { [MessageProperties.outboxMessageId]: 'm-1', [MessageProperties.outboxId]: ID },
    });
    expect(acknowledgementSubject).toBe('OutboxAcknowledgement');
    // No `reason` key at all for a processed ack (not even undefined): the body is exactly the spec's.
    expect(Object.keys(message.body)).toEqual(['outboxId', 'messageId', 'outcome', 'processedAt']);
  });

  it('gives each logical message and outcome one Service Bus message id, at most 128 characters', () => {
    const ack = (messageId: string, outcome: 'processed' | 'rejected'): string => toAcknowledgementMessage({ outboxId: ID, messageId, outcome, processedAt: at }).messageId;
    expect(ack('a', 'processed')).not.toBe(ack('a', 'rejected'));
    expect(ack('a', 'processed')).toBe(ack('a', 'processed'));
    expect(ack('x'.repeat(500), 'processed')).toHaveLength(128);
  });

  it.each([['not-a-guid'], [''], [`${ID} or obx_status eq 612000000`], [`${ID}\n${ID}`]])('refuses to build an ack whose outboxId is %j (the publisher could only dead-letter it)', (outboxId) => {
    expect(() => toAcknowledgementMessage({ outboxId, messageId: 'm', outcome: 'processed', processedAt: at })).toThrow(InvalidIdentifierError);
  });
});

describe('parseAcknowledgement: every malformed kind has its reason', () => {
  const good = { outboxId: ID, messageId: 'm', outcome: 'processed', processedAt: at.toISOString() };

  it.each<[string, unknown, MalformedAcknowledgementReason, string]>([
    ['text that is not JSON', '{"outboxId": "', MalformedAcknowledgementReasons.NotJson, 'ack body is not JSON'],
    ['empty text', '', MalformedAcknowledgementReasons.NotJson, 'ack body is not JSON'],
    ['bytes that are not UTF-8', Uint8Array.from([0xff, 0xfe, 0x00, 0x7b]), MalformedAcknowledgementReasons.NotJson, 'ack body is not UTF-8 text'],
    ['an overlong UTF-8 form', Uint8Array.from([0x22, 0xc0, 0xaf, 0x22]), MalformedAcknowledgementReasons.NotJson, 'ack body is not UTF-8 text'],
    ['an encoded surrogate', Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22]), MalformedAcknowledgementReasons.NotJson, 'ack body is not UTF-8 text'],
    ['a truncated sequence', Uint8Array.from([0x22, 0xe2, 0x82]), MalformedAcknowledgementReasons.NotJson, 'ack body is not UTF-8 text'],
    ['a JSON array', [good], MalformedAcknowledgementReasons.NotAnObject, 'ack body is not a JSON object (got an array)'],
    ['JSON null', 'null', MalformedAcknowledgementReasons.NotAnObject, 'ack body is not a JSON object (got null)'],
    ['a JSON number', 42, MalformedAcknowledgementReasons.NotAnObject, 'ack body is not a JSON object (got number)'],
    ['a JSON string', '"hello"', MalformedAcknowledgementReasons.NotAnObject, 'ack body is not a JSON object (got "hello")'],
    ['undefined', undefined, MalformedAcknowledgementReasons.NotAnObject, 'ack body is not a JSON object (got undefined)'],
    ['no outboxId', { messageId: 'm', outcome: 'processed' }, MalformedAcknowledgementReasons.MissingOutboxId, 'ack has no outboxId'],
    ['a null outboxId', { ...good, outboxId: null }, MalformedAcknowledgementReasons.MissingOutboxId, 'ack has no outboxId'],
    ['an empty outboxId', { ...good, outboxId: '' }, MalformedAcknowledgementReasons.MissingOutboxId, 'ack has no outboxId'],
    ['an outboxId only inherited, not the body own', Object.create({ outboxId: ID, outcome: 'processed' }) as object, MalformedAcknowledgementReasons.MissingOutboxId, 'ack has no outboxId'],
    ['a non-GUID outboxId', { ...good, outboxId: 'x' }, MalformedAcknowledgementReasons.InvalidOutboxId, 'ack outboxId must be a GUID, got "x"'],
    ['a $filter injection', { ...good, outboxId: "x') or (obx_status eq 1" }, MalformedAcknowledgementReasons.InvalidOutboxId, 'ack outboxId must be a GUID, got "x\') or (obx_status eq 1"'],
    ['white space inside the GUID', { ...good, outboxId: ID.replace('-4000-', '- 4000-') }, MalformedAcknowledgementReasons.InvalidOutboxId, `ack outboxId must be a GUID, got "${ID.replace('-4000-', '- 4000-')}"`],
    ['a GUID twice', { ...good, outboxId: `${ID}\n${ID}` }, MalformedAcknowledgementReasons.InvalidOutboxId, 'ack outboxId must be a GUID, got "0a1b2c3d-0000-4000-8000-00000000000a\\n0a1b2c3d-0000-4000-8000…" (73 characters)'],
    ['an outboxId of the wrong type', { ...good, outboxId: 12345 }, MalformedAcknowledgementReasons.InvalidOutboxId, 'ack outboxId must be a GUID, got number'],
    ['an outboxId that is an object', { ...good, outboxId: { toString: () => ID } }, MalformedAcknowledgementReasons.InvalidOutboxId, 'ack outboxId must be a GUID, got object'],
    ['no outcome', { outboxId: ID, messageId: 'm' }, MalformedAcknowledgementReasons.InvalidOutcome, 'ack outcome must be "processed" or "rejected", got undefined'],
    ['an unknown outcome', { ...good, outcome: 'done' }, MalformedAcknowledgementReasons.InvalidOutcome, 'ack outcome must be "processed" or "rejected", got "done"'],
    ['an outcome in other case', { ...good, outcome: 'Processed' }, MalformedAcknowledgementReasons.InvalidOutcome, 'ack outcome must be "processed" or "rejected", got "Processed"'],
    ['an outcome padded with white space', { ...good, outcome: ' processed' }, MalformedAcknowledgementReasons.InvalidOutcome, 'ack outcome must be "processed" or "rejected", got " processed"'],
    ['an outcome of the wrong type', { ...good, outcome: true }, MalformedAcknowledgementReasons.InvalidOutcome, 'ack outcome must be "processed" or "rejected", got boolean'],
  ])('%s', (_what, body, reason, problem) => {
    expect(parseAcknowledgement(body)).toEqual({ reason, problem });
  });

  it('covers the closed set: every reason is reachable, and there are no others', () => {
    const reached = new Set(
      [
        'nope',
        [],
        {},
        { outboxId: 'x' },
        { outboxId: ID, outcome: 'maybe' },
      ].map((b) => problemOf(parseAcknowledgement(b))),
    );
    expect([...reached].sort()).toEqual(Object.values(MalformedAcknowledgementReasons).sort());
    expect(Object.values(MalformedAcknowledgementReasons)).toEqual(['AckNotJson', 'AckNotAnObject', 'MissingOutboxId', 'InvalidOutboxId', 'InvalidOutcome']);
  });
});

describe('parseAcknowledgement: hostile but readable acks', () => {
  const parsed = (body: unknown): Acknowledgement => {
    const result = parseAcknowledgement(body);
    if (!('ack' in result)) throw new Error(`expected an ack, got ${result.reason}: ${result.problem}`);
    return result.ack;
  };

  it('normalises the GUID: braces, upper case and surrounding white space (forms and flows add them)', () => {
    expect(parsed({ outboxId: ` {${ID.toUpperCase()}}\n`, outcome: 'processed' }).outboxId).toBe(ID);
  });

  it('cuts a huge messageId and reason, and never trusts their length', () => {
    const ack = parsed({ outboxId: ID, messageId: 'm'.repeat(1_000_000), outcome: 'rejected', reason: 'r'.repeat(1_000_000), processedAt: at.toISOString() });
    expect(ack.messageId).toHaveLength(200);
    expect(ack.reason).toHaveLength(2000);
  });

  it('reads a huge body with one ack in it (a large unknown field is ignored)', () => {
    const body = overTheWire({ padding: 'é'.repeat(300_000), outboxId: ID, messageId: 'm', outcome: 'processed', processedAt: at.toISOString() });
    expect(parsed(body)).toEqual({ outboxId: ID, messageId: 'm', outcome: 'processed', processedAt: at });
  });

  it('keeps text that is not ASCII, and a literal % sign, as sent (bytes decoded exactly)', () => {
    const reason = 'Ablehnung: Menge < 0 % für „Müller“ 🚚 %41';
    expect(parsed(overTheWire({ outboxId: ID, messageId: 'ß-1', outcome: 'rejected', reason, processedAt: at.toISOString() }))).toEqual({ outboxId: ID, messageId: 'ß-1', outcome: 'rejected', reason, processedAt: at });
  });

  it('drops a leading byte-order mark, as a UTF-8 decoder does', () => {
    const bytes = overTheWire({ outboxId: ID, messageId: 'm', outcome: 'processed', processedAt: at.toISOString() });
    expect(parsed(Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes])).outboxId).toBe(ID);
  });

  it('survives deep nesting, in a field or as the whole body', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parsed(`{"outboxId":"${ID}","outcome":"processed","messageId":${deep},"reason":${deep}}`)).toEqual(expect.objectContaining({ messageId: '', outboxId: ID }));
    expect(problemOf(parseAcknowledgement(deep))).toBe(MalformedAcknowledgementReasons.NotAnObject);
    expect(problemOf(parseAcknowledgement(`{"outboxId":${deep}}`))).toBe(MalformedAcknowledgementReasons.InvalidOutboxId);
  });

  it('treats wrong-typed optional fields as absent', () => {
    expect(parsed({ outboxId: ID, messageId: 7, outcome: 'rejected', reason: { text: 'x' }, processedAt: 1_700_000_000_000 })).toEqual({ outboxId: ID, messageId: '', outcome: 'rejected', processedAt: expect.any(Date) });
  });

  it("takes the consumer's processedAt only inside Dataverse's date range; anything else becomes now", () => {
    const before = Date.now();
    for (const processedAt of [undefined, 'yesterday', '0001-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', `2025-01-01T00:00:00Z${' '.repeat(50)}`, 1_700_000_000_000]) {
      const t = parsed({ outboxId: ID, outcome: 'processed', processedAt }).processedAt.getTime();
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(Date.now());
    }
    expect(parsed({ outboxId: ID, outcome: 'processed', processedAt: '1753-01-01T00:00:00Z' }).processedAt.toISOString()).toBe('1753-01-01T00:00:00.000Z');
  });

  it('ignores a __proto__ key and unknown fields rather than taking them as the ack', () => {
    const ack = parsed(`{"__proto__":{"reason":"injected"},"outboxId":"${ID}","outcome":"processed","extra":1}`);
    expect(ack.reason).toBeUndefined();
    expect(Object.keys(ack).sort()).toEqual(['messageId', 'outboxId', 'outcome', 'processedAt']);
  });
});
