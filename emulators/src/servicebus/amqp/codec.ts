// Wire encodings Service Bus uses on top of AMQP 1.0: batch envelopes, lock tokens as delivery tags, .NET ticks,
// and the broker annotations a delivered message carries (read from the @azure/service-bus 7.9.5 source).
import { randomUUID } from 'node:crypto';
import { message as amqpMessage, string_to_uuid, types, uuid_to_string, type Message } from 'rhea';
import type { Delivery, IncomingMessage, MessageProperties } from '../core/Broker';

/** Message format of a batch: an envelope whose body is data sections, each a whole encoded message. */
export const batchMessageFormat = 0x80013700;

export const annotations = {
  sequenceNumber: 'x-opt-sequence-number',
  enqueuedTime: 'x-opt-enqueued-time',
  lockedUntil: 'x-opt-locked-until',
  messageState: 'x-opt-message-state',
  scheduledEnqueueTime: 'x-opt-scheduled-enqueue-time',
  deadLetterSource: 'x-opt-deadletter-source',
  /** Delivery annotation: the lock token of a message that did not come on a link (no delivery tag to carry it). */
  lockToken: 'x-opt-lock-token',
} as const;

const messageStateCodes = { active: 0, deferred: 1, scheduled: 2 } as const;

/** .NET and the SDK put the first three GUID groups of a lock token on the wire byte-reversed. */
function reorderGuidBytes(b: Buffer): Buffer {
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8, 16)]);
}

export function lockTokenToDeliveryTag(lockToken: string): Buffer {
  return reorderGuidBytes(string_to_uuid(lockToken));
}

export function lockTokenFromDeliveryTag(tag: Buffer): string {
  return uuid_to_string(reorderGuidBytes(tag));
}

/** Lock tokens in management requests are AMQP uuids in standard byte order. */
export function lockTokenFromUuid(value: unknown): string {
  if (Buffer.isBuffer(value) && value.length === 16) return uuid_to_string(value);
  if (typeof value === 'string') return value.toLowerCase();
  throw new TypeError('lock token is not a uuid');
}

export function lockTokenToUuid(lockToken: string): unknown {
  return types.wrap_uuid(string_to_uuid(lockToken));
}

/** A DateTime as .NET ticks (100 ns since 0001-01-01), encoded as an AMQP long. */
export function dotnetTicks(ms: number): unknown {
  const ticks = BigInt(Math.trunc(ms)) * 10_000n + 621_355_968_000_000_000n;
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(ticks);
  return types.wrap_long(buffer);
}

export function toLong(n: number): unknown {
  return types.wrap_long(n);
}

/** Reads an AMQP long that rhea decoded either as a number or (beyond 2^53) as 8 bytes. */
export function longToNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE());
  throw new TypeError('not an AMQP long');
}

/** Decodes one encoded AMQP message. */
export function decodeMessage(encoded: Buffer): Message {
  return amqpMessage.decode(encoded) as unknown as Message;
}

/** Splits a received transfer into the encoded messages it carries. */
export function splitTransfer(format: number | undefined, message: Message | Buffer): Array<{ payload: Buffer; message: Message }> {
  if (!format) {
    const decoded = message as Message;
    return [{ payload: amqpMessage.encode(decoded), message: decoded }];
  }
  if (format !== batchMessageFormat) throw new TypeError(`unsupported message format 0x${format.toString(16)}`);
  const envelope = decodeMessage(message as Buffer);
  const body = envelope.body as { typecode?: number; content?: unknown; multiple?: boolean } | undefined;
  if (!body || body.typecode !== 0x75) throw new TypeError('a batch envelope must carry data sections');
  const parts = (body.multiple ? body.content : [body.content]) as Buffer[];
  return parts.map((payload) => ({ payload, message: decodeMessage(payload) }));
}

function asString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.length === 16 ? uuid_to_string(value) : value.toString('hex');
  return String(value);
}

/** The properties the broker routes, filters and deduplicates on, plus TTL and schedule. */
export function toIncomingMessage(payload: Buffer, m: Message): IncomingMessage {
  if (m.message_id === undefined || m.message_id === null) {
    // Service Bus gives every message an id; receivers (the SDK's lock renewer among them) rely on it.
    m.message_id = randomUUID().replace(/-/g, '');
    payload = amqpMessage.encode(m);
  }
  const ma = (m.message_annotations ?? {}) as Record<string, unknown>;
  const scheduled = ma[annotations.scheduledEnqueueTime];
  const properties: MessageProperties = {
    messageId: asString(m.message_id),
    sessionId: asString(m.group_id),
    correlationId: asString(m.correlation_id),
    contentType: asString(m.content_type),
    subject: asString(m.subject),
    replyTo: asString(m.reply_to),
    replyToSessionId: asString(m.reply_to_group_id),
    to: asString(m.to),
    applicationProperties: (m.application_properties ?? undefined) as Record<string, unknown> | undefined,
  };
  return {
    payload,
    properties,
    timeToLiveInMs: typeof m.ttl === 'number' && m.ttl > 0 ? m.ttl : undefined,
    scheduledEnqueueTimeUtc: scheduled instanceof Date ? scheduled.getTime() : typeof scheduled === 'number' ? scheduled : undefined,
  };
}

/** The encoded message with these application properties set (a receiver's `propertiesToModify`). */
export function withApplicationProperties(payload: Buffer, properties: Record<string, unknown>): Buffer {
  const m = decodeMessage(payload);
  m.application_properties = { ...((m.application_properties as Record<string, unknown> | undefined) ?? {}), ...properties };
  return amqpMessage.encode(m);
}

/**
 * The message as a receiver gets it: the sender's message plus the broker's header and annotations. A message handed
 * over in a management reply (receive-by-sequence-number) has no delivery tag, so `withLockToken` puts its lock token
 * in the delivery annotations, where the Python and .NET SDKs read it.
 */
export function encodeForDelivery(d: Delivery, withLockToken = false): Buffer {
  const m = decodeMessage(d.message.payload);
  m.delivery_count = d.deliveryCount;
  const ma: Record<string, unknown> = { ...((m.message_annotations as Record<string, unknown> | undefined) ?? {}) };
  ma[annotations.sequenceNumber] = types.wrap_long(d.message.sequenceNumber);
  ma[annotations.enqueuedTime] = new Date(d.message.enqueuedAt);
  if (d.lockedUntil !== undefined) ma[annotations.lockedUntil] = new Date(d.lockedUntil);
  if (d.state !== 'active') ma[annotations.messageState] = types.wrap_int(messageStateCodes[d.state]);
  if (d.message.deadLetter?.source) ma[annotations.deadLetterSource] = d.message.deadLetter.source;
  m.message_annotations = ma;
  if (withLockToken && d.lockToken) m.delivery_annotations = { [annotations.lockToken]: lockTokenToUuid(d.lockToken) };
  const dl = d.message.deadLetter;
  if (dl) {
    const ap: Record<string, unknown> = { ...((m.application_properties as Record<string, unknown> | undefined) ?? {}) };
    if (dl.reason !== undefined) ap.DeadLetterReason = dl.reason;
    if (dl.description !== undefined) ap.DeadLetterErrorDescription = dl.description;
    m.application_properties = ap;
  }
  return amqpMessage.encode(m);
}
