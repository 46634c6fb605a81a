// The emulator's admin operations, shared by the programmatic API and the admin HTTP endpoint.
import { message as amqpMessage } from 'rhea';
import { buildEmulatorConfig, toEntityDefinitions, type ShortQueueConfig, type ShortTopicConfig } from '../configuration/EmulatorConfig';
import type { Broker, DroppedDuplicate, EntitySummary } from '../core/Broker';
import type { DelaySendsOptions, FaultInjector, FaultsSnapshot, RefuseAttachesOptions } from './FaultInjector';

export interface DeadLetteredMessage {
  sequenceNumber: number;
  messageId?: string;
  sessionId?: string;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  /** Deliveries before the message was dead-lettered. */
  deliveryCount: number;
  enqueuedTimeUtc: string;
  /** The body as the SDK would show it: parsed JSON when it is JSON, else text, else base64 bytes. */
  body: unknown;
}

export interface ServiceBusEmulatorAdmin {
  /** Queues and subscriptions with their active, scheduled, deferred, locked and dead-lettered counts. */
  listEntities(): EntitySummary[];
  /** Dead-lettered messages of a queue or subscription (`topic/Subscriptions/sub`), oldest first; nothing is removed. */
  peekDeadLetters(entity: string, maxCount?: number): DeadLetteredMessage[];
  /** Sends of a queue or topic that duplicate detection dropped, oldest first (kept across restarts with a data file). */
  droppedDuplicates(entity: string, maxCount?: number): DroppedDuplicate[];
  /** Closes every client connection abruptly; returns how many were open. */
  dropAllConnections(): number;
  /** Refuses attaches (com.microsoft:server-busy, which the SDK retries) for a while, for one entity or all. */
  refuseAttaches(options: RefuseAttachesOptions): void;
  /** Holds back send acknowledgements, for one entity or all. */
  delaySends(options: DelaySendsOptions): void;
  clearFaults(): void;
  faults(): FaultsSnapshot;
  /** Adds a queue at runtime (same short form as `buildEmulatorConfig`). */
  addQueue(queue: ShortQueueConfig): void;
  addTopic(topic: ShortTopicConfig): void;
}

function decodeBody(payload: Buffer): unknown {
  const body = amqpMessage.decode(payload).body as unknown;
  const section = body as { typecode?: number; content?: unknown } | undefined;
  const value = section && section.typecode === 0x75 ? section.content : body;
  if (Buffer.isBuffer(value)) {
    const text = value.toString('utf8');
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Text that round-trips through UTF-8 is shown as text; anything else as base64.
      return Buffer.from(text, 'utf8').equals(value) ? text : { base64: value.toString('base64') };
    }
  }
  return value;
}

export function createAdmin(broker: Broker, faults: FaultInjector, dropAllConnections: () => number): ServiceBusEmulatorAdmin {
  return {
    listEntities: () => broker.describeEntities(),
    peekDeadLetters: (entity, maxCount = 100) => {
      const dlq = broker.receiveQueue(`${entity.replace(/\/\$deadletterqueue$/i, '')}/$DeadLetterQueue`);
      return broker.peek(dlq, 1, maxCount).map((d) => ({
        sequenceNumber: d.message.sequenceNumber,
        messageId: d.message.messageId,
        sessionId: d.message.sessionId,
        deadLetterReason: d.message.deadLetter?.reason,
        deadLetterErrorDescription: d.message.deadLetter?.description,
        deliveryCount: d.deliveryCount,
        enqueuedTimeUtc: new Date(d.message.enqueuedAt).toISOString(),
        body: decodeBody(d.message.payload),
      }));
    },
    droppedDuplicates: (entity, maxCount = 10_000) => broker.droppedDuplicates(entity, maxCount),
    dropAllConnections,
    refuseAttaches: (options) => faults.refuseAttaches(options),
    delaySends: (options) => faults.delaySends(options),
    clearFaults: () => faults.clear(),
    faults: () => faults.snapshot(),
    addQueue: (queue) => {
      for (const d of toEntityDefinitions(buildEmulatorConfig({ queues: [queue] }))) broker.addEntity(d);
    },
    addTopic: (topic) => {
      for (const d of toEntityDefinitions(buildEmulatorConfig({ topics: [topic] }))) broker.addEntity(d);
    },
  };
}
