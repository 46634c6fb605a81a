// The outbox row as the engine sees it (camelCase, typed), independent of how a store keeps it.
import type { OutboxStatusValue } from '@dataverse-outbox/contract';

export interface OutboxRow {
  id: string;
  messageId: string;
  name?: string;
  target: string;
  eventType?: string;
  payload?: string;
  contentType?: string;
  correlationId?: string;
  /** obx_tracecontext: the commit's W3C traceparent, when the producer's writer stored one (contract/src/traceContext.ts). */
  traceContext?: string;
  sessionKey?: string;
  sourceEntity?: string;
  sourceId?: string;
  /** obx_sequence (autonumber text): the FIFO order. Compare with compareSequence, never as plain text of unequal length. */
  sequence: string;
  status: OutboxStatusValue;
  attempts: number;
  nextAttemptOn?: Date;
  lastError?: string;
  publishedOn?: Date;
  ackedOn?: Date;
  replayCount: number;
  expiresOn?: Date;
  createdOn?: Date;
  modifiedOn?: Date;
  /** Row version for conditional updates (If-Match). */
  etag?: string;
}

/** Columns the engine writes. `null` clears a column. */
export interface OutboxRowChanges {
  status?: OutboxStatusValue;
  attempts?: number;
  nextAttemptOn?: Date | null;
  lastError?: string | null;
  publishedOn?: Date | null;
  ackedOn?: Date | null;
  replayCount?: number;
}

/** One conditional change: applied only while the row still has `etag` (when given). */
export interface RowUpdate {
  id: string;
  etag?: string;
  changes: OutboxRowChanges;
}

/** Orders autonumber sequences numerically when they are digits (zero padding or not), else as text. */
export function compareSequence(a: string, b: string): number {
  const digits = /^\d+$/;
  const na = a.match(/\d+$/);
  const nb = b.match(/\d+$/);
  if (digits.test(a) && digits.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (na && nb && a.slice(0, na.index) === b.slice(0, nb.index)) {
    const x = BigInt(na[0]);
    const y = BigInt(nb[0]);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Dataverse keeps 4,000 characters of obx_lasterror: keep the start, which names the problem. */
export function truncateError(text: string, max = 4000): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
