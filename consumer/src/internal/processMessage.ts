// The per-message pipeline, in the order that makes the effect happen once:
//   read -> (bad input: dead-letter, nothing written)
//   -> ONE transaction { insert inbox row; run handler with the transaction } commit
//      (with batching, a transaction shared by the messages in flight; the commit is the batch's, and a handler that
//      throws sends the others round again without it, a savepoint each)
//   -> complete -> acknowledge.
// A crash before commit leaves nothing (redelivery runs it again); a crash after commit leaves the inbox row, so the
// redelivery is completed and re-acknowledged without running the handler.
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import type { Acknowledgement } from '@dataverse-outbox/contract';

import {
  ConsumerError,
  DeadLetterReasons,
  describeError,
  isConsumerError,
  isPermanentError,
  type DeadLetterReason,
} from '../errors';
import type { InboxEntry } from '../inbox';
import { readOutboxEvent, type OutboxEvent } from '../outboxEvent';
import { inProcessSpan } from './tracing';
import { sleep } from './abort';
import type { ProcessOnce } from './inboxBatcher';

/** How a handler error is treated: retried through redelivery, or dead-lettered at once. */
export type ErrorClassification = 'transient' | 'permanent';

export interface OutboxHandlerContext<TTransaction> {
  /** The open inbox transaction: do your writes here so they commit (or roll back) together with the inbox row. */
  readonly transaction: TTransaction;
  /** Aborted when the consumer is closing and stops waiting for this handler. */
  readonly abortSignal: AbortSignal;
  /** The raw received message, for anything the event does not carry. Do not settle it yourself. */
  readonly message: ServiceBusReceivedMessage;
}

export type OutboxEventHandler<TTransaction> = (
  event: OutboxEvent,
  context: OutboxHandlerContext<TTransaction>,
) => void | Promise<void>;

export interface OutboxEventRegistration<TTransaction> {
  handle: OutboxEventHandler<TTransaction>;
  /** Schema versions this handler can read; others are dead-lettered as UnsupportedSchemaVersion. Unset = not checked. */
  schemaVersions?: readonly (string | number)[];
}

/** Handlers by event type (the Service Bus `subject`); a message of any other type is dead-lettered as UnknownEventType. */
export type OutboxEventHandlers<TTransaction> = Readonly<
  Record<string, OutboxEventHandler<TTransaction> | OutboxEventRegistration<TTransaction>>
>;

export type MessageOutcome = 'processed' | 'duplicate' | 'abandoned' | 'dead-lettered' | 'settlement-failed';

/** What happened to one delivery (reported to `onSettled`, for metrics and tests). */
export interface MessageSettlement {
  outcome: MessageOutcome;
  messageId: string;
  outboxMessageId: string | undefined;
  outboxId: string | undefined;
  eventType: string | undefined;
  sessionKey: string | undefined;
  deliveryCount: number;
  /** Service Bus's sequence number of the delivery (its place in the entity), to trace order per session. */
  sequenceNumber: number | undefined;
  /** Dead-letter reason, for `dead-lettered`. */
  reason?: DeadLetterReason;
  description?: string;
  /** The acknowledgement sent (or attempted) after settling, if any. */
  acknowledgement?: Acknowledgement;
  error?: unknown;
}

/** Test-only hooks to prove crash safety (exported only by the test-only entry point, testing.ts). */
export interface ConsumerFaultInjection {
  /** Inside the transaction, after the handler, before commit. */
  beforeCommit?: (event: OutboxEvent) => void | Promise<void>;
  /** After commit, before complete. */
  afterCommit?: (event: OutboxEvent) => void | Promise<void>;
  /** After complete, before the acknowledgement. */
  afterComplete?: (event: OutboxEvent) => void | Promise<void>;
  /**
   * DELIBERATELY BROKEN: completes the message inside the transaction, before commit. A crash between the two loses
   * the effect; exists so chaos tests can prove they catch a consumer that settles too early.
   */
  completeBeforeCommit?: boolean;
}

/** Settles one received message; implemented over a Service Bus receiver. */
export interface MessageSettler {
  complete(): Promise<void>;
  abandon(): Promise<void>;
  deadLetter(reason: DeadLetterReason, description: string): Promise<void>;
}

export interface ProcessDependencies<TTransaction> {
  /** The inbox's processOnce, or the batcher's (which resolves only after the batch committed). */
  processOnce: ProcessOnce<TTransaction>;
  resolveHandler: (eventType: string) => OutboxEventRegistration<TTransaction> | undefined;
  classifyError: (error: unknown, event: OutboxEvent) => ErrorClassification;
  readSchemaVersion: (event: OutboxEvent) => string | number | undefined;
  acknowledge: ((ack: Acknowledgement) => Promise<void>) | undefined;
  /** No acknowledgement is sent for this message (no usable outbox-id): said once per delivery, with why. */
  onUnacknowledgeable?: (outboxMessageId: string, why: string) => void;
  /** The acknowledgement of an inbox entry reached the queue (recorded, so the sweep does not send it again). */
  acknowledgementSent?: (outboxMessageId: string) => void;
  transientErrorDelayInMs: number;
  /** Aborted when close() starts: stop waiting before abandoning. */
  stopSignal: AbortSignal;
  /** Aborted when close() gives up waiting for handlers (their abortSignal fires). */
  closingSignal: AbortSignal;
  reportError: (error: ConsumerError) => void;
  onSettled: (settlement: MessageSettlement) => void;
  faultInjection: ConsumerFaultInjection | undefined;
}

/** Dead-letter descriptions stay short enough for an application property. */
const maxDescriptionLength = 1024;

function truncate(text: string): string {
  return text.length <= maxDescriptionLength ? text : `${text.slice(0, maxDescriptionLength - 1)}…`;
}

export function normaliseHandlers<TTransaction>(
  handler: OutboxEventHandler<TTransaction> | OutboxEventHandlers<TTransaction>,
): (eventType: string) => OutboxEventRegistration<TTransaction> | undefined {
  if (typeof handler === 'function') {
    const registration = { handle: handler };
    return () => registration;
  }
  const registrations = new Map<string, OutboxEventRegistration<TTransaction>>();
  for (const [eventType, entry] of Object.entries(handler)) {
    registrations.set(eventType, typeof entry === 'function' ? { handle: entry } : entry);
  }
  if (registrations.size === 0) throw new TypeError('handler map is empty: register at least one event type');
  return (eventType) => registrations.get(eventType);
}

export function defaultClassifyError(error: unknown): ErrorClassification {
  return isPermanentError(error) ? 'permanent' : 'transient';
}

export async function processMessage<TTransaction>(
  deps: ProcessDependencies<TTransaction>,
  message: ServiceBusReceivedMessage,
  settler: MessageSettler,
): Promise<MessageSettlement> {
  const base = {
    messageId: String(message.messageId ?? ''),
    eventType: message.subject,
    sessionKey: message.sessionId,
    deliveryCount: message.deliveryCount ?? 0,
    sequenceNumber: message.sequenceNumber?.toNumber(),
  };

  async function settle(
    outcome: MessageOutcome,
    action: () => Promise<void>,
    details: Omit<MessageSettlement, 'outcome' | keyof typeof base>,
  ): Promise<boolean> {
    try {
      await action();
      return true;
    } catch (error) {
      // Lock lost or connection gone: the message comes back, and the inbox makes the retry safe.
      deps.reportError(
        new ConsumerError('SettlementFailed', `Could not ${outcome === 'dead-lettered' ? 'dead-letter' : outcome} message ${base.messageId}: ${describeError(error)}`, {
          cause: error,
          ...(details.outboxMessageId === undefined ? {} : { outboxMessageId: details.outboxMessageId }),
        }),
      );
      return false;
    }
  }

  async function sendAck(ack: Acknowledgement): Promise<Acknowledgement | undefined> {
    if (!deps.acknowledge) return undefined;
    try {
      await deps.acknowledge(ack);
      return ack;
    } catch (error) {
      deps.reportError(
        new ConsumerError('AcknowledgementFailed', `Acknowledgement of ${ack.messageId} (${ack.outcome}) failed: ${describeError(error)}`, {
          cause: error,
          outboxMessageId: ack.messageId,
        }),
      );
      return undefined;
    }
  }

  async function reject(
    reason: DeadLetterReason,
    description: string,
    ids: { outboxId: string | undefined; outboxMessageId: string | undefined },
    error?: unknown,
  ): Promise<MessageSettlement> {
    const text = truncate(description);
    const details = { ...ids, reason, description: text, ...(error === undefined ? {} : { error }) };
    if (!(await settle('dead-lettered', () => settler.deadLetter(reason, text), details))) {
      return { outcome: 'settlement-failed', ...base, ...details };
    }
    // Rejected acks need ids the publisher can match (a GUID outbox-id and the outbox-message-id); without them the
    // broker's dead-letter is the signal (the publisher's dead-letter monitor records it on the row).
    if (ids.outboxMessageId !== undefined && ids.outboxId === undefined) deps.onUnacknowledgeable?.(ids.outboxMessageId, `no acknowledgement: ${unacknowledgeable ?? 'application property "outbox-id" is missing or not a GUID'}`);
    const acknowledgement =
      ids.outboxMessageId === undefined || ids.outboxId === undefined
        ? undefined
        : await sendAck({
            outboxId: ids.outboxId,
            messageId: ids.outboxMessageId,
            outcome: 'rejected',
            reason: `${reason}: ${text}`,
            processedAt: new Date(),
          });
    return { outcome: 'dead-lettered', ...base, ...details, ...(acknowledgement ? { acknowledgement } : {}) };
  }

  const read = readOutboxEvent(message);
  const unacknowledgeable = read.ok ? read.unacknowledgeable : undefined;
  if (!read.ok) {
    return reject(read.reason, read.description, { outboxId: read.outboxId, outboxMessageId: read.outboxMessageId });
  }
  const event = read.event;
  const ids = { outboxId: event.outboxId, outboxMessageId: event.outboxMessageId };

  const registration = deps.resolveHandler(event.eventType);
  if (!registration) {
    return reject(
      DeadLetterReasons.UnknownEventType,
      event.eventType ? `no handler is registered for event type "${event.eventType}"` : 'the message has no event type (subject)',
      ids,
    );
  }
  if (registration.schemaVersions) {
    const version = deps.readSchemaVersion(event);
    if (version === undefined || !registration.schemaVersions.includes(version)) {
      return reject(
        DeadLetterReasons.UnsupportedSchemaVersion,
        `schema version ${version === undefined ? '(missing)' : JSON.stringify(version)} of "${event.eventType}" is not one of ${JSON.stringify(registration.schemaVersions)}`,
        ids,
      );
    }
  }

  // The handler's abortSignal is the consumer's own "stopped waiting" signal: one signal for all messages, rather than
  // an AbortController and a listener per message (which showed up in the benchmark's profile).
  const faults = deps.faultInjection;
  let completedEarly = false;
  let entry: InboxEntry;
  let status: 'processed' | 'duplicate';
  // The processing span's context: the acknowledgement carries it back, in the message's trace.
  let processTrace: string | undefined;
  try {
    // The inbox transaction and the handler continue the message's trace (tracing.ts).
    const result = await inProcessSpan(event, (withinSpan, spanContext) => {
      processTrace = spanContext;
      return deps.processOnce(
        {
          outboxMessageId: event.outboxMessageId,
          ...(event.outboxId === undefined ? {} : { outboxId: event.outboxId }),
          ...(event.eventType ? { eventType: event.eventType } : {}),
          ...(event.sessionKey === undefined ? {} : { sessionKey: event.sessionKey }),
          ...(event.messageId ? { serviceBusMessageId: event.messageId } : {}),
        },
        async (transaction) => {
          await withinSpan(async () => registration.handle(event, { transaction, abortSignal: deps.closingSignal, message }));
          if (faults?.completeBeforeCommit) {
            await settler.complete();
            completedEarly = true;
          }
          await faults?.beforeCommit?.(event);
        },
      );
    });
    entry = result.entry;
    status = result.status;
  } catch (error) {
    // The inbox's own failures (database down) are always transient: the message itself is fine.
    const classification = isConsumerError(error) ? 'transient' : deps.classifyError(error, event);
    if (classification === 'permanent') {
      const reason = isPermanentError(error) ? error.reason : DeadLetterReasons.PermanentHandlerError;
      return reject(reason, describeError(error), ids, error);
    }
    deps.reportError(
      isConsumerError(error)
        ? error
        : new ConsumerError('HandlerFailed', `Handler for ${event.eventType} failed (transient, will be redelivered): ${describeError(error)}`, {
            cause: error,
            outboxMessageId: event.outboxMessageId,
          }),
    );
    // Waiting before abandoning keeps a failing dependency from burning through the max delivery count in a hot loop.
    await sleep(deps.transientErrorDelayInMs, deps.stopSignal);
    const details = { ...ids, error };
    const abandoned = await settle('abandoned', () => settler.abandon(), details);
    return { outcome: abandoned ? 'abandoned' : 'settlement-failed', ...base, ...details };
  }

  await faults?.afterCommit?.(event);
  if (!completedEarly && !(await settle(status, () => settler.complete(), ids))) {
    return { outcome: 'settlement-failed', ...base, ...ids };
  }
  await faults?.afterComplete?.(event);
  if (event.outboxId === undefined) {
    // Handled (and deduplicated on outbox-message-id), but an ack without a row id would only be dead-lettered.
    deps.onUnacknowledgeable?.(event.outboxMessageId, `no acknowledgement: ${unacknowledgeable ?? 'no outbox-id'}`);
    return { outcome: status, ...base, ...ids };
  }
  const acknowledgement = await sendAck({
    outboxId: event.outboxId,
    messageId: event.outboxMessageId,
    outcome: 'processed',
    processedAt: entry.processedAt,
    ...(processTrace === undefined ? {} : { traceParent: processTrace }),
  });
  if (acknowledgement) deps.acknowledgementSent?.(event.outboxMessageId);
  return { outcome: status, ...base, ...ids, ...(acknowledgement ? { acknowledgement } : {}) };
}
