// Acknowledgements from consumers and what they do to a row. An ack can overtake the Published mark (the consumer
// may finish before our UpdateMultiple lands): it is then recorded on the Pending row (obx_ackedon, and a
// "Rejected by consumer" reason for rejections) and applied when the row is marked, never dropped. The message itself
// (its type, its parser, the reasons it is malformed) is the contract's.
import { MalformedAcknowledgementReasons, OutboxStatus, type Acknowledgement, type OutboxStatusValue } from '@dataverse-outbox/contract';
import type { OutboxRow, OutboxRowChanges } from './row';
import { truncateError } from './row';

export const REJECTED_BY_CONSUMER = 'Rejected by consumer';

/**
 * Why an acknowledgement (or a dead letter) could not be applied: one closed set, written as the Service Bus
 * DeadLetterReason (acks) or logged and counted (dead letters), so an operator can tell poison kinds apart. The
 * contract's reasons for a malformed ack (also used for a dead letter's missing or non-GUID `outbox-id`), and two
 * that only the publisher can tell.
 */
export const PoisonReasons = {
  ...MalformedAcknowledgementReasons,
  /** No outbox row has this id (never existed, or removed by the cleanup job). */
  UnknownOutboxRow: 'UnknownOutboxRow',
  /** Dataverse refused the row's own update for good (400/413/422 for that row alone). */
  RowUpdateRejected: 'RowUpdateRejected',
} as const;
export type PoisonReason = (typeof PoisonReasons)[keyof typeof PoisonReasons];

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
