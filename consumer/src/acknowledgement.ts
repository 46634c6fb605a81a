// The acknowledgement a consumer sends to the ack queue (spec "Acknowledgement message").
import type { ServiceBusMessage } from '@azure/service-bus';
import { MessageProperties } from '@dataverse-outbox/contract';

export type AcknowledgementOutcome = 'processed' | 'rejected';

/** Body of an acknowledgement, exactly the spec's JSON. `reason` is present for `rejected`. */
export interface Acknowledgement {
  outboxId?: string;
  /** The logical message id (`outbox-message-id`). */
  messageId: string;
  outcome: AcknowledgementOutcome;
  reason?: string;
  /** ISO-8601: when the effect committed (the original time, also when re-acknowledging a duplicate). */
  processedAt: string;
}

export const acknowledgementSubject = 'OutboxAcknowledgement';

/**
 * The Service Bus message carrying an acknowledgement. Its messageId is deterministic per logical message and outcome,
 * so an ack queue with duplicate detection drops repeats while a re-acknowledgement after a lost ack still gets through.
 */
export function toAcknowledgementMessage(ack: Acknowledgement): ServiceBusMessage {
  return {
    messageId: `${ack.messageId}:ack:${ack.outcome}`.slice(0, 128),
    contentType: 'application/json',
    subject: acknowledgementSubject,
    body: ack,
    ...(ack.outboxId === undefined ? {} : { correlationId: ack.outboxId }),
    applicationProperties: {
      [MessageProperties.outboxMessageId]: ack.messageId,
      ...(ack.outboxId === undefined ? {} : { [MessageProperties.outboxId]: ack.outboxId }),
    },
  };
}
