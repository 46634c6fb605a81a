// The acknowledgement message (spec "Acknowledgement message"): what a consumer sends to obx_AckQueue after it handled
// (or rejected) a message, built by the consumer toolkit and parsed by the publisher's ack listener. One definition of
// the wire shape, so the two sides cannot drift apart. Browser-safe: no Node, Azure or DOM types (bytes are decoded here).
// Two forms: one acknowledgement per message (the spec's, what every consumer sends), and a batch (one message, a JSON
// array of the same acknowledgement objects, its own subject), which the consumer toolkit sends when several are ready.
import { MessageProperties } from './generated/names';
import { describeValue, normaliseGuid, requireGuid } from './identifiers';
import { parseTraceParent } from './traceContext';

export const acknowledgementOutcomes = ['processed', 'rejected'] as const;
export type AcknowledgementOutcome = (typeof acknowledgementOutcomes)[number];

/** An acknowledgement as both sides use it. */
export interface Acknowledgement {
  /** The outbox row id (`outbox-id`): a GUID, bare lower-case once parsed. */
  outboxId: string;
  /** The logical message id (`outbox-message-id`). */
  messageId: string;
  outcome: AcknowledgementOutcome;
  /** Why the consumer rejected the message (`rejected` only). */
  reason?: string;
  /** When the effect committed (the original time, also when re-acknowledging a duplicate). Informative only. */
  processedAt: Date;
  /**
   * The consumer's W3C trace context (its processing span's traceparent), so the acknowledgement is in the message's
   * trace. Optional: older publishers ignore the field; an invalid one is neither sent nor read.
   */
  traceParent?: string;
}

/** The JSON body on the wire, exactly the spec's. */
export interface AcknowledgementBody {
  outboxId: string;
  messageId: string;
  outcome: AcknowledgementOutcome;
  reason?: string;
  /** ISO-8601. */
  processedAt: string;
  /** A version-00 W3C traceparent (contract/src/traceContext.ts). */
  traceParent?: string;
}

/** The Service Bus subject of every acknowledgement. */
export const acknowledgementSubject = 'OutboxAcknowledgement';

/**
 * The message that carries an acknowledgement, in the fields of a Service Bus message (structurally a
 * `ServiceBusMessage` of @azure/service-bus, which this package must not import).
 */
export interface AcknowledgementMessage {
  /** Deterministic per logical message and outcome (see toAcknowledgementMessage). */
  messageId: string;
  contentType: 'application/json';
  subject: typeof acknowledgementSubject;
  /** The row id, so the ack can be traced to its row in Service Bus tooling. */
  correlationId: string;
  body: AcknowledgementBody;
  applicationProperties: { [MessageProperties.outboxMessageId]: string; [MessageProperties.outboxId]: string };
}

/** Service Bus caps a message id at 128 characters. */
const MAX_SERVICE_BUS_MESSAGE_ID = 128;

/**
 * Builds the message for an acknowledgement. Its messageId is deterministic per logical message and outcome, so an ack
 * queue with duplicate detection drops repeats while a re-acknowledgement after a lost ack still gets through.
 * Throws InvalidIdentifierError when outboxId is no GUID: the publisher could only dead-letter such an ack.
 */
export function toAcknowledgementMessage(ack: Acknowledgement): AcknowledgementMessage {
  return singleMessage(ack, acknowledgementBody(ack));
}

/** The spec's JSON body of one acknowledgement (InvalidIdentifierError when outboxId is no GUID). */
function acknowledgementBody(ack: Acknowledgement): AcknowledgementBody {
  return {
    outboxId: requireGuid(ack.outboxId, 'acknowledgement outboxId'),
    messageId: ack.messageId,
    outcome: ack.outcome,
    ...(ack.reason === undefined ? {} : { reason: ack.reason }),
    processedAt: ack.processedAt.toISOString(),
    ...(parseTraceParent(ack.traceParent) === undefined ? {} : { traceParent: ack.traceParent as string }),
  };
}

function singleMessage(ack: Acknowledgement, body: AcknowledgementBody): AcknowledgementMessage {
  return {
    messageId: `${ack.messageId}:ack:${ack.outcome}`.slice(0, MAX_SERVICE_BUS_MESSAGE_ID),
    contentType: 'application/json',
    subject: acknowledgementSubject,
    correlationId: body.outboxId,
    body,
    applicationProperties: { [MessageProperties.outboxMessageId]: ack.messageId, [MessageProperties.outboxId]: body.outboxId },
  };
}

/** The Service Bus subject of a message that carries several acknowledgements (see AcknowledgementBatchMessage). */
export const acknowledgementBatchSubject = 'OutboxAcknowledgementBatch';

/**
 * Most acknowledgements in one batch message, built or read. The publisher applies a batch message as a whole (it is
 * settled once every ack in it is), so a bound keeps one message's work to a few Dataverse requests; a longer array
 * from some other sender is refused as a whole (AckBatchTooLarge) rather than read.
 */
export const MAX_ACKNOWLEDGEMENTS_PER_BATCH = 1000;

/**
 * Most UTF-8 bytes of a batch body built here. Service Bus Standard caps a message at 256 KB with its headers and
 * properties; a batch stays well inside, so it fits any ack queue (Premium allows more, never less).
 */
export const MAX_ACKNOWLEDGEMENT_BATCH_BYTES = 192 * 1024;

/**
 * Several acknowledgements in one Service Bus message: one send, one message stored and billed, one receive and one
 * settlement at the publisher, where one message per ack cost each of those per ack. The body is a JSON array of the
 * spec's acknowledgement objects, unchanged. No correlation id or ack properties (they name one row), and no message id
 * from here: a batch has no identity duplicate detection could use (a resent ack lands in another batch), so the
 * sender gives it a unique one; a batch applied twice is harmless, like any ack.
 */
export interface AcknowledgementBatchMessage {
  contentType: 'application/json';
  subject: typeof acknowledgementBatchSubject;
  body: AcknowledgementBody[];
}

export interface AcknowledgementBatchLimits {
  /** Acknowledgements per batch message at most. Default (and upper bound) MAX_ACKNOWLEDGEMENTS_PER_BATCH. */
  maxAcknowledgements?: number;
  /** UTF-8 bytes of a batch body at most. Default MAX_ACKNOWLEDGEMENT_BATCH_BYTES. */
  maxBodyBytes?: number;
}

/**
 * One batch message for these acknowledgements (2 or more; 1 works too, but toAcknowledgementMessages sends a lone ack
 * in the spec's single form). RangeError when there are none, more than MAX_ACKNOWLEDGEMENTS_PER_BATCH, or a body
 * above MAX_ACKNOWLEDGEMENT_BATCH_BYTES (toAcknowledgementMessages splits instead); InvalidIdentifierError for an
 * outboxId that is no GUID.
 */
export function toAcknowledgementBatchMessage(acks: readonly Acknowledgement[]): AcknowledgementBatchMessage {
  if (acks.length === 0) throw new RangeError('an acknowledgement batch needs at least one acknowledgement');
  if (acks.length > MAX_ACKNOWLEDGEMENTS_PER_BATCH) throw new RangeError(`an acknowledgement batch holds at most ${MAX_ACKNOWLEDGEMENTS_PER_BATCH} acknowledgements, got ${acks.length}`);
  const body = acks.map(acknowledgementBody);
  const bytes = batchBytes(body.map(bodyBytes));
  if (bytes > MAX_ACKNOWLEDGEMENT_BATCH_BYTES) throw new RangeError(`an acknowledgement batch body is at most ${MAX_ACKNOWLEDGEMENT_BATCH_BYTES} bytes, got ${bytes}`);
  return batchMessage(body);
}

function batchMessage(body: AcknowledgementBody[]): AcknowledgementBatchMessage {
  return { contentType: 'application/json', subject: acknowledgementBatchSubject, body };
}

/**
 * The messages for these acknowledgements, in their order: batch messages within the limits, and the single form for
 * an ack that is alone (one ack in all, the last one left over, or one too large to share a message). InvalidIdentifierError
 * for an outboxId that is no GUID (nothing is built then).
 */
export function toAcknowledgementMessages(acks: readonly Acknowledgement[], limits: AcknowledgementBatchLimits = {}): Array<AcknowledgementMessage | AcknowledgementBatchMessage> {
  const maxCount = limits.maxAcknowledgements ?? MAX_ACKNOWLEDGEMENTS_PER_BATCH;
  const maxBytes = limits.maxBodyBytes ?? MAX_ACKNOWLEDGEMENT_BATCH_BYTES;
  if (!Number.isInteger(maxCount) || maxCount < 1 || maxCount > MAX_ACKNOWLEDGEMENTS_PER_BATCH) {
    throw new RangeError(`maxAcknowledgements must be a whole number from 1 to ${MAX_ACKNOWLEDGEMENTS_PER_BATCH}, got ${maxCount}`);
  }
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_ACKNOWLEDGEMENT_BATCH_BYTES) {
    throw new RangeError(`maxBodyBytes must be a whole number from 1 to ${MAX_ACKNOWLEDGEMENT_BATCH_BYTES}, got ${maxBytes}`);
  }
  const bodies = acks.map(acknowledgementBody);
  const exact: number[] = [];
  const exactBytes = (i: number): number => (exact[i] ??= bodyBytes(bodies[i]!));
  const messages: Array<AcknowledgementMessage | AcknowledgementBatchMessage> = [];
  let start = 0;
  // "[" + "]": an element adds its own bytes plus one comma after the first. Counted with each element's upper bound
  // (no JSON text built) until the limit comes near; from there on exactly, so the split is as tight as exact counting.
  let bytes = 2;
  let counting: 'bound' | 'exact' = 'bound';
  const flush = (end: number): void => {
    if (end - start === 1) messages.push(singleMessage(acks[start]!, bodies[start]!));
    else if (end > start) messages.push(batchMessage(bodies.slice(start, end)));
    start = end;
    bytes = 2;
    counting = 'bound';
  };
  for (let i = 0; i < bodies.length; i++) {
    if (i > start && i - start >= maxCount) flush(i);
    let size = counting === 'exact' ? exactBytes(i) : bodyBytesAtMost(bodies[i]!);
    if (i > start && bytes + 1 + size > maxBytes) {
      if (counting === 'bound') {
        counting = 'exact';
        bytes = 2 + (i - 1 - start);
        for (let j = start; j < i; j++) bytes += exactBytes(j);
        size = exactBytes(i);
      }
      if (bytes + 1 + size > maxBytes) flush(i);
    }
    bytes += size + (i > start ? 1 : 0);
  }
  flush(bodies.length);
  return messages;
}

/** UTF-8 bytes of one element as JSON.stringify writes it. */
function bodyBytes(body: AcknowledgementBody): number {
  return utf8Length(JSON.stringify(body));
}

/**
 * An upper bound of bodyBytes without building the JSON: the keys, punctuation, GUID, outcome and ISO time are ASCII
 * (144 bytes with a reason and a six-digit year), and JSON.stringify writes no UTF-16 unit of the free texts as more
 * than 6 bytes (`\u001f`; a character outside the BMP is 2 units and 4 bytes).
 */
function bodyBytesAtMost(body: AcknowledgementBody): number {
  // A traceParent adds `,"traceParent":"` + 55 ASCII characters + `"` (72 bytes).
  return 150 + (body.traceParent === undefined ? 0 : 72) + 6 * (body.messageId.length + (body.reason?.length ?? 0));
}

function batchBytes(elementBytes: readonly number[]): number {
  return elementBytes.reduce((sum, n) => sum + n, 2 + Math.max(0, elementBytes.length - 1));
}

/** UTF-8 length of a string (an unpaired surrogate counts as the 3 bytes of U+FFFD, as encoders write it). */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Why a received acknowledgement is malformed: one closed set, written by the publisher as the Service Bus
 * DeadLetterReason, so an operator can tell poison kinds apart.
 */
export const MalformedAcknowledgementReasons = {
  /** The body is not JSON (or not UTF-8 text). */
  NotJson: 'AckNotJson',
  /** The body is JSON but not an object. */
  NotAnObject: 'AckNotAnObject',
  /** `outboxId` is missing or empty. */
  MissingOutboxId: 'MissingOutboxId',
  /** `outboxId` is not a GUID. */
  InvalidOutboxId: 'InvalidOutboxId',
  /** `outcome` is not "processed" or "rejected". */
  InvalidOutcome: 'InvalidOutcome',
  /** A message with the batch subject whose body is not a JSON array (the whole message). */
  BatchNotAnArray: 'AckBatchNotAnArray',
  /** A batch of more than MAX_ACKNOWLEDGEMENTS_PER_BATCH acknowledgements (the whole message, none of it read). */
  BatchTooLarge: 'AckBatchTooLarge',
} as const;
export type MalformedAcknowledgementReason = (typeof MalformedAcknowledgementReasons)[keyof typeof MalformedAcknowledgementReasons];

export type ParsedAcknowledgement = { ack: Acknowledgement } | { problem: string; reason: MalformedAcknowledgementReason };

/** Dataverse's date-time range; a consumer clock outside it would make the row's update fail with 400. */
const EARLIEST = Date.UTC(1753, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59);
/** obx_lasterror is 4,000 characters; a consumer's reason is cut well before, never trusted for length. */
const MAX_REASON = 2000;
const MAX_MESSAGE_ID = 200;

function malformed(reason: MalformedAcknowledgementReason, text: string): ParsedAcknowledgement {
  return { problem: text, reason };
}

/** A field of the body itself: an inherited `outboxId` (a prototype, a class) is no field of the message. */
function field(body: object, name: keyof AcknowledgementBody): unknown {
  return Object.prototype.hasOwnProperty.call(body, name) ? (body as Record<string, unknown>)[name] : undefined;
}

/**
 * Parses a received acknowledgement body (an object, JSON text, or UTF-8 bytes as the SDK hands them over). Anything
 * that is not the spec's ack gets a reason from the closed set and a readable problem (never the body itself).
 */
export function parseAcknowledgement(body: unknown): ParsedAcknowledgement {
  const read = readBody(body);
  return 'value' in read ? readAcknowledgement(read.value, '') : read;
}

/**
 * Parses a received acknowledgement message of either form: one result per acknowledgement, in the order of the
 * batch (a malformed element gets its own reason and never stops the others; a single ack is a list of one). When the
 * message as a whole cannot be read (not JSON, a batch that is no array or is longer than MAX_ACKNOWLEDGEMENTS_PER_BATCH)
 * one malformed result stands for it. An empty batch gives no results.
 *
 * The subject tells the forms apart: acknowledgementBatchSubject is a batch, any other subject the spec's single ack
 * (so a JSON array under a single ack's subject stays AckNotAnObject). A host that cannot say (the Functions trigger
 * passes bodies alone) gives undefined, and the body decides: an array is a batch, each element checked as any ack.
 */
export function parseAcknowledgements(body: unknown, subject?: unknown): ParsedAcknowledgement[] {
  const subjectKnown = subject !== undefined && subject !== null;
  const batch = subject === acknowledgementBatchSubject;
  if (subjectKnown && !batch) return [parseAcknowledgement(body)];
  const read = readBody(body);
  if (!('value' in read)) return [read];
  const value = read.value;
  if (!Array.isArray(value)) {
    return batch
      ? [malformed(MalformedAcknowledgementReasons.BatchNotAnArray, `ack batch body is not a JSON array (got ${value === null ? 'null' : typeof value === 'object' ? 'an object' : describeValue(value)})`)]
      : [readAcknowledgement(value, '')];
  }
  if (value.length > MAX_ACKNOWLEDGEMENTS_PER_BATCH) {
    return [malformed(MalformedAcknowledgementReasons.BatchTooLarge, `ack batch holds ${value.length} acknowledgements; at most ${MAX_ACKNOWLEDGEMENTS_PER_BATCH}`)];
  }
  // An index loop, not map: a hole in an array handed over as is (never from JSON) is an element all the same.
  const results: ParsedAcknowledgement[] = [];
  for (let i = 0; i < value.length; i++) results.push(readAcknowledgement(value[i], `ack ${i + 1} of ${value.length} in the batch: `));
  return results;
}

/** The body as a value: bytes decoded as UTF-8, text parsed as JSON, anything else as it is. */
function readBody(body: unknown): { value: unknown } | { problem: string; reason: MalformedAcknowledgementReason } {
  let value = body;
  // isView, not instanceof: a Node Buffer or a typed array from another realm (a test sandbox) is bytes all the same.
  if (ArrayBuffer.isView(value)) {
    const text = decodeUtf8(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    if (text === undefined) return { reason: MalformedAcknowledgementReasons.NotJson, problem: 'ack body is not UTF-8 text' };
    value = text;
  }
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { reason: MalformedAcknowledgementReasons.NotJson, problem: 'ack body is not JSON' };
    }
  }
  return { value };
}

/** One acknowledgement object (a whole body, or one element of a batch: `where` then prefixes its problem). */
function readAcknowledgement(value: unknown, where: string): ParsedAcknowledgement {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return malformed(MalformedAcknowledgementReasons.NotAnObject, `${where}${where ? 'ack' : 'ack body'} is not a JSON object (got ${Array.isArray(value) ? 'an array' : describeValue(value)})`);
  }
  const rawId = field(value, 'outboxId');
  if (rawId === undefined || rawId === null || rawId === '') return malformed(MalformedAcknowledgementReasons.MissingOutboxId, `${where}ack has no outboxId`);
  const outboxId = normaliseGuid(rawId);
  if (outboxId === undefined) return malformed(MalformedAcknowledgementReasons.InvalidOutboxId, `${where}ack outboxId must be a GUID, got ${describeValue(rawId)}`);
  const outcome = field(value, 'outcome');
  if (outcome !== 'processed' && outcome !== 'rejected') {
    return malformed(MalformedAcknowledgementReasons.InvalidOutcome, `${where}ack outcome must be "processed" or "rejected", got ${describeValue(outcome)}`);
  }
  // processedAt is the consumer's clock: informative only, so an unreadable or out-of-range value becomes "now".
  const rawAt = field(value, 'processedAt');
  const at = typeof rawAt === 'string' && rawAt.length <= 40 ? Date.parse(rawAt) : NaN;
  const processedAt = Number.isFinite(at) && at >= EARLIEST && at <= LATEST ? new Date(at) : new Date();
  const messageId = field(value, 'messageId');
  const reason = field(value, 'reason');
  const traceParent = field(value, 'traceParent');
  return {
    ack: {
      outboxId,
      messageId: typeof messageId === 'string' ? messageId.slice(0, MAX_MESSAGE_ID) : '',
      outcome,
      ...(typeof reason === 'string' ? { reason: reason.slice(0, MAX_REASON) } : {}),
      processedAt,
      ...(parseTraceParent(traceParent) === undefined ? {} : { traceParent: traceParent as string }),
    },
  };
}

/**
 * Strict UTF-8 (what TextDecoder with `fatal: true` does, which ES2017 without DOM types lacks): decodeURIComponent
 * refuses invalid sequences, overlong forms and surrogates. ASCII other than '%' passes as is; a leading byte-order
 * mark is dropped, as TextDecoder drops it. Undefined for bytes that are not UTF-8.
 */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  const parts: string[] = [];
  for (let start = 0; start < bytes.length; start += 8192) {
    let part = '';
    const end = Math.min(start + 8192, bytes.length);
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      part += b < 0x80 && b !== 0x25 ? String.fromCharCode(b) : `%${b < 0x10 ? '0' : ''}${b.toString(16)}`;
    }
    parts.push(part);
  }
  let text: string;
  try {
    text = decodeURIComponent(parts.join(''));
  } catch {
    return undefined;
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
