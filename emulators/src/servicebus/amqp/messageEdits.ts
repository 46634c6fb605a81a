// Applies a rule action's edits to an encoded AMQP message: system properties map to the AMQP properties section
// (Service Bus's mapping: Label/Subject = subject, SessionId = group-id, ...), user properties to application-properties.
import { message as amqpMessage, types, type Message } from 'rhea';
import { putProperty, type PropertyEdits } from '../filters/ruleAction';
import type { SettableSystemField } from '../filters/systemProperties';
import { decodeMessage } from './codec';

const amqpField: Record<SettableSystemField, keyof Message> = {
  messageId: 'message_id',
  correlationId: 'correlation_id',
  sessionId: 'group_id',
  replyToSessionId: 'reply_to_group_id',
  contentType: 'content_type',
  subject: 'subject',
  to: 'to',
  replyTo: 'reply_to',
};

/** An Int64 beyond 2^53 is written as an AMQP long; every other value as rhea types it. */
function wire(value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(value);
  return types.wrap_long(buffer);
}

export function editPayload(payload: Buffer, edits: PropertyEdits): Buffer {
  const m = decodeMessage(payload);
  const fields = m as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(edits.system) as Array<[SettableSystemField, string | undefined]>) {
    if (value === undefined) delete fields[amqpField[field]];
    else fields[amqpField[field]] = value;
  }
  const ap: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((m.application_properties as Record<string, unknown> | undefined) ?? {})) putProperty(ap, key, value);
  for (const key of edits.remove) delete ap[key];
  for (const [key, value] of Object.entries(edits.set)) putProperty(ap, key, wire(value));
  m.application_properties = ap;
  return amqpMessage.encode(m);
}
