// Row -> Service Bus message, exactly as the spec's "Row -> Service Bus message" section says.
import { DEFAULT_CONTENT_TYPE, isJsonContentType, MessageProperties } from '@dataverse-outbox/contract';
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

/** Maps a validated row (its target normalised). Throws SyntaxError if a JSON payload does not parse (validateRow reports that first). */
export function toOutboundMessage(row: OutboxRow): OutboundMessage {
  const contentType = row.contentType?.trim() || DEFAULT_CONTENT_TYPE;
  const payload = row.payload ?? '';
  const applicationProperties: Record<string, string | number> = {
    [MessageProperties.outboxId]: row.id,
    [MessageProperties.outboxMessageId]: logicalMessageId(row),
    [MessageProperties.outboxSequence]: row.sequence,
  };
  if (row.sourceEntity) applicationProperties[MessageProperties.sourceEntity] = row.sourceEntity;
  if (row.sourceId) applicationProperties[MessageProperties.sourceId] = row.sourceId;
  const message: OutboundMessage = {
    messageId: wireMessageId({ messageId: logicalMessageId(row), replayCount: row.replayCount }),
    body: isJsonContentType(contentType) ? (payload === '' ? null : JSON.parse(payload)) : payload,
    contentType,
    applicationProperties,
  };
  if (row.eventType) message.subject = row.eventType;
  if (row.correlationId) message.correlationId = row.correlationId;
  if (row.sessionKey) message.sessionId = row.sessionKey;
  return message;
}
