// A client's receiver, seen from the server: a sending link that hands out messages as far as the client's credit
// allows, answers drains, and turns the client's dispositions into settlements (answered with a settled disposition:
// accepted on success, the Service Bus error otherwise).
import type { EventContext, Sender } from 'rhea';
import type { Broker, Disposition } from '../core/Broker';
import type { Consumer } from '../core/Consumer';
import { amqpConditionFor, isBrokerError } from '../errors/BrokerError';
import { encodeForDelivery, lockTokenFromDeliveryTag, lockTokenToDeliveryTag } from './codec';
import { acceptedOutcome, settleOutgoing, creditOf, isDraining, sessionRoomOf, untransferredOf, rejectedOutcome } from './rheaInternals';

const deadLetterCondition = 'com.microsoft:dead-letter';
const maxPullPerTurn = 200;

export class ReceiveLink {
  private consumer?: Consumer;
  private drainCheckScheduled = false;

  constructor(
    private readonly sender: Sender,
    private readonly broker: Broker,
  ) {
    sender.on('sender_flow', () => this.pump());
    sender.on('accepted', (c: EventContext) => this.settle(c, { kind: 'complete' }));
    sender.on('released', (c: EventContext) => this.settle(c, { kind: 'abandon' }));
    sender.on('modified', (c: EventContext) => {
      // The SDKs send propertiesToModify as the modified outcome's message-annotations; they become application properties.
      const state = c.delivery?.remote_state as { undeliverable_here?: boolean; message_annotations?: Record<string, unknown> } | undefined;
      const propertiesToModify = state?.message_annotations ?? undefined;
      this.settle(c, state?.undeliverable_here ? { kind: 'defer', propertiesToModify } : { kind: 'abandon', propertiesToModify });
    });
    sender.on('rejected', (c: EventContext) => {
      const error = (c.delivery?.remote_state as { error?: { condition?: string; description?: string; info?: Record<string, unknown> } } | undefined)?.error;
      const info = error?.info ?? {};
      const reason = typeof info.DeadLetterReason === 'string' ? info.DeadLetterReason : error?.condition === deadLetterCondition ? undefined : error?.condition;
      const description = typeof info.DeadLetterErrorDescription === 'string' ? info.DeadLetterErrorDescription : (error?.description ?? undefined);
      // The rest of the error's info is the receiver's propertiesToModify.
      const { DeadLetterReason: _reason, DeadLetterErrorDescription: _description, ...propertiesToModify } = info;
      this.settle(c, { kind: 'deadletter', reason, description, propertiesToModify });
    });
  }

  /** Binds the broker consumer once the attach is accepted. */
  bind(consumer: Consumer): void {
    this.consumer = consumer;
    this.pump();
  }

  /** Sends as many messages as the credit allows; answers a drain once nothing more is available. */
  pump(): void {
    const consumer = this.consumer;
    if (!consumer || consumer.closed || !this.sender.is_open()) return;
    let exhausted = false;
    for (;;) {
      const budget = Math.min(creditOf(this.sender) - untransferredOf(this.sender), sessionRoomOf(this.sender), maxPullPerTurn);
      if (budget <= 0) break;
      const deliveries = this.broker.receive(consumer, budget);
      if (deliveries.length === 0) {
        exhausted = true;
        break;
      }
      for (const d of deliveries) {
        const encoded = encodeForDelivery(d);
        if (d.lockToken) this.sender.send(encoded, lockTokenToDeliveryTag(d.lockToken), 0);
        else this.sender.send(encoded, undefined, 0);
      }
    }
    if (!isDraining(this.sender)) return;
    if (untransferredOf(this.sender) > 0) {
      // The drain answer consumes the remaining credit, so it must follow the transfers already queued.
      if (!this.drainCheckScheduled) {
        this.drainCheckScheduled = true;
        setImmediate(() => {
          this.drainCheckScheduled = false;
          this.pump();
        });
      }
      return;
    }
    if (exhausted || creditOf(this.sender) === 0) this.sender.set_drained(true);
  }

  /** The link is gone: detached by the client, or with its connection (`connectionLost`). */
  detached(connectionLost: boolean): void {
    if (this.consumer) this.broker.detach(this.consumer, connectionLost ? 'connectionLost' : 'detached');
  }

  private settle(context: EventContext, disposition: Disposition): void {
    const delivery = context.delivery;
    if (!delivery || delivery.settled) return;
    const tag = delivery.tag;
    if (!Buffer.isBuffer(tag) || tag.length !== 16) {
      settleOutgoing(delivery, acceptedOutcome());
      return;
    }
    this.broker
      .settle(lockTokenFromDeliveryTag(tag), disposition, this.consumer)
      .then(() => settleOutgoing(delivery, acceptedOutcome()))
      .catch((error: unknown) => {
        if (isBrokerError(error)) settleOutgoing(delivery, rejectedOutcome(amqpConditionFor(error.code).condition, error.message));
        else settleOutgoing(delivery, rejectedOutcome('amqp:internal-error', error instanceof Error ? error.message : String(error)));
      });
  }
}
