// The acknowledgement message (spec "Acknowledgement message"): what a consumer sends to obx_AckQueue after it handled
// (or rejected) a message, built by the consumer toolkit and parsed by the publisher's ack listener. One definition of
// the wire shape, so the two sides cannot drift apart. Browser-safe: no Node, Azure or DOM types (bytes are decoded here).
import { MessageProperties } from './generated/names';
import { describeValue, normaliseGuid, requireGuid } from './identifiers';

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
}

/** The JSON body on the wire, exactly the spec's. */
export interface AcknowledgementBody {
  outboxId: string;
  messageId: string;
  outcome: AcknowledgementOutcome;
  reason?: string;
  /** ISO-8601. */
  processedAt: string;
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
  const outboxId = requireGuid(ack.outboxId, 'acknowledgement outboxId');
  const body: AcknowledgementBody = {
    outboxId,
    messageId: ack.messageId,
    outcome: ack.outcome,
    ...(ack.reason === undefined ? {} : { reason: ack.reason }),
    processedAt: ack.processedAt.toISOString(),
  };
  return {
    messageId: `${ack.messageId}:ack:${ack.outcome}`.slice(0, MAX_SERVICE_BUS_MESSAGE_ID),
    contentType: 'application/json',
    subject: acknowledgementSubject,
    correlationId: outboxId,
    body,
    applicationProperties: { [MessageProperties.outboxMessageId]: ack.messageId, [MessageProperties.outboxId]: outboxId },
  };
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
  let value = body;
  // isView, not instanceof: a Node Buffer or a typed array from another realm (a test sandbox) is bytes all the same.
  if (ArrayBuffer.isView(value)) {
    const text = decodeUtf8(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    if (text === undefined) return malformed(MalformedAcknowledgementReasons.NotJson, 'ack body is not UTF-8 text');
    value = text;
  }
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return malformed(MalformedAcknowledgementReasons.NotJson, 'ack body is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return malformed(MalformedAcknowledgementReasons.NotAnObject, `ack body is not a JSON object (got ${Array.isArray(value) ? 'an array' : describeValue(value)})`);
  }
  const rawId = field(value, 'outboxId');
  if (rawId === undefined || rawId === null || rawId === '') return malformed(MalformedAcknowledgementReasons.MissingOutboxId, 'ack has no outboxId');
  const outboxId = normaliseGuid(rawId);
  if (outboxId === undefined) return malformed(MalformedAcknowledgementReasons.InvalidOutboxId, `ack outboxId must be a GUID, got ${describeValue(rawId)}`);
  const outcome = field(value, 'outcome');
  if (outcome !== 'processed' && outcome !== 'rejected') {
    return malformed(MalformedAcknowledgementReasons.InvalidOutcome, `ack outcome must be "processed" or "rejected", got ${describeValue(outcome)}`);
  }
  // processedAt is the consumer's clock: informative only, so an unreadable or out-of-range value becomes "now".
  const rawAt = field(value, 'processedAt');
  const at = typeof rawAt === 'string' && rawAt.length <= 40 ? Date.parse(rawAt) : NaN;
  const processedAt = Number.isFinite(at) && at >= EARLIEST && at <= LATEST ? new Date(at) : new Date();
  const messageId = field(value, 'messageId');
  const reason = field(value, 'reason');
  return {
    ack: {
      outboxId,
      messageId: typeof messageId === 'string' ? messageId.slice(0, MAX_MESSAGE_ID) : '',
      outcome,
      ...(typeof reason === 'string' ? { reason: reason.slice(0, MAX_REASON) } : {}),
      processedAt,
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
