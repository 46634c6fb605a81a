// Row -> Service Bus message, exactly as the spec's "Row -> Service Bus message" section says, in the format the row's
// target is set to (obx_MessageFormats): the default, or CloudEvents 1.0 in the AMQP binding's binary or structured mode.
import {
  CloudEvents,
  cloudEventSource,
  DEFAULT_CONTENT_TYPE,
  isJsonContentType,
  MessageFormat,
  MessageProperties,
  TraceProperties,
  type CloudEventAttributes,
  type MessageFormatName,
} from '@dataverse-outbox/contract';
import type { OutboxRow } from './row';

/** The message as the core describes it; the Service Bus adapter hands it to the SDK unchanged. */
export interface OutboundMessage {
  messageId: string;
  body: unknown;
  contentType: string;
  subject?: string;
  correlationId?: string;
  sessionId?: string;
  applicationProperties: Record<string, string | number>;
}

// The default content type and which content types carry JSON: the contract's one definition, which the writers use too.
export { DEFAULT_CONTENT_TYPE, isJsonContentType };

/**
 * The logical message id: obx_messageid, or the row id when the row has none (a plug-in, a flow or a raw Web API call
 * wrote it without one; the spec's default). Consumers deduplicate on it (`outbox-message-id`).
 */
export function logicalMessageId(row: Pick<OutboxRow, 'id' | 'messageId'>): string {
  return row.messageId || row.id;
}

/** The Service Bus messageId: the logical id, plus `#r<n>` after n operator replays so duplicate detection lets it through. */
export function wireMessageId(row: Pick<OutboxRow, 'messageId' | 'replayCount'>): string {
  return row.replayCount > 0 ? `${row.messageId}#r${row.replayCount}` : row.messageId;
}

/** How one target's messages are shaped. */
export interface MessageFormatContext {
  format: MessageFormatName;
  /** The Dataverse environment URL: the base of the CloudEvents `source`. Needed for the CloudEvents formats only. */
  environmentUrl?: string;
  /**
   * The publisher's send span (tracing.ts): set as the message's Diagnostic-Id and traceparent, which @azure/service-bus
   * then leaves as they are and its receivers, the Functions trigger and OpenTelemetry consumers continue.
   */
  traceParent?: string;
}

const defaultFormat: MessageFormatContext = { format: MessageFormat.Default };

/** Structured mode's content type: the JSON event format, UTF-8 as JSON always is. */
export const CLOUDEVENTS_STRUCTURED_CONTENT_TYPE = `${CloudEvents.jsonContentType}; charset=utf-8`;

/**
 * The CloudEvents attributes of a row. A replay is the same event again, so `id` is the logical id without `#r<n>`
 * (CloudEvents consumers deduplicate on source + id); the Service Bus messageId keeps the suffix. Throws when the row
 * has no event type or the environment is unknown: validateRow reports both first, so no half-formed event is sent.
 */
export function cloudEventAttributes(row: OutboxRow, environmentUrl: string | undefined): CloudEventAttributes {
  const type = row.eventType?.trim();
  if (!type) throw new TypeError('CloudEvents need obx_eventtype');
  if (!environmentUrl) throw new TypeError('CloudEvents need the Dataverse environment URL');
  const attributes: CloudEventAttributes = {
    specversion: CloudEvents.specVersion,
    id: logicalMessageId(row),
    source: cloudEventSource(environmentUrl, row.sourceEntity),
    type,
    datacontenttype: row.contentType?.trim() || DEFAULT_CONTENT_TYPE,
  };
  if (row.sourceId) attributes.subject = row.sourceId;
  if (row.createdOn) attributes.time = row.createdOn.toISOString();
  return attributes;
}

/**
 * The properties a send span's context travels in: Diagnostic-Id (what @azure/service-bus and the Functions trigger read)
 * and traceparent (W3C), the same value. One rule for every source's messages; none without a context.
 */
export function traceApplicationProperties(traceParent: string | undefined): Record<string, string> {
  return traceParent ? { [TraceProperties.diagnosticId]: traceParent, [TraceProperties.traceParent]: traceParent } : {};
}

/** Maps a validated row (its target normalised). Throws SyntaxError if a JSON payload does not parse (validateRow reports that first). */
export function toOutboundMessage(row: OutboxRow, context: MessageFormatContext = defaultFormat): OutboundMessage {
  const contentType = row.contentType?.trim() || DEFAULT_CONTENT_TYPE;
  const payload = row.payload ?? '';
  const applicationProperties: Record<string, string | number> = {
    [MessageProperties.outboxId]: row.id,
    [MessageProperties.outboxMessageId]: logicalMessageId(row),
    [MessageProperties.outboxSequence]: row.sequence,
  };
  if (row.sourceEntity) applicationProperties[MessageProperties.sourceEntity] = row.sourceEntity;
  if (row.sourceId) applicationProperties[MessageProperties.sourceId] = row.sourceId;
  Object.assign(applicationProperties, traceApplicationProperties(context.traceParent));
  const message: OutboundMessage = {
    messageId: wireMessageId({ messageId: logicalMessageId(row), replayCount: row.replayCount }),
    body: isJsonContentType(contentType) ? (payload === '' ? null : JSON.parse(payload)) : payload,
    contentType,
    applicationProperties,
  };
  if (row.eventType) message.subject = row.eventType;
  if (row.correlationId) message.correlationId = row.correlationId;
  if (row.sessionKey) message.sessionId = row.sessionKey;
  if (context.format === MessageFormat.Default) return message;
  return inMessageFormat(message, cloudEventAttributes(row, context.environmentUrl), context.format, payload !== '');
}

/**
 * Reshapes a default-format message into a CloudEvents format: the one definition the outbox rows and the
 * change-tracking sources share. The outbox's own properties stay (acknowledgements and the consumer's deduplication use
 * them). `hasData`: false for an empty payload (structured mode then has no `data` member).
 */
export function inMessageFormat(message: OutboundMessage, attributes: CloudEventAttributes, format: MessageFormatName, hasData: boolean): OutboundMessage {
  if (format === MessageFormat.Default) return message;
  const { datacontenttype, ...rest } = attributes;
  if (format === MessageFormat.CloudEventsBinary) {
    // Binary mode: every attribute but datacontenttype (the AMQP content-type) as a `cloudEvents:` property, in the
    // canonical string form the binding allows; the body is the payload, as in the default format.
    const applicationProperties = { ...message.applicationProperties };
    for (const [name, value] of Object.entries(rest)) if (value !== undefined) applicationProperties[`${CloudEvents.propertyPrefix}${name}`] = value;
    return { ...message, applicationProperties };
  }
  // Structured mode: the JSON event format. JSON data is embedded as JSON, any other payload as a string.
  const envelope: Record<string, unknown> = { ...rest, datacontenttype: datacontenttype ?? message.contentType };
  if (hasData) envelope.data = message.body;
  return { ...message, body: envelope, contentType: CLOUDEVENTS_STRUCTURED_CONTENT_TYPE };
}
