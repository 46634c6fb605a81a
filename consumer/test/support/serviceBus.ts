// Service Bus emulator + official SDK helpers shared by the consumer's integration tests.
import {
  ServiceBusClient,
  type ServiceBusMessage,
  type ServiceBusReceivedMessage,
} from '@azure/service-bus';
import { createHash } from 'node:crypto';

import { Settings, MessageProperties, acknowledgementBatchSubject } from '@dataverse-outbox/contract';
import { buildEmulatorConfig, startServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';

export const ackQueue = Settings.AckQueue.defaultValue;

export interface QueueSpec {
  name: string;
  requiresSession?: boolean;
  maxDeliveryCount?: number;
  lockDurationInMs?: number;
}

export interface TestBroker {
  connectionString: string;
  client: ServiceBusClient;
  close(): Promise<void>;
}

/** Starts the emulator on port 0 with the given queues (plus the ack queue) and topics, and an SDK client for the test. */
export async function startBroker(
  queues: QueueSpec[],
  topics: { name: string; subscriptions: QueueSpec[] }[] = [],
): Promise<TestBroker> {
  const emulator = await startServiceBusEmulator({
    port: 0,
    config: buildEmulatorConfig({ queues: [...queues, { name: ackQueue }], topics }),
  });
  const client = new ServiceBusClient(emulator.connectionString, { retryOptions: { maxRetries: 3, retryDelayInMs: 200 } });
  return {
    connectionString: emulator.connectionString,
    client,
    async close() {
      await client.close().catch(() => undefined);
      await emulator.close();
    },
  };
}

export interface OutboxMessageSpec {
  outboxMessageId?: string;
  outboxId?: string;
  eventType?: string;
  payload?: unknown;
  /** Raw body instead of payload (for bad-input tests). */
  rawBody?: Buffer;
  contentType?: string;
  sessionKey?: string;
  sequence?: number;
  messageId?: string;
}

/** A message as the publisher sends it (spec "Row -> Service Bus message"). */
export function outboxMessage(spec: OutboxMessageSpec): ServiceBusMessage {
  const properties: Record<string, string | number> = {};
  if (spec.outboxId !== undefined) properties[MessageProperties.outboxId] = spec.outboxId;
  if (spec.outboxMessageId !== undefined) properties[MessageProperties.outboxMessageId] = spec.outboxMessageId;
  if (spec.sequence !== undefined) properties[MessageProperties.outboxSequence] = spec.sequence;
  properties[MessageProperties.sourceEntity] = 'opportunity';
  return {
    messageId: spec.messageId ?? spec.outboxMessageId ?? `raw-${Math.random().toString(36).slice(2)}`,
    body: spec.rawBody ?? spec.payload ?? {},
    contentType: spec.contentType ?? 'application/json',
    ...(spec.eventType === undefined ? {} : { subject: spec.eventType }),
    ...(spec.sessionKey === undefined ? {} : { sessionId: spec.sessionKey }),
    applicationProperties: properties,
  };
}

export async function waitFor<T>(
  description: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutInMs = 30_000,
  intervalInMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutInMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, intervalInMs));
  }
}

/**
 * Receives (and completes) messages from an entity until `count` arrived or the deadline passed.
 * With `deadLetter`, reads the entity's dead-letter queue.
 */
export async function drain(
  client: ServiceBusClient,
  queue: string,
  count: number,
  options: { deadLetter?: boolean; timeoutInMs?: number } = {},
): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(queue, options.deadLetter ? { subQueueType: 'deadLetter' } : {});
  const received: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + (options.timeoutInMs ?? 30_000);
  try {
    while (received.length < count && Date.now() < deadline) {
      const batch = await receiver.receiveMessages(count - received.length, { maxWaitTimeInMs: 1000 });
      for (const message of batch) {
        await receiver.completeMessage(message);
        received.push(message);
      }
    }
  } finally {
    await receiver.close();
  }
  return received;
}

/** Peeks without locking: what is still in the entity (active messages, locked or not). */
export async function peekAll(client: ServiceBusClient, queue: string, options: { deadLetter?: boolean } = {}): Promise<ServiceBusReceivedMessage[]> {
  const receiver = client.createReceiver(queue, options.deadLetter ? { subQueueType: 'deadLetter' } : {});
  try {
    return await receiver.peekMessages(100);
  } finally {
    await receiver.close();
  }
}

export interface AckBody {
  outboxId?: string;
  messageId: string;
  outcome: 'processed' | 'rejected';
  reason?: string;
  processedAt: string;
}

export function ackBody(message: ServiceBusReceivedMessage): AckBody {
  const body: unknown = message.body;
  return (Buffer.isBuffer(body) ? JSON.parse(body.toString('utf8')) : body) as AckBody;
}

/** The acknowledgements one ack-queue message carries, read from the wire: one, or each element of a batch. */
export function acksIn(message: ServiceBusReceivedMessage): AckBody[] {
  if (message.subject !== acknowledgementBatchSubject) return [ackBody(message)];
  const body = ackBody(message) as unknown;
  if (!Array.isArray(body)) throw new Error(`an acknowledgement batch whose body is not an array: ${JSON.stringify(body)}`);
  return body as AckBody[];
}

/**
 * Receives (and completes) ack-queue messages until they carry `count` acknowledgements or the deadline passed; the
 * acknowledgements in the order received, whichever form carried them.
 */
export async function drainAcks(client: ServiceBusClient, queue: string, count: number, options: { timeoutInMs?: number } = {}): Promise<AckBody[]> {
  const receiver = client.createReceiver(queue);
  const acks: AckBody[] = [];
  const deadline = Date.now() + (options.timeoutInMs ?? 30_000);
  try {
    while (acks.length < count && Date.now() < deadline) {
      for (const message of await receiver.receiveMessages(Math.max(1, count - acks.length), { maxWaitTimeInMs: 1000 })) {
        await receiver.completeMessage(message);
        acks.push(...acksIn(message));
      }
    }
  } finally {
    await receiver.close();
  }
  return acks;
}

/** A deterministic GUID for a readable test name (outbox row ids are GUIDs; the consumer acknowledges only those). */
export function rowId(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
