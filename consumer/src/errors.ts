// The consumer's typed errors, modelled on the Azure SDK's ServiceBusError: one class with a closed `code` union and a guard,
// plus PermanentError, which handlers throw to say "retrying will never help: dead-letter this message now".

/** What went wrong inside the consumer toolkit itself (not inside your handler). */
export type ConsumerErrorCode =
  /** The consumer or inbox store was closed; create a new one to continue. */
  | 'ConsumerClosed'
  /** The inbox database failed (connect, begin, insert, commit). Always treated as transient: the message is abandoned. */
  | 'InboxFailed'
  /** Applying the inbox migrations failed. */
  | 'MigrationFailed'
  /** The Service Bus receiver reported an error (connection, lock renewal, session acceptance). */
  | 'ReceiveFailed'
  /** A handler failed with an error classified as transient; the message was abandoned for redelivery. */
  | 'HandlerFailed'
  /** Completing, abandoning or dead-lettering a message failed (for example the lock was lost); it will be redelivered. */
  | 'SettlementFailed'
  /** Sending the acknowledgement to the ack queue failed after the message was completed. */
  | 'AcknowledgementFailed'
  /** close() gave up waiting for messages still in flight. */
  | 'CloseTimeout';

export interface ConsumerErrorOptions {
  cause?: unknown;
  /** The outbox-message-id of the message being processed, when known. */
  outboxMessageId?: string;
}

export class ConsumerError extends Error {
  override readonly name = 'ConsumerError';
  readonly code: ConsumerErrorCode;
  readonly outboxMessageId: string | undefined;

  constructor(code: ConsumerErrorCode, message: string, options: ConsumerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.outboxMessageId = options.outboxMessageId;
  }
}

export function isConsumerError(error: unknown): error is ConsumerError {
  return error instanceof ConsumerError;
}

/**
 * Dead-letter reasons the consumer writes as the message's DeadLetterReason (and, prefixed, as the acknowledgement's reason).
 * Each names one specific cause so an operator can tell them apart in the dead-letter queue.
 */
export const DeadLetterReasons = {
  /** The message has no `outbox-message-id` application property: it cannot be deduplicated, so it is never processed. */
  MissingOutboxMessageId: 'MissingOutboxMessageId',
  /**
   * `outbox-message-id` cannot be an inbox key: a control character (NUL is refused by PostgreSQL), over 1,024
   * characters, or not a string. Permanent: no redelivery can change it.
   */
  InvalidOutboxMessageId: 'InvalidOutboxMessageId',
  /** The subject, session id or message id carries a control character the inbox cannot store (NUL on PostgreSQL). */
  InvalidMessageProperty: 'InvalidMessageProperty',
  /** The body could not be decoded for its content type (for example invalid JSON). */
  InvalidBody: 'InvalidBody',
  /** No handler is registered for the message's event type (Service Bus `subject`). */
  UnknownEventType: 'UnknownEventType',
  /** The payload's schema version is not one the handler declares it can read. */
  UnsupportedSchemaVersion: 'UnsupportedSchemaVersion',
  /** The handler rejected the payload as invalid. */
  ValidationFailed: 'ValidationFailed',
  /** The handler failed with an error classified as permanent. */
  PermanentHandlerError: 'PermanentHandlerError',
} as const;
export type DeadLetterReason = (typeof DeadLetterReasons)[keyof typeof DeadLetterReasons];

/** Reasons a handler may give when it throws a PermanentError. */
export type PermanentErrorReason = Extract<
  DeadLetterReason,
  'ValidationFailed' | 'UnsupportedSchemaVersion' | 'UnknownEventType' | 'PermanentHandlerError'
>;

export interface PermanentErrorOptions {
  /** Dead-letter reason; default `PermanentHandlerError`. Use `ValidationFailed` for payloads that break your rules. */
  reason?: PermanentErrorReason;
  cause?: unknown;
}

/**
 * Throw from a handler when retrying can never succeed (invalid payload, business rule violated for good). The handler's
 * transaction is rolled back, the message is dead-lettered at once with this reason and message, and acknowledged `rejected`.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  readonly reason: PermanentErrorReason;

  constructor(message: string, options: PermanentErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason ?? DeadLetterReasons.PermanentHandlerError;
  }
}

export function isPermanentError(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

/** A readable one-line description of any thrown value, for logs and dead-letter descriptions. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
