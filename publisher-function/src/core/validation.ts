// Row-level checks made before sending. A row that fails one can never succeed by retrying, so it ends Failed at
// once with a reason an operator can act on (invariant 5), and the rest of the batch goes on. Reasons say where a
// problem is, never quote the payload (it is business data and may be hostile).
import {
  checkJson,
  entityNameProblem,
  isCloudEventsFormat,
  isMimeContentType,
  MAX_CONTENT_TYPE_LENGTH,
  MAX_JSON_DEPTH,
  normaliseEntityName,
  Settings,
  type JsonProblem,
  type MessageFormatName,
} from '@dataverse-outbox/contract';
import { isJsonContentType, logicalMessageId, wireMessageId } from './mapping';
import type { OutboxRow } from './row';

export type RowProblemCode =
  | 'TargetNotAllowed'
  | 'InvalidTarget'
  | 'Expired'
  | 'MalformedPayload'
  | 'PayloadTooDeep'
  | 'PayloadTooLarge'
  | 'InvalidContentType'
  | 'InvalidMessageProperty'
  /** The target is set to CloudEvents (obx_MessageFormats), which needs obx_eventtype for the `type` attribute. */
  | 'MissingEventType'
  /** The target is set to CloudEvents, but this publisher was given no Dataverse environment URL for `source`. */
  | 'CloudEventSourceUnknown';

export interface RowProblem {
  code: RowProblemCode;
  /** Written to obx_lasterror. */
  reason: string;
}

export interface RowValidationContext {
  /** Normalised (normaliseEntityName), as parseSettings returns them. */
  allowedTargets: readonly string[];
  now: Date;
  /** Largest message the target accepts (Service Bus entity max size), when known. */
  maxMessageSizeInBytes?: (target: string) => number | undefined;
  /** The format of a (normalised) target, from obx_MessageFormats. Default: the default format for every target. */
  messageFormatOf?: (target: string) => MessageFormatName;
  /** The Dataverse environment URL (the CloudEvents `source`); needed only for CloudEvents targets. */
  environmentUrl?: string;
}

/** Bytes Service Bus adds around the body for our headers and properties; kept generous so the check never passes a message the broker refuses. */
export const MESSAGE_OVERHEAD_IN_BYTES = 1024;
/** Deepest JSON nesting sent: the contract's, which the writers check too. */
export { MAX_JSON_DEPTH };
/** obx_payload holds at most 1,048,576 characters; a longer payload (a raw write the column did not stop) is refused. */
export const MAX_PAYLOAD_CHARACTERS = 1_048_576;
/** Service Bus refuses a messageId or sessionId longer than 128 characters. */
export const MAX_BROKER_ID_LENGTH = 128;

export function payloadSizeInBytes(row: Pick<OutboxRow, 'payload'>): number {
  return Buffer.byteLength(row.payload ?? '', 'utf8');
}

/** Characters below U+0020 (and DEL), shown by position: they break headers and logs. */
function controlCharacterAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return i;
  }
  return -1;
}

function targetProblem(row: OutboxRow, ctx: RowValidationContext): RowProblem | undefined {
  const allowed = ctx.allowedTargets.length === 0 ? 'none are configured' : ctx.allowedTargets.map((t) => `"${t}"`).join(', ');
  if ((row.target ?? '').trim() === '') return { code: 'TargetNotAllowed', reason: `The row has no target; allowed targets in obx_AllowedTargets: ${allowed}.` };
  const invalid = entityNameProblem(row.target);
  if (invalid) return { code: 'InvalidTarget', reason: `obx_target is unusable: ${invalid}. Fix the producer, then retry or cancel the row.` };
  const target = normaliseEntityName(row.target)!;
  if (!ctx.allowedTargets.includes(target)) return { code: 'TargetNotAllowed', reason: `Target "${target}" is not in obx_AllowedTargets (allowed: ${allowed}).` };
  return undefined;
}

function propertyProblem(row: OutboxRow): RowProblem | undefined {
  const id = wireMessageId({ messageId: logicalMessageId(row), replayCount: row.replayCount });
  if (id.length > MAX_BROKER_ID_LENGTH) {
    return { code: 'InvalidMessageProperty', reason: `The message id (obx_messageid with its replay suffix) is ${id.length} characters; Service Bus accepts at most ${MAX_BROKER_ID_LENGTH}.` };
  }
  if (row.sessionKey !== undefined && row.sessionKey.length > MAX_BROKER_ID_LENGTH) {
    return { code: 'InvalidMessageProperty', reason: `obx_sessionkey is ${row.sessionKey.length} characters; Service Bus accepts a session id of at most ${MAX_BROKER_ID_LENGTH}.` };
  }
  const contentType = row.contentType?.trim();
  if (contentType && !isMimeContentType(contentType)) {
    const at = controlCharacterAt(contentType);
    return {
      code: 'InvalidContentType',
      reason: `obx_contenttype is not a MIME type such as application/json (${contentType.length} characters${at >= 0 ? `, a control character at position ${at + 1}` : ''}; printable ASCII type/subtype, at most ${MAX_CONTENT_TYPE_LENGTH}).`,
    };
  }
  return undefined;
}

function payloadProblem(row: OutboxRow, ctx: RowValidationContext, target: string): RowProblem | undefined {
  const payload = row.payload ?? '';
  if (payload.length > MAX_PAYLOAD_CHARACTERS) {
    return { code: 'PayloadTooLarge', reason: `Payload too large: ${payload.length} characters; obx_payload holds at most ${MAX_PAYLOAD_CHARACTERS}. Send a smaller payload or a reference to the data.` };
  }
  if (isJsonContentType(row.contentType) && payload !== '') {
    const p = checkJson(payload, MAX_JSON_DEPTH);
    if (p?.kind === 'depth') {
      return {
        code: 'PayloadTooDeep',
        reason: `JSON payload nested deeper than ${MAX_JSON_DEPTH} levels (level ${MAX_JSON_DEPTH + 1} opens at line ${p.line}, column ${p.column}); flatten the event.`,
      };
    }
    if (p) {
      return {
        code: 'MalformedPayload',
        reason: `Malformed JSON payload (${p.detail} ${whereInPayload(p, payload.length)}); obx_contenttype is "${row.contentType?.trim() || 'application/json'}". Fix the producer, then retry or cancel the row.`,
      };
    }
  }
  const max = ctx.maxMessageSizeInBytes?.(target);
  return max === undefined ? undefined : sizeProblem(row, target, max);
}

/** The payload does not fit a message of the target (its entity's max size); checked once the size is known. */
export function sizeProblem(row: Pick<OutboxRow, 'payload'>, target: string, maxMessageSizeInBytes: number): RowProblem | undefined {
  const size = payloadSizeInBytes(row);
  if (size + MESSAGE_OVERHEAD_IN_BYTES <= maxMessageSizeInBytes) return undefined;
  return {
    code: 'PayloadTooLarge',
    reason: `Payload too large: ${size} bytes, but target "${target}" accepts messages up to ${maxMessageSizeInBytes} bytes (including about ${MESSAGE_OVERHEAD_IN_BYTES} bytes of headers). Send a smaller payload or a reference to the data.`,
  };
}

function whereInPayload(p: JsonProblem, length: number): string {
  return p.position >= length ? `at the end of the payload (${length} characters)` : `at line ${p.line}, column ${p.column} (character ${p.position + 1} of ${length})`;
}

/** The first reason the row can never be sent, or undefined. The row is sent to normaliseEntityName(row.target). */
export function validateRow(row: OutboxRow, ctx: RowValidationContext): RowProblem | undefined {
  const target = targetProblem(row, ctx);
  if (target) return target;
  if (row.expiresOn && row.expiresOn.getTime() <= ctx.now.getTime()) {
    return { code: 'Expired', reason: `Expired: obx_expireson ${row.expiresOn.toISOString()} passed before the row could be published.` };
  }
  const normalised = normaliseEntityName(row.target)!;
  return propertyProblem(row) ?? formatProblem(row, ctx, normalised) ?? payloadProblem(row, ctx, normalised);
}

/** What a CloudEvents target needs of the row and the publisher; checked before sending, so no half-formed event goes out. */
function formatProblem(row: OutboxRow, ctx: RowValidationContext, target: string): RowProblem | undefined {
  const format = ctx.messageFormatOf?.(target);
  if (!isCloudEventsFormat(format)) return undefined;
  if (!row.eventType?.trim()) {
    return {
      code: 'MissingEventType',
      reason: `Target "${target}" is set to ${format} in ${Settings.MessageFormats.schemaName}, and a CloudEvent needs a type: the row has no obx_eventtype. Fix the producer, then retry or cancel the row.`,
    };
  }
  if (!ctx.environmentUrl) {
    return { code: 'CloudEventSourceUnknown', reason: `Target "${target}" is set to ${format}, but the publisher knows no Dataverse environment URL for the CloudEvents source.` };
  }
  return undefined;
}
