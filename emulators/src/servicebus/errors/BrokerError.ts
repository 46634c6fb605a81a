// One error type for everything the broker refuses, with a closed set of codes. The AMQP adapter turns each code
// into the wire condition Azure Service Bus uses, so the official SDK raises the same ServiceBusError code it would
// raise against Azure (see `amqpConditionFor`).

export type BrokerErrorCode =
  | 'EntityNotFound'
  | 'EntityAlreadyExists'
  | 'QuotaExceeded'
  | 'MessageLockLost'
  | 'SessionLockLost'
  | 'SessionCannotBeLocked'
  | 'MessageNotFound'
  | 'MessageSizeExceeded'
  | 'InvalidOperation'
  | 'ArgumentError'
  | 'ServiceTimeout'
  | 'ServerBusy'
  | 'Unauthorized'
  | 'InternalError';

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isBrokerError(e: unknown): e is BrokerError {
  return e instanceof BrokerError;
}

const conditions: Record<BrokerErrorCode, { condition: string; status: number }> = {
  EntityNotFound: { condition: 'amqp:not-found', status: 404 },
  EntityAlreadyExists: { condition: 'com.microsoft:entity-already-exists', status: 409 },
  QuotaExceeded: { condition: 'amqp:resource-limit-exceeded', status: 403 },
  MessageLockLost: { condition: 'com.microsoft:message-lock-lost', status: 410 },
  SessionLockLost: { condition: 'com.microsoft:session-lock-lost', status: 410 },
  SessionCannotBeLocked: { condition: 'com.microsoft:session-cannot-be-locked', status: 410 },
  MessageNotFound: { condition: 'com.microsoft:message-not-found', status: 404 },
  MessageSizeExceeded: { condition: 'amqp:link:message-size-exceeded', status: 403 },
  InvalidOperation: { condition: 'amqp:not-allowed', status: 400 },
  ArgumentError: { condition: 'com.microsoft:argument-error', status: 400 },
  ServiceTimeout: { condition: 'com.microsoft:timeout', status: 408 },
  ServerBusy: { condition: 'com.microsoft:server-busy', status: 503 },
  Unauthorized: { condition: 'amqp:unauthorized-access', status: 401 },
  InternalError: { condition: 'amqp:internal-error', status: 500 },
};

/** The AMQP error condition and management status code Azure Service Bus uses for this error. */
export function amqpConditionFor(code: BrokerErrorCode): { condition: string; status: number } {
  return conditions[code];
}

/** The error factory: one method per refusal, with Azure's wording where the SDK or users depend on it. */
export const brokerErrors = {
  entityNotFound(path: string): BrokerError {
    // The SDK maps "The messaging entity '...' could not be found" to MessagingEntityNotFound.
    return new BrokerError(
      'EntityNotFound',
      `The messaging entity 'sb://emulator/${path}' could not be found. To know more visit https://aka.ms/sbResourceMgrExceptions.`,
    );
  },
  ruleAlreadyExists(rulePath: string): BrokerError {
    // The SDK maps com.microsoft:entity-already-exists to MessagingEntityAlreadyExists.
    return new BrokerError('EntityAlreadyExists', `The messaging entity 'sb://emulator/${rulePath}' already exists. To know more visit https://aka.ms/sbResourceMgrExceptions.`);
  },
  ruleQuotaExceeded(topic: string, kind: 'sql' | 'correlation', limit: number): BrokerError {
    return new BrokerError('QuotaExceeded', `The topic '${topic}' already has ${limit} ${kind === 'sql' ? 'SQL' : 'correlation'} filters, the most Service Bus allows per topic.`);
  },
  messageLockLost(): BrokerError {
    return new BrokerError(
      'MessageLockLost',
      'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue, or was received by a different receiver instance.',
    );
  },
  sessionLockLost(sessionId: string): BrokerError {
    return new BrokerError('SessionLockLost', `The session lock has expired on the session with id '${sessionId}'.`);
  },
  sessionCannotBeLocked(sessionId: string): BrokerError {
    return new BrokerError(
      'SessionCannotBeLocked',
      `The requested session '${sessionId}' cannot be accepted. It may be locked by another receiver.`,
    );
  },
  noSessionAvailable(path: string): BrokerError {
    return new BrokerError('ServiceTimeout', `No unlocked session with messages became available on '${path}' within the timeout.`);
  },
  messageNotFound(sequenceNumber: number): BrokerError {
    return new BrokerError('MessageNotFound', `Failed to lock one or more specified messages. The message with sequence number ${sequenceNumber} was not found.`);
  },
  messageSizeExceeded(size: number, max: number): BrokerError {
    return new BrokerError(
      'MessageSizeExceeded',
      `The received message (size: ${size} bytes) exceeds the limit (${max} bytes) currently allowed on the link.`,
    );
  },
  sessionRequired(path: string): BrokerError {
    return new BrokerError(
      'InvalidOperation',
      `The SessionId was not set on a message, and it cannot be sent to the entity '${path}'. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value.`,
    );
  },
  sessionNotSupported(path: string): BrokerError {
    return new BrokerError(
      'InvalidOperation',
      `It is not possible for an entity that requires sessions to create a non-sessionful message receiver, or the entity '${path}' does not support sessions.`,
    );
  },
  invalidOperation(message: string): BrokerError {
    return new BrokerError('InvalidOperation', message);
  },
  argument(message: string): BrokerError {
    return new BrokerError('ArgumentError', message);
  },
  attachRefused(path: string): BrokerError {
    return new BrokerError('ServerBusy', `The emulator is refusing attaches to '${path}' (fault injection).`);
  },
};
