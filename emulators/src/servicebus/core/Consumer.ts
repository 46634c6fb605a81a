// A receiver attached to a receive entity (an AMQP receive link, seen from the broker).
import type { BrokerError } from '../errors/BrokerError';
import type { ReceiveQueue, SessionState } from './ReceiveQueue';

export type ReceiveMode = 'peekLock' | 'receiveAndDelete';

export interface ConsumerEvents {
  /** Messages may be available: the adapter should pull as far as its credit allows. */
  wake(): void;
  /** The session lock expired: the adapter must detach the link with this error. */
  sessionLockLost(error: BrokerError): void;
}

let nextConsumerId = 1;

export class Consumer {
  readonly id = nextConsumerId++;
  closed = false;
  /** Lock tokens of the messages delivered to this receiver and not settled yet (released when it goes away). */
  readonly lockTokens = new Set<string>();
  constructor(
    readonly queue: ReceiveQueue,
    readonly mode: ReceiveMode,
    readonly events: ConsumerEvents,
    readonly session?: SessionState,
  ) {}
}
