// Acknowledgements from consumers and what they do to a row. An ack can overtake the Published mark (the consumer
// may finish before our UpdateMultiple lands): it is then recorded on the Pending row (obx_ackedon, and a
// "Rejected by consumer" reason for rejections) and applied when the row is marked, never dropped.
import { describeValue, normaliseGuid, OutboxStatus, type OutboxStatusValue } from '@dataverse-outbox/contract';
import type { OutboxRow, OutboxRowChanges } from './row';
import { truncateError } from './row';

export type AckOutcome = 'processed' | 'rejected';

export interface Acknowledgement {
  /** The row id, normalised (bare lower-case GUID). */
  outboxId: string;
  messageId: string;
  outcome: AckOutcome;
  reason?: string;
  processedAt: Date;
}

export const REJECTED_BY_CONSUMER = 'Rejected by consumer';

/**
 * Why an acknowledgement (or a dead letter) could not be applied: one closed set, written as the Service Bus
 * DeadLetterReason (acks) or logged and counted (dead letters), so an operator can tell poison kinds apart.
 */
export const PoisonReasons = {
  /** The body is not JSON (or not UTF-8 text). */
  NotJson: 'AckNotJson',
  /** The body is JSON but not an object. */
  NotAnObject: 'AckNotAnObject',
  /** `outboxId` / `outbox-id` is missing or empty. */
  MissingOutboxId: 'MissingOutboxId',
  /** `outboxId` / `outbox-id` is not a GUID. */
  InvalidOutboxId: 'InvalidOutboxId',
  /** `outcome` is not "processed" or "rejected". */
  InvalidOutcome: 'InvalidOutcome',
  /** No outbox row has this id (never existed, or removed by the cleanup job). */
  UnknownOutboxRow: 'UnknownOutboxRow',
  /** Dataverse refused the row's own update for good (400/413/422 for that row alone). */
  RowUpdateRejected: 'RowUpdateRejected',
} as const;
export type PoisonReason = (typeof PoisonReasons)[keyof typeof PoisonReasons];

export type ParsedAcknowledgement = { ack: Acknowledgement } | { problem: string; reason: PoisonReason };

/** Dataverse's date-time range; a consumer clock outside it would make the row's update fail with 400. */
const EARLIEST = Date.UTC(1753, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59);
/** obx_lasterror is 4,000 characters; a consumer's reason is cut well before, never trusted for length. */
const MAX_REASON = 2000;
const MAX_MESSAGE_ID = 200;

function problem(reason: PoisonReason, text: string): ParsedAcknowledgement {
  return { problem: text, reason };
}

/** Parses the spec's ack JSON. Anything else gets a specific reason code and a readable problem (never the body). */
export function parseAcknowledgement(body: unknown): ParsedAcknowledgement {
  let value = body;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    try {
      value = new TextDecoder('utf-8', { fatal: true }).decode(value);
    } catch {
      return problem(PoisonReasons.NotJson, 'ack body is not UTF-8 text');
    }
  }
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return problem(PoisonReasons.NotJson, 'ack body is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return problem(PoisonReasons.NotAnObject, `ack body is not a JSON object (got ${Array.isArray(value) ? 'an array' : describeValue(value)})`);
  const v = value as Record<string, unknown>;
  if (v.outboxId === undefined || v.outboxId === null || v.outboxId === '') return problem(PoisonReasons.MissingOutboxId, 'ack has no outboxId');
  const outboxId = normaliseGuid(v.outboxId);
  if (outboxId === undefined) return problem(PoisonReasons.InvalidOutboxId, `ack outboxId must be a GUID, got ${describeValue(v.outboxId)}`);
  if (v.outcome !== 'processed' && v.outcome !== 'rejected') return problem(PoisonReasons.InvalidOutcome, `ack outcome must be "processed" or "rejected", got ${describeValue(v.outcome)}`);
  // processedAt is the consumer's clock: informative only, so an unreadable or out-of-range value becomes "now".
  const at = typeof v.processedAt === 'string' && v.processedAt.length <= 40 ? Date.parse(v.processedAt) : NaN;
  const processedAt = Number.isFinite(at) && at >= EARLIEST && at <= LATEST ? new Date(at) : new Date();
  return {
    ack: {
      outboxId,
      messageId: typeof v.messageId === 'string' ? v.messageId.slice(0, MAX_MESSAGE_ID) : '',
      outcome: v.outcome,
      reason: typeof v.reason === 'string' ? v.reason.slice(0, MAX_REASON) : undefined,
      processedAt,
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
