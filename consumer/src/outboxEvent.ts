// Reads a received Service Bus message into an OutboxEvent (spec "Row -> Service Bus message"), or says precisely why it
// cannot be read. Nothing here touches the inbox: bad input is rejected before any write.
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { describeValue, MessageProperties, normaliseGuid } from '@dataverse-outbox/contract';

import { DeadLetterReasons, type DeadLetterReason } from './errors';

/** One logical outbox message as a handler sees it. */
export interface OutboxEvent<TPayload = unknown> {
  /** `outbox-message-id`: the logical id the inbox deduplicates on (no replay suffix). */
  readonly outboxMessageId: string;
  /** `outbox-id`: the outbox row id (normalised GUID), used in acknowledgements; undefined when missing or not a GUID. */
  readonly outboxId: string | undefined;
  /** The Service Bus `subject` (obx_eventtype); empty when absent. */
  readonly eventType: string;
  /** The decoded body: parsed JSON for JSON content (the default), a string for text, a Buffer otherwise. */
  readonly payload: TPayload;
  readonly contentType: string;
  readonly correlationId: string | undefined;
  /** The Service Bus `sessionId` (obx_sessionkey): the ordering key. */
  readonly sessionKey: string | undefined;
  readonly sourceEntity: string | undefined;
  readonly sourceId: string | undefined;
  /** `outbox-sequence` (obx_sequence): FIFO position within the outbox. */
  readonly outboxSequence: number | undefined;
  /** The Service Bus messageId of this delivery (`obx_messageid`, plus `#r<n>` for replays). */
  readonly messageId: string;
  /** How many times Service Bus delivered this message before (0 on the first delivery). */
  readonly deliveryCount: number;
  readonly enqueuedTime: Date | undefined;
}

export type ReadOutboxEventResult =
  /** `unacknowledgeable`: why no acknowledgement can be sent (no usable `outbox-id`); the message is still handled. */
  | { ok: true; event: OutboxEvent; unacknowledgeable?: string }
  | { ok: false; reason: DeadLetterReason; description: string; outboxId: string | undefined; outboxMessageId: string | undefined };

const jsonContentType = 'application/json';

function stringProperty(message: ServiceBusReceivedMessage, name: string): string | undefined {
  const value = message.applicationProperties?.[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function idToString(value: string | number | Buffer | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value.toString('hex');
  return String(value);
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function isJson(contentType: string): boolean {
  const type = mediaType(contentType);
  return type === jsonContentType || type.endsWith('+json');
}

type DecodeResult = { ok: true; payload: unknown } | { ok: false; description: string };

// One decoder for every message: decode() of a whole buffer keeps no state between calls (constructing one per
// message showed up in the consumer benchmark's profile).
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes the body for its content type. The receiver runs with skipParsingBodyAsJson, so data bodies arrive as bytes. */
export function decodeBody(body: unknown, contentType: string): DecodeResult {
  const json = isJson(contentType);
  const text = mediaType(contentType).startsWith('text/');
  let raw: string | undefined;
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    if (!json && !text) return { ok: true, payload: Buffer.from(body) };
    try {
      raw = utf8.decode(body);
    } catch {
      return { ok: false, description: `body is not valid UTF-8 for content type ${contentType}` };
    }
  } else if (typeof body === 'string') {
    raw = body;
  } else {
    // An AMQP value/sequence body the SDK already decoded (for example a JSON object sent by a non-outbox producer).
    if (body === undefined || body === null) return { ok: false, description: 'body is empty' };
    return { ok: true, payload: body };
  }
  if (!json) return { ok: true, payload: raw };
  if (raw.trim().length === 0) return { ok: false, description: 'body is empty' };
  try {
    return { ok: true, payload: JSON.parse(raw) as unknown };
  } catch (error) {
    return { ok: false, description: `body is not valid JSON: ${(error as Error).message}` };
  }
}

/** The longest `outbox-message-id` the inbox takes (obx_messageid is 100 characters; generous for other producers). */
export const maxOutboxMessageIdLength = 1024;

/** C0 and C1 control characters and DEL: never part of an id, and NUL cannot be stored in PostgreSQL text. */
function isControlCharacter(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

function controlCharacterProblem(value: string): string | undefined {
  for (let at = 0; at < value.length; at++) {
    const code = value.charCodeAt(at);
    if (isControlCharacter(code)) return `contains a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${at})`;
  }
  return undefined;
}

/** Why `outbox-message-id` cannot be an inbox key, or undefined when it can. */
function outboxMessageIdProblem(raw: unknown, value: string): string | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return `must be a string, got ${raw === null ? 'null' : Buffer.isBuffer(raw) ? 'bytes' : typeof raw}`;
  if (value.length > maxOutboxMessageIdLength) return `is ${value.length} characters long (at most ${maxOutboxMessageIdLength})`;
  return controlCharacterProblem(value);
}

export function readOutboxEvent(message: ServiceBusReceivedMessage): ReadOutboxEventResult {
  const rawOutboxId = message.applicationProperties?.[MessageProperties.outboxId];
  // Only a GUID is kept (and stored, and acknowledged): anything else would be dead-lettered by the publisher.
  const outboxId = normaliseGuid(rawOutboxId);
  const rawMessageId = message.applicationProperties?.[MessageProperties.outboxMessageId];
  const present = rawMessageId !== undefined && rawMessageId !== null && rawMessageId !== '';
  const outboxMessageId = stringProperty(message, MessageProperties.outboxMessageId);
  if (!present) {
    return {
      ok: false,
      reason: DeadLetterReasons.MissingOutboxMessageId,
      description: `application property "${MessageProperties.outboxMessageId}" is missing or empty; the message cannot be deduplicated`,
      outboxId,
      outboxMessageId: undefined,
    };
  }
  const idProblem = outboxMessageIdProblem(rawMessageId, outboxMessageId ?? '');
  if (idProblem || !outboxMessageId) {
    return {
      ok: false,
      reason: DeadLetterReasons.InvalidOutboxMessageId,
      description: `application property "${MessageProperties.outboxMessageId}" ${idProblem ?? 'is not usable'}; the message cannot be deduplicated`,
      outboxId,
      // Not a usable key: no rejected acknowledgement can name it either.
      outboxMessageId: undefined,
    };
  }
  for (const [name, value] of [
    ['subject', message.subject],
    ['sessionId', message.sessionId],
    ['messageId', typeof message.messageId === 'string' ? message.messageId : undefined],
  ] as const) {
    const problem = typeof value === 'string' ? controlCharacterProblem(value) : undefined;
    if (problem) return { ok: false, reason: DeadLetterReasons.InvalidMessageProperty, description: `${name} ${problem}`, outboxId, outboxMessageId };
  }
  const contentType = message.contentType ?? jsonContentType;
  const decoded = decodeBody(message.body, contentType);
  if (!decoded.ok) {
    return { ok: false, reason: DeadLetterReasons.InvalidBody, description: decoded.description, outboxId, outboxMessageId };
  }
  const sequenceText = stringProperty(message, MessageProperties.outboxSequence);
  const sequence = sequenceText === undefined ? undefined : Number(sequenceText);
  const event: OutboxEvent = {
    outboxMessageId,
    outboxId,
    eventType: message.subject ?? '',
    payload: decoded.payload,
    contentType,
    correlationId: idToString(message.correlationId),
    sessionKey: message.sessionId,
    sourceEntity: stringProperty(message, MessageProperties.sourceEntity),
    sourceId: stringProperty(message, MessageProperties.sourceId),
    outboxSequence: sequence !== undefined && Number.isFinite(sequence) ? sequence : undefined,
    messageId: idToString(message.messageId) ?? '',
    deliveryCount: message.deliveryCount ?? 0,
    enqueuedTime: message.enqueuedTimeUtc,
  };
  const unacknowledgeable =
    outboxId !== undefined
      ? undefined
      : rawOutboxId === undefined || rawOutboxId === null || rawOutboxId === ''
        ? `application property "${MessageProperties.outboxId}" is missing`
        : `application property "${MessageProperties.outboxId}" is not a GUID (got ${describeValue(rawOutboxId)})`;
  return unacknowledgeable ? { ok: true, event, unacknowledgeable } : { ok: true, event };
}

/** Default schema-version reader: the payload's `schemaVersion` field, when the payload is a JSON object. */
export function payloadSchemaVersion(event: OutboxEvent): string | number | undefined {
  const payload = event.payload;
  if (payload && typeof payload === 'object' && !Buffer.isBuffer(payload) && 'schemaVersion' in payload) {
    const version = (payload as { schemaVersion: unknown }).schemaVersion;
    if (typeof version === 'string' || typeof version === 'number') return version;
  }
  return undefined;
}
