// The canary responder (issue 21): receives canary events from the canary queue and acknowledges each one on the ack
// queue, exactly as a consumer acknowledges a handled event (the contract's acknowledgement message), so an Acked
// canary row proves publish, delivery and the ack path together. No inbox: a canary has no effect to deduplicate, and
// acknowledging twice is harmless (the publisher ignores a repeat for an Acked row).
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { Settings, canaryAcknowledgement, defaultCanaryTarget, toAcknowledgementMessage } from '@dataverse-outbox/contract';
import { readOutboxEvent } from './outboxEvent';

export interface CanaryResponderOptions {
  client: ServiceBusClient;
  /** The canary queue. Default `outbox-canary`. */
  queue?: string;
  /** Where acknowledgements go. Default obx_AckQueue's default (`outbox-acks`). */
  ackQueue?: string;
  /** Called for each canary acknowledged (logs, tests). */
  onAcknowledged?: (outboxMessageId: string) => void;
  /** Called when a message cannot be acknowledged (no usable outbox-id, not a canary, a send failure). */
  onError?: (why: string) => void;
}

export interface CanaryResponder {
  close(): Promise<void>;
}

export function createCanaryResponder(options: CanaryResponderOptions): CanaryResponder {
  const receiver = options.client.createReceiver(options.queue ?? defaultCanaryTarget);
  const sender = options.client.createSender(options.ackQueue ?? Settings.AckQueue.defaultValue);
  const report = options.onError ?? (() => undefined);
  const subscription = receiver.subscribe(
    {
      async processMessage(message: ServiceBusReceivedMessage) {
        const read = readOutboxEvent(message);
        const answer = canaryAcknowledgement(read.ok ? { outboxId: read.event.outboxId, outboxMessageId: read.event.outboxMessageId, eventType: read.event.eventType } : {}, new Date());
        if (!answer.ok) {
          // Not a canary this responder can answer: dead-letter it so it is seen, never acknowledged as something it is not.
          report(`not an acknowledgeable canary (messageId ${String(message.messageId)})`);
          await receiver.deadLetterMessage(message, { deadLetterReason: answer.reason, deadLetterErrorDescription: answer.description });
          return;
        }
        await sender.sendMessages(toAcknowledgementMessage(answer.ack));
        options.onAcknowledged?.(answer.ack.messageId);
      },
      async processError(args) {
        report(`canary responder: ${args.error.message}`);
      },
    },
    { autoCompleteMessages: true, maxConcurrentCalls: 1 },
  );
  return {
    async close() {
      await subscription.close();
      await receiver.close();
      await sender.close();
    },
  };
}
