// Acknowledgements from consumers and what they do to a row. An ack can overtake the Published mark (the consumer
// may finish before our UpdateMultiple lands): it is then recorded on the Pending row (obx_ackedon, and a
// "Rejected by consumer" reason for rejections) and applied when the row is marked, never dropped.
import { OutboxStatus, type OutboxStatusValue } from '@dataverse-outbox/solution';
import type { OutboxRow, OutboxRowChanges } from './row';
import { truncateError } from './row';

export type AckOutcome = 'processed' | 'rejected';

export interface Acknowledgement {
  outboxId: string;
  messageId: string;
  outcome: AckOutcome;
  reason?: string;
  processedAt: Date;
}

export const REJECTED_BY_CONSUMER = 'Rejected by consumer';

/** Parses the spec's ack JSON. Returns a readable problem for anything else. */
export function parseAcknowledgement(body: unknown): { ack: Acknowledgement } | { problem: string } {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return { problem: 'ack body is not JSON' };
    }
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(value).toString('utf8'));
    } catch {
      return { problem: 'ack body is not JSON' };
    }
  }
  if (typeof value !== 'object' || value === null) return { problem: 'ack body is not a JSON object' };
  const v = value as Record<string, unknown>;
  if (typeof v.outboxId !== 'string' || v.outboxId === '') return { problem: 'ack has no outboxId' };
  if (v.outcome !== 'processed' && v.outcome !== 'rejected') return { problem: `ack outcome must be "processed" or "rejected", got ${JSON.stringify(v.outcome)}` };
  const processedAt = typeof v.processedAt === 'string' ? new Date(v.processedAt) : new Date();
  return {
    ack: {
      outboxId: v.outboxId.toLowerCase(),
      messageId: typeof v.messageId === 'string' ? v.messageId : '',
      outcome: v.outcome,
      reason: typeof v.reason === 'string' ? v.reason : undefined,
      processedAt: Number.isNaN(processedAt.getTime()) ? new Date() : processedAt,
    },
  };
}

export type AckDecision =
  | { kind: 'apply'; changes: OutboxRowChanges } // Published -> Acked / DeadLettered
  | { kind: 'record-early'; changes: OutboxRowChanges } // row still Pending: keep the ack on the row
  | { kind: 'ignore'; why: string }; // already final, or the ack is for an older delivery

export function decideAck(row: OutboxRow, ack: Acknowledgement): AckDecision {
  const rejected = ack.outcome === 'rejected';
  const lastError = rejected ? truncateError(`${REJECTED_BY_CONSUMER}: ${ack.reason ?? 'no reason given'}`) : undefined;
  switch (row.status) {
    case OutboxStatus.Published:
      return {
        kind: 'apply',
        changes: rejected
          ? { status: OutboxStatus.DeadLettered, ackedOn: ack.processedAt, lastError }
          : { status: OutboxStatus.Acked, ackedOn: ack.processedAt },
      };
    case OutboxStatus.Pending:
      if (row.ackedOn) return { kind: 'ignore', why: 'an acknowledgement is already recorded' };
      return { kind: 'record-early', changes: rejected ? { ackedOn: ack.processedAt, lastError } : { ackedOn: ack.processedAt } };
    default:
      return { kind: 'ignore', why: 'row is already final' };
  }
}

/** The status a row takes when marked sent: Published, or straight to Acked/DeadLettered when an early ack is on it. */
export function statusWhenSent(row: Pick<OutboxRow, 'ackedOn' | 'lastError'>): OutboxStatusValue {
  if (!row.ackedOn) return OutboxStatus.Published;
  return row.lastError?.startsWith(REJECTED_BY_CONSUMER) ? OutboxStatus.DeadLettered : OutboxStatus.Acked;
}
