// Row-level checks made before sending. A row that fails one can never succeed by retrying, so it ends Failed at
// once with a reason an operator can act on (invariant 5), and the rest of the batch goes on.
import { isJsonContentType } from './mapping';
import type { OutboxRow } from './row';

export type RowProblemCode = 'TargetNotAllowed' | 'Expired' | 'MalformedPayload' | 'PayloadTooLarge' | 'MissingMessageId';

export interface RowProblem {
  code: RowProblemCode;
  /** Written to obx_lasterror. */
  reason: string;
}

export interface RowValidationContext {
  allowedTargets: readonly string[];
  now: Date;
  /** Largest message the target accepts (Service Bus entity max size), when known. */
  maxMessageSizeInBytes?: (target: string) => number | undefined;
}

/** Bytes Service Bus adds around the body for our headers and properties; kept generous so the check never passes a message the broker refuses. */
export const MESSAGE_OVERHEAD_IN_BYTES = 1024;

export function payloadSizeInBytes(row: Pick<OutboxRow, 'payload'>): number {
  return Buffer.byteLength(row.payload ?? '', 'utf8');
}

export function validateRow(row: OutboxRow, ctx: RowValidationContext): RowProblem | undefined {
  if (!row.messageId) return { code: 'MissingMessageId', reason: 'The row has no obx_messageid, so it cannot be deduplicated downstream.' };
  const target = row.target?.trim() ?? '';
  if (target === '' || !ctx.allowedTargets.includes(target)) {
    const allowed = ctx.allowedTargets.length === 0 ? 'none are configured' : ctx.allowedTargets.map((t) => `"${t}"`).join(', ');
    return {
      code: 'TargetNotAllowed',
      reason: target === '' ? `The row has no target; allowed targets in obx_AllowedTargets: ${allowed}.` : `Target "${target}" is not in obx_AllowedTargets (allowed: ${allowed}).`,
    };
  }
  if (row.expiresOn && row.expiresOn.getTime() <= ctx.now.getTime()) {
    return { code: 'Expired', reason: `Expired: obx_expireson ${row.expiresOn.toISOString()} passed before the row could be published.` };
  }
  if (isJsonContentType(row.contentType)) {
    try {
      if ((row.payload ?? '') !== '') JSON.parse(row.payload!);
    } catch (e) {
      return {
        code: 'MalformedPayload',
        reason: `Malformed JSON payload (${(e as Error).message}); obx_contenttype is "${row.contentType || 'application/json'}". Fix the producer, then retry or cancel the row.`,
      };
    }
  }
  const max = ctx.maxMessageSizeInBytes?.(target);
  if (max !== undefined) {
    const size = payloadSizeInBytes(row);
    if (size + MESSAGE_OVERHEAD_IN_BYTES > max) {
      return {
        code: 'PayloadTooLarge',
        reason: `Payload too large: ${size} bytes, but target "${target}" accepts messages up to ${max} bytes (including about ${MESSAGE_OVERHEAD_IN_BYTES} bytes of headers). Send a smaller payload or a reference to the data.`,
      };
    }
  }
  return undefined;
}
