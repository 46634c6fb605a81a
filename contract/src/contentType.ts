// obx_contenttype: which values the publisher sends, and which of them carry JSON. The writers refuse what the publisher
// would fail (outboxRow.ts), and the publisher decides JSON or text with the same function, so a row checked as JSON
// when written is sent as JSON.
import { OutboxMessage } from './generated/names';

export const DEFAULT_CONTENT_TYPE = 'application/json';

/** Longest content type sent: the column's length (an AMQP content-type is a symbol; Service Bus sets no lower limit). */
export const MAX_CONTENT_TYPE_LENGTH = OutboxMessage.maxLength.obx_contenttype;

// A MIME type (type/subtype, optional parameters) in printable ASCII: an AMQP content-type is a symbol (ASCII only).
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;[\x20-\x7e]*)?$/;

/** True for a MIME type such as `application/json; charset=utf-8` (trimmed, at most MAX_CONTENT_TYPE_LENGTH). */
export function isMimeContentType(contentType: string): boolean {
  return contentType.length <= MAX_CONTENT_TYPE_LENGTH && CONTENT_TYPE.test(contentType);
}

/** Empty (the default), application/json and any `+json` type carry JSON; everything else is sent as text. */
export function isJsonContentType(contentType: string | null | undefined): boolean {
  const ct = ((contentType || '').trim().toLowerCase().split(';')[0] || '').trim();
  return ct === '' || ct === 'application/json' || ct.endsWith('+json');
}
