// Stands in for downstream consumers where only their acknowledgements matter (budget benchmark): receives what the
// publisher sent and acknowledges each message with the consumer toolkit's own acknowledgement format.
import type { ServiceBusClient, ServiceBusReceiver, ServiceBusSender } from '@azure/service-bus';
import { MessageProperties, toAcknowledgementMessage } from '@dataverse-outbox/contract';
import { ACK_QUEUE, TARGET } from './world';

export class AckResponder {
  private receiver?: ServiceBusReceiver;
  private sender?: ServiceBusSender;
  private loop?: Promise<void>;
  private stopping = false;
  acknowledged = 0;

  constructor(private readonly serviceBus: ServiceBusClient) {}

  start(): void {
    this.receiver = this.serviceBus.createReceiver(TARGET, { receiveMode: 'receiveAndDelete' });
    this.sender = this.serviceBus.createSender(ACK_QUEUE);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const messages = await this.receiver!.receiveMessages(200, { maxWaitTimeInMs: 300 });
      if (messages.length === 0) continue;
      const processedAt = new Date();
      const acks = messages.map((m) =>
        toAcknowledgementMessage({
          outboxId: String(m.applicationProperties?.[MessageProperties.outboxId] ?? ''),
          messageId: String(m.applicationProperties?.[MessageProperties.outboxMessageId] ?? m.messageId),
          outcome: 'processed',
          processedAt,
        }),
      );
      for (let i = 0; i < acks.length; i += 100) await this.sender!.sendMessages(acks.slice(i, i + 100));
      this.acknowledged += acks.length;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop?.catch(() => undefined);
    await this.receiver?.close();
    await this.sender?.close();
  }
}
