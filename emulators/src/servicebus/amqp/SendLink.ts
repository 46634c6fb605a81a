// A client's sender, seen from the server: each transfer (one message, or a batch envelope of format 0x80013700) is
// checked against the size limit, stored, and only then accepted; refusals are rejected deliveries carrying the
// Service Bus condition, so the SDK raises the matching ServiceBusError and the link stays usable.
import type { Delivery as AmqpDelivery, EventContext, Message } from 'rhea';
import type { Broker } from '../core/Broker';
import { amqpConditionFor, brokerErrors, isBrokerError } from '../errors/BrokerError';
import { splitTransfer, toIncomingMessage } from './codec';

export class SendLink {
  /** Transfers are acknowledged in arrival order, even when a later one is stored first. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly entityKey: string,
    private readonly entityPath: string,
    private readonly broker: Broker,
    private readonly maxMessageSizeInBytes: number,
    private readonly beforeAck: (entityPath: string) => Promise<void>,
  ) {}

  onMessage(context: EventContext & { format?: number }): void {
    const delivery = context.delivery;
    if (!delivery) return;
    const stored = this.store(context);
    const previous = this.tail;
    this.tail = stored
      .then(async () => {
        await previous;
        await this.beforeAck(this.entityPath);
        delivery.accept();
      })
      .catch(async (error: unknown) => {
        await previous;
        reject(delivery, error);
      });
  }

  private async store(context: EventContext & { format?: number }): Promise<void> {
    const raw = context.message as unknown as Message | Buffer;
    const size = Buffer.isBuffer(raw) ? raw.length : undefined;
    const parts = splitTransfer(context.format, raw);
    const total = size ?? parts.reduce((sum, p) => sum + p.payload.length, 0);
    if (total > this.maxMessageSizeInBytes) throw brokerErrors.messageSizeExceeded(total, this.maxMessageSizeInBytes);
    await this.broker.send(
      this.entityKey,
      parts.map((p) => toIncomingMessage(p.payload, p.message)),
    );
  }
}

function reject(delivery: AmqpDelivery, error: unknown): void {
  if (isBrokerError(error)) {
    delivery.reject({ condition: amqpConditionFor(error.code).condition, description: error.message });
  } else {
    delivery.reject({ condition: 'amqp:internal-error', description: error instanceof Error ? error.message : String(error) });
  }
}
