// Reads a received Service Bus message into an OutboxEvent (spec "Row -> Service Bus message"), or says precisely why it
// cannot be read. Nothing here touches the inbox: bad input is rejected before any write. All three message formats a
// target may be set to (obx_MessageFormats) give the handler the same event: the default format, CloudEvents binary
// mode (`cloudEvents:` application properties; `cloudEvents_` is read too) and structured mode
// (`application/cloudevents+json`), the last two with their CloudEvents attributes in `cloudEvent`.
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { CloudEvents, describeValue, MessageProperties, normaliseGuid, parseTraceParent, TraceProperties, type CloudEventAttributes } from '@dataverse-outbox/contract';

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
  /** The CloudEvents attributes, when the message is a CloudEvent (binary or structured mode); undefined otherwise. */
  readonly cloudEvent?: ReceivedCloudEvent;
  /**
   * The W3C trace context the message carries (`Diagnostic-Id`, else `traceparent`: the publisher's send span), when it
   * is a valid version-00 traceparent. The consumer runs the inbox transaction and the handler in a child span of it.
   */
  readonly traceParent?: string;
}

/** A received CloudEvent's attributes: the outbox's (contract CloudEventAttributes) and any extension attributes. */
export interface ReceivedCloudEvent extends Readonly<CloudEventAttributes> {
  readonly mode: 'binary' | 'structured';
  /** Attributes other than the core ones (names as sent, values as received). */
  readonly extensions: Readonly<Record<string, unknown>>;
}

export type ReadOutboxEventResult =
  /** `unacknowledgeable`: why no acknowledgement can be sent (no usable `outbox-id`); the message is still handled. */
  | { ok: true; event: OutboxEvent; unacknowledgeable?: string }
  | { ok: false; reason: DeadLetterReason; description: string; outboxId: string | undefined; outboxMessageId: string | undefined };

const jsonContentType = 'application/json';

/** The message's trace context, as the Azure SDK reads it (Diagnostic-Id) or by its W3C name; an invalid one is ignored. */
function traceParentOf(message: ServiceBusReceivedMessage): { traceParent?: string } {
  for (const name of [TraceProperties.diagnosticId, TraceProperties.traceParent]) {
    const value = message.applicationProperties?.[name];
    if (parseTraceParent(value) !== undefined) return { traceParent: value as string };
  }
  return {};
}

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
  const messageContentType = message.contentType ?? jsonContentType;
  const decoded = decodeBody(message.body, messageContentType);
  if (!decoded.ok) {
    return { ok: false, reason: DeadLetterReasons.InvalidBody, description: decoded.description, outboxId, outboxMessageId };
  }
  const cloud = readCloudEvent(message, messageContentType, decoded.payload);
  if (cloud && !cloud.ok) return { ok: false, reason: cloud.reason, description: cloud.description, outboxId, outboxMessageId };
  const contentType = cloud?.contentType ?? messageContentType;
  const payload = cloud ? cloud.payload : decoded.payload;
  const sequenceText = stringProperty(message, MessageProperties.outboxSequence);
  const sequence = sequenceText === undefined ? undefined : Number(sequenceText);
  const event: OutboxEvent = {
    outboxMessageId,
    outboxId,
    eventType: cloud?.event.type ?? message.subject ?? '',
    payload,
    contentType,
    correlationId: idToString(message.correlationId),
    sessionKey: message.sessionId,
    sourceEntity: stringProperty(message, MessageProperties.sourceEntity),
    sourceId: stringProperty(message, MessageProperties.sourceId),
    outboxSequence: sequence !== undefined && Number.isFinite(sequence) ? sequence : undefined,
    messageId: idToString(message.messageId) ?? '',
    deliveryCount: message.deliveryCount ?? 0,
    enqueuedTime: message.enqueuedTimeUtc,
    ...(cloud ? { cloudEvent: cloud.event } : {}),
    ...traceParentOf(message),
  };
  const unacknowledgeable =
    outboxId !== undefined
      ? undefined
      : rawOutboxId === undefined || rawOutboxId === null || rawOutboxId === ''
        ? `application property "${MessageProperties.outboxId}" is missing`
        : `application property "${MessageProperties.outboxId}" is not a GUID (got ${describeValue(rawOutboxId)})`;
  return unacknowledgeable ? { ok: true, event, unacknowledgeable } : { ok: true, event };
}

type CloudEventReading =
  | { ok: true; event: ReceivedCloudEvent; payload: unknown; contentType: string }
  | { ok: false; reason: DeadLetterReason; description: string };

const coreAttributes = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype'] as const;

/** A binary-mode attribute under either prefix (the binding's `cloudEvents:`, or `cloudEvents_`). */
function binaryAttribute(message: ServiceBusReceivedMessage, name: string): unknown {
  const properties = message.applicationProperties ?? {};
  const value = properties[`${CloudEvents.propertyPrefix}${name}`];
  return value !== undefined ? value : properties[`${CloudEvents.alternatePropertyPrefix}${name}`];
}

/** Why a CloudEvent's attributes are unusable (the binding allows a timestamp in native AMQP form too), or the attributes. */
function checkAttributes(raw: Record<string, unknown>, where: string): { ok: true; attributes: CloudEventAttributes } | { ok: false; description: string } {
  const text: Record<string, string | undefined> = {};
  for (const name of coreAttributes) {
    const value = raw[name];
    if (value === undefined || value === null) continue;
    if (name === 'time' && value instanceof Date) {
      if (Number.isNaN(value.getTime())) return { ok: false, description: `${where}time is not a valid timestamp` };
      text[name] = value.toISOString();
      continue;
    }
    if (typeof value !== 'string') return { ok: false, description: `${where}${name} must be a string, got ${describeValue(value)}` };
    const problem = controlCharacterProblem(value);
    if (problem) return { ok: false, description: `${where}${name} ${problem}` };
    text[name] = value;
  }
  if (text.specversion !== CloudEvents.specVersion) {
    return { ok: false, description: `${where}specversion must be "${CloudEvents.specVersion}", got ${describeValue(raw.specversion ?? null)}` };
  }
  for (const name of ['id', 'source', 'type'] as const) {
    if (!text[name]) return { ok: false, description: `${where}${name} is missing or empty: a CloudEvent requires it` };
  }
  if (text.time !== undefined && Number.isNaN(Date.parse(text.time))) return { ok: false, description: `${where}time is not an RFC 3339 timestamp, got ${describeValue(text.time)}` };
  const attributes: CloudEventAttributes = { specversion: text.specversion, id: text.id!, source: text.source!, type: text.type! };
  if (text.subject !== undefined) attributes.subject = text.subject;
  if (text.time !== undefined) attributes.time = text.time;
  if (text.datacontenttype !== undefined) attributes.datacontenttype = text.datacontenttype;
  return { ok: true, attributes };
}

/**
 * The CloudEvent a message carries, per the AMQP binding: structured when the content type is a CloudEvents media type
 * (only the JSON event format is read), binary when the `specversion` property is there; undefined for the default
 * format. In structured mode the handler's payload and content type are the event's data and datacontenttype.
 */
function readCloudEvent(message: ServiceBusReceivedMessage, contentType: string, body: unknown): CloudEventReading | undefined {
  const type = mediaType(contentType);
  if (type.startsWith(CloudEvents.mediaTypePrefix)) {
    if (type !== CloudEvents.jsonContentType) {
      return { ok: false, reason: DeadLetterReasons.InvalidBody, description: `content type ${type} is a CloudEvents event format this consumer does not read (only ${CloudEvents.jsonContentType})` };
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
      return { ok: false, reason: DeadLetterReasons.InvalidBody, description: `a structured CloudEvent must be a JSON object, got ${Array.isArray(body) ? 'an array' : describeValue(body)}` };
    }
    const envelope = body as Record<string, unknown>;
    const checked = checkAttributes(envelope, 'structured CloudEvent: ');
    if (!checked.ok) return { ok: false, reason: DeadLetterReasons.InvalidBody, description: checked.description };
    const extensions = Object.fromEntries(Object.entries(envelope).filter(([k]) => !(coreAttributes as readonly string[]).includes(k) && k !== 'data' && k !== 'data_base64'));
    const dataContentType = checked.attributes.datacontenttype ?? jsonContentType;
    let payload: unknown = envelope.data === undefined ? null : envelope.data;
    if (envelope.data_base64 !== undefined) {
      if (typeof envelope.data_base64 !== 'string') return { ok: false, reason: DeadLetterReasons.InvalidBody, description: 'structured CloudEvent: data_base64 must be a string' };
      payload = Buffer.from(envelope.data_base64, 'base64');
    }
    return { ok: true, event: { ...checked.attributes, mode: 'structured', extensions }, payload, contentType: dataContentType };
  }
  if (binaryAttribute(message, 'specversion') === undefined) return undefined;
  const raw: Record<string, unknown> = {};
  for (const name of coreAttributes) raw[name] = binaryAttribute(message, name);
  // datacontenttype is the AMQP content-type in binary mode.
  raw.datacontenttype = message.contentType;
  const checked = checkAttributes(raw, 'CloudEvents application property ');
  if (!checked.ok) return { ok: false, reason: DeadLetterReasons.InvalidMessageProperty, description: checked.description };
  const extensions: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.applicationProperties ?? {})) {
    for (const prefix of [CloudEvents.propertyPrefix, CloudEvents.alternatePropertyPrefix]) {
      const attribute = name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
      if (attribute !== undefined && !(coreAttributes as readonly string[]).includes(attribute)) extensions[attribute] = value;
    }
  }
  return { ok: true, event: { ...checked.attributes, mode: 'binary', extensions }, payload: body, contentType };
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
