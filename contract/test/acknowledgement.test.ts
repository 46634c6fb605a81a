// The acknowledgement message, both ends: what the consumer toolkit builds is what the publisher's ack listener reads,
// and anything else a hostile or broken consumer puts on obx_AckQueue gets one reason of the closed set (never a throw).
import {
  InvalidIdentifierError,
  MalformedAcknowledgementReasons,
  MessageProperties,
  MAX_ACKNOWLEDGEMENT_BATCH_BYTES,
  MAX_ACKNOWLEDGEMENTS_PER_BATCH,
  acknowledgementBatchSubject,
  acknowledgementSubject,
  parseAcknowledgement,
  parseAcknowledgements,
  toAcknowledgementBatchMessage,
  toAcknowledgementMessage,
  toAcknowledgementMessages,
  type Acknowledgement,
  type AcknowledgementBatchMessage,
  type AcknowledgementMessage,
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
    for (const b of [{}, new Array(1001).fill({})]) reached.add(problemOf(parseAcknowledgements(b, acknowledgementBatchSubject)[0]!));
    expect([...reached].sort()).toEqual(Object.values(MalformedAcknowledgementReasons).sort());
    expect(Object.values(MalformedAcknowledgementReasons)).toEqual(['AckNotJson', 'AckNotAnObject', 'MissingOutboxId', 'InvalidOutboxId', 'InvalidOutcome', 'AckBatchNotAnArray', 'AckBatchTooLarge']);
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

describe('acknowledgement batches: many acknowledgements in one message', () => {
  const ackFor = (i: number, extra: Partial<Acknowledgement> = {}): Acknowledgement => ({
    outboxId: `0a1b2c3d-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    messageId: `order-${i}`,
    outcome: 'processed',
    processedAt: at,
    ...extra,
  });
  const utf8Bytes = (value: unknown): number => new TextEncoder().encode(JSON.stringify(value)).length;
  const isBatch = (m: AcknowledgementMessage | AcknowledgementBatchMessage): m is AcknowledgementBatchMessage => m.subject === acknowledgementBatchSubject;
  /** The acks a list of messages carries, read back as the publisher reads them (bytes, with each message's subject). */
  const readBack = (messages: ReadonlyArray<AcknowledgementMessage | AcknowledgementBatchMessage>): ParsedAcknowledgement[] =>
    messages.flatMap((m) => parseAcknowledgements(overTheWire(m.body), m.subject));

  it('sends a lone ack in the single form, exactly the spec message (older publishers read it)', () => {
    const ack = ackFor(1);
    expect(toAcknowledgementMessages([ack])).toEqual([toAcknowledgementMessage(ack)]);
    expect(toAcknowledgementMessages([])).toEqual([]);
  });

  it('puts several acks in one message: its own subject, a JSON array of the spec bodies, read back one result per ack', () => {
    const acks = [ackFor(1), ackFor(2, { outcome: 'rejected', reason: 'ValidationFailed: amount < 0 „Müller“ 🚚' }), ackFor(3)];
    const messages = toAcknowledgementMessages(acks);
    expect(messages).toHaveLength(1);
    const batch = messages[0]!;
    expect(batch).toEqual({ contentType: 'application/json', subject: 'OutboxAcknowledgementBatch', body: acks.map((a) => toAcknowledgementMessage(a).body) });
    expect(acknowledgementBatchSubject).not.toBe(acknowledgementSubject);
    expect(readBack(messages)).toEqual(acks.map((ack) => ({ ack })));
    expect(toAcknowledgementBatchMessage(acks)).toEqual(batch);
  });

  it('splits by count: at most 1,000 acks a message, or fewer when asked; a lone leftover goes in the single form', () => {
    const acks = Array.from({ length: 2_001 }, (_, i) => ackFor(i));
    const messages = toAcknowledgementMessages(acks);
    expect(messages.map((m) => (isBatch(m) ? m.body.length : 1))).toEqual([1000, 1000, 1]);
    expect(messages.map((m) => m.subject)).toEqual([acknowledgementBatchSubject, acknowledgementBatchSubject, acknowledgementSubject]);
    expect(toAcknowledgementMessages(acks.slice(0, 1500)).map((m) => (isBatch(m) ? m.body.length : 1))).toEqual([1000, 500]);
    expect(readBack(messages)).toEqual(acks.map((ack) => ({ ack })));
    expect(toAcknowledgementMessages(acks.slice(0, 5), { maxAcknowledgements: 2 }).map((m) => (isBatch(m) ? m.body.length : 1))).toEqual([2, 2, 1]);
    expect(MAX_ACKNOWLEDGEMENTS_PER_BATCH).toBe(1000);
  });

  it('splits by UTF-8 bytes: every batch body fits, each is as full as the next ack allows, one too large goes alone', () => {
    // Reasons of mixed width (1-, 2-, 3- and 4-byte characters, and an unpaired surrogate JSON.stringify escapes).
    // A control character is the widest (6 bytes as \u0001); the latest date has a six-digit year.
    const alphabet = ['a', 'é', '€', '🚚', '\ud800', '"', '\n', '\u0001'];
    const acks = Array.from({ length: 600 }, (_, i) =>
      ackFor(i, { outcome: 'rejected', reason: alphabet[i % alphabet.length]!.repeat(50 + ((i * 37) % 400)), messageId: `${alphabet[(i + 3) % alphabet.length]!.repeat(i % 30)}-${i}`, ...(i % 5 === 0 ? { processedAt: new Date(8.64e15) } : {}) }),
    );
    acks.splice(100, 0, ackFor(9999, { outcome: 'rejected', reason: 'x'.repeat(MAX_ACKNOWLEDGEMENT_BATCH_BYTES) }));
    for (const maxBodyBytes of [MAX_ACKNOWLEDGEMENT_BATCH_BYTES, 20_000, 4_096]) {
      const messages = toAcknowledgementMessages(acks, { maxBodyBytes });
      // Read back as the publisher reads them (a date beyond Dataverse's range becomes the time of reading).
      expect(readBack(messages)).toEqual(acks.map((ack) => ({ ack: { ...ack, reason: ack.reason!.slice(0, 2000), processedAt: ack.processedAt.getTime() === 8.64e15 ? expect.any(Date) : ack.processedAt } })));
      let next = 0;
      for (const m of messages) {
        const count = isBatch(m) ? m.body.length : 1;
        if (isBatch(m)) {
          expect(utf8Bytes(m.body)).toBeLessThanOrEqual(maxBodyBytes);
          expect(count).toBeGreaterThan(1);
        }
        const following = acks[next + count];
        // Tight: the first ack of the next message would not have fitted (or it is the huge one).
        if (following) expect(utf8Bytes([...acks.slice(next, next + count + 1).map((a) => toAcknowledgementMessage(a).body)])).toBeGreaterThan(maxBodyBytes);
        next += count;
      }
      expect(next).toBe(acks.length);
      expect(messages.find((m) => !isBatch(m) && m.body.outboxId === ackFor(9999).outboxId)).toBeDefined();
    }
  });

  it('counts bytes exactly at the edge', () => {
    const acks = [ackFor(1, { outcome: 'rejected', reason: '🚚é€' }), ackFor(2)];
    const exact = utf8Bytes(acks.map((a) => toAcknowledgementMessage(a).body));
    expect(toAcknowledgementMessages(acks, { maxBodyBytes: exact })).toHaveLength(1);
    expect(toAcknowledgementMessages(acks, { maxBodyBytes: exact - 1 }).map((m) => m.subject)).toEqual([acknowledgementSubject, acknowledgementSubject]);
  });

  it('refuses what it cannot build: no acks, more than the bounds, a body too large, an outboxId that is no GUID', () => {
    expect(() => toAcknowledgementBatchMessage([])).toThrow(RangeError);
    expect(() => toAcknowledgementBatchMessage(Array.from({ length: 1001 }, (_, i) => ackFor(i)))).toThrow(/at most 1000/);
    expect(() => toAcknowledgementBatchMessage([ackFor(1, { outcome: 'rejected', reason: 'x'.repeat(MAX_ACKNOWLEDGEMENT_BATCH_BYTES) })])).toThrow(/bytes/);
    expect(() => toAcknowledgementBatchMessage([ackFor(1), { ...ackFor(2), outboxId: 'nope' }])).toThrow(InvalidIdentifierError);
    expect(() => toAcknowledgementMessages([ackFor(1), { ...ackFor(2), outboxId: 'nope' }])).toThrow(InvalidIdentifierError);
    for (const limits of [{ maxAcknowledgements: 0 }, { maxAcknowledgements: 1001 }, { maxAcknowledgements: 1.5 }, { maxBodyBytes: 0 }, { maxBodyBytes: MAX_ACKNOWLEDGEMENT_BATCH_BYTES + 1 }, { maxBodyBytes: Number.NaN }]) {
      expect(() => toAcknowledgementMessages([ackFor(1)], limits)).toThrow(RangeError);
    }
  });
});

describe('parseAcknowledgements: one result per ack, one bad ack never stops the rest of its batch', () => {
  const good = (i: number): Record<string, unknown> => ({ outboxId: `0a1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}`, messageId: `m-${i}`, outcome: 'processed', processedAt: at.toISOString() });
  const ackOf = (i: number): ParsedAcknowledgement => ({ ack: { outboxId: good(i).outboxId as string, messageId: `m-${i}`, outcome: 'processed', processedAt: at } });
  const batch = (body: unknown): ParsedAcknowledgement[] => parseAcknowledgements(body, acknowledgementBatchSubject);

  it('gives each malformed element its own reason, naming its place, and reads every other element', () => {
    const elements: unknown[] = [good(1), null, good(2), 42, 'text', [good(3)], {}, { ...good(4), outboxId: "x') or (1 eq 1" }, { ...good(5), outcome: 'done' }, good(6)];
    const results = batch(overTheWire(elements));
    expect(results).toEqual([
      ackOf(1),
      { reason: MalformedAcknowledgementReasons.NotAnObject, problem: 'ack 2 of 10 in the batch: ack is not a JSON object (got null)' },
      ackOf(2),
      { reason: MalformedAcknowledgementReasons.NotAnObject, problem: 'ack 4 of 10 in the batch: ack is not a JSON object (got number)' },
      { reason: MalformedAcknowledgementReasons.NotAnObject, problem: 'ack 5 of 10 in the batch: ack is not a JSON object (got "text")' },
      { reason: MalformedAcknowledgementReasons.NotAnObject, problem: 'ack 6 of 10 in the batch: ack is not a JSON object (got an array)' },
      { reason: MalformedAcknowledgementReasons.MissingOutboxId, problem: 'ack 7 of 10 in the batch: ack has no outboxId' },
      { reason: MalformedAcknowledgementReasons.InvalidOutboxId, problem: 'ack 8 of 10 in the batch: ack outboxId must be a GUID, got "x\') or (1 eq 1"' },
      { reason: MalformedAcknowledgementReasons.InvalidOutcome, problem: 'ack 9 of 10 in the batch: ack outcome must be "processed" or "rejected", got "done"' },
      ackOf(6),
    ]);
  });

  it('never takes an element that is JSON text as an ack (an element must be an object)', () => {
    expect(problemOf(batch([JSON.stringify(good(1))])[0]!)).toBe(MalformedAcknowledgementReasons.NotAnObject);
  });

  it('keeps duplicates of one outboxId in one batch as they are (the publisher applies the first, as across messages)', () => {
    expect(batch([good(1), { ...good(1), outcome: 'rejected', reason: 'late' }, good(1)])).toEqual([
      ackOf(1),
      { ack: { ...(ackOf(1) as { ack: Acknowledgement }).ack, outcome: 'rejected', reason: 'late' } },
      ackOf(1),
    ]);
  });

  it('reads an empty batch as no acks, and exactly 1,000 acks in full', () => {
    expect(batch('[]')).toEqual([]);
    const full = Array.from({ length: 1000 }, (_, i) => good(i));
    expect(batch(overTheWire(full))).toEqual(full.map((_, i) => ackOf(i)));
  });

  it('refuses a batch longer than 1,000 as a whole, without reading its elements, however long it is', () => {
    expect(batch(new Array(1001).fill(good(1)))).toEqual([{ reason: MalformedAcknowledgementReasons.BatchTooLarge, problem: 'ack batch holds 1001 acknowledgements; at most 1000' }]);
    const huge = `[${'0,'.repeat(999_999)}0]`;
    expect(batch(huge)).toEqual([{ reason: MalformedAcknowledgementReasons.BatchTooLarge, problem: 'ack batch holds 1000000 acknowledgements; at most 1000' }]);
  });

  it.each<[string, unknown, MalformedAcknowledgementReason, string]>([
    ['an object', overTheWire(good(1)), MalformedAcknowledgementReasons.BatchNotAnArray, 'ack batch body is not a JSON array (got an object)'],
    ['null', 'null', MalformedAcknowledgementReasons.BatchNotAnArray, 'ack batch body is not a JSON array (got null)'],
    ['a string', '"[]"', MalformedAcknowledgementReasons.BatchNotAnArray, 'ack batch body is not a JSON array (got "[]")'],
    ['text that is not JSON', `[${JSON.stringify(good(1))}`, MalformedAcknowledgementReasons.NotJson, 'ack body is not JSON'],
    ['bytes that are not UTF-8', Uint8Array.from([0x5b, 0xff, 0x5d]), MalformedAcknowledgementReasons.NotJson, 'ack body is not UTF-8 text'],
  ])('refuses a batch body that is %s as a whole', (_what, body, reason, problem) => {
    expect(batch(body)).toEqual([{ reason, problem }]);
  });

  it('survives deep nesting: as the whole body, as an element, inside an element', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(batch(deep).map(problemOf)).toEqual([MalformedAcknowledgementReasons.NotAnObject]);
    expect(batch(`[${deep},${JSON.stringify(good(1))}]`)).toEqual([expect.objectContaining({ reason: MalformedAcknowledgementReasons.NotAnObject }), ackOf(1)]);
    expect(batch(`[{"outboxId":"${good(1).outboxId as string}","outcome":"processed","messageId":${deep}}]`)).toEqual([{ ack: expect.objectContaining({ messageId: '' }) }]);
  });

  it('ignores __proto__ in an element, and reads a hole in an array handed over as is as a bad element', () => {
    const text = `[{"__proto__":{"outboxId":"${good(9).outboxId as string}","outcome":"processed"}},${JSON.stringify(good(1))}]`;
    expect(batch(text).map(problemOf)).toEqual([MalformedAcknowledgementReasons.MissingOutboxId, undefined]);
    const holed: unknown[] = [good(1)];
    holed[2] = good(2);
    expect(batch(holed)).toEqual([ackOf(1), { reason: MalformedAcknowledgementReasons.NotAnObject, problem: 'ack 2 of 3 in the batch: ack is not a JSON object (got undefined)' }, ackOf(2)]);
  });

  it('tells the forms apart by subject; without one (a host that passes bodies alone) by the body', () => {
    const single = overTheWire(good(1));
    const array = overTheWire([good(1), good(2)]);
    // The single subject keeps the spec's rule: an array is no ack.
    expect(parseAcknowledgements(array, acknowledgementSubject).map(problemOf)).toEqual([MalformedAcknowledgementReasons.NotAnObject]);
    expect(parseAcknowledgements(single, acknowledgementSubject)).toEqual([ackOf(1)]);
    expect(parseAcknowledgements(array, 'SomethingElse').map(problemOf)).toEqual([MalformedAcknowledgementReasons.NotAnObject]);
    expect(parseAcknowledgements(single, 'SomethingElse')).toEqual([ackOf(1)]);
    for (const unknownSubject of [undefined, null]) {
      expect(parseAcknowledgements(array, unknownSubject)).toEqual([ackOf(1), ackOf(2)]);
      expect(parseAcknowledgements(single, unknownSubject)).toEqual([ackOf(1)]);
      expect(parseAcknowledgements({ ...good(1) }, unknownSubject)).toEqual([ackOf(1)]);
      expect(parseAcknowledgements('nope', unknownSubject).map(problemOf)).toEqual([MalformedAcknowledgementReasons.NotJson]);
    }
  });
});
