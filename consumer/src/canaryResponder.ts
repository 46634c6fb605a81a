// The canary responder (issue 21): receives canary events from the canary queue and acknowledges each one on the ack
// queue, exactly as a consumer acknowledges a handled event (the contract's acknowledgement message), so an Acked
// canary row proves publish, delivery and the ack path together. No inbox: a canary has no effect to deduplicate, and
// acknowledging twice is harmless (the publisher ignores a repeat for an Acked row).
import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import { Settings, defaultCanaryTarget, isCanary, toAcknowledgementMessage } from '@dataverse-outbox/contract';
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
        if (!read.ok || read.event.outboxId === undefined || !isCanary({ eventType: read.event.eventType, messageId: read.event.outboxMessageId })) {
          // Not a canary this responder can answer: dead-letter it so it is seen, never acknowledged as something it is not.
          report(`not an acknowledgeable canary (messageId ${String(message.messageId)})`);
          await receiver.deadLetterMessage(message, { deadLetterReason: 'NotACanary', deadLetterErrorDescription: 'the canary responder only acknowledges outbox.canary events with an outbox-id' });
          return;
        }
        await sender.sendMessages(toAcknowledgementMessage({ outboxId: read.event.outboxId, messageId: read.event.outboxMessageId, outcome: 'processed', processedAt: new Date() }));
        options.onAcknowledged?.(read.event.outboxMessageId);
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
