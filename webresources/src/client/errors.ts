// The typed error of commitWithOutbox for everything but a bad outbox message: bad business changes and counts before
// sending, no Web API, and a change set that failed. A bad outbox message is the contract's OutboxRowError (the same
// codes the Node writer throws), re-exported here so makers' scripts find both in one place.
export { isOutboxRowError, OutboxRowError, type OutboxRowErrorCode, type OutboxRowField } from '@dataverse-outbox/contract';

export type OutboxCommitErrorCode =
  | 'NoChanges'
  | 'NoMessages'
  | 'TooManyRequests'
  | 'InvalidChange'
  | 'UnsavedRecord'
  | 'WebApiUnavailable'
  | 'CommitFailed';

export interface OutboxCommitErrorDetails {
  /** Position of the offending request inside the change set (0-based; business changes first, then outbox rows). */
  requestIndex?: number;
  /** Logical name of the table the offending request writes. */
  entity?: string;
  /** 'Create' | 'Update' | 'Delete' of the offending request. */
  operation?: string;
  /** Dataverse error code (decimal, as the client API reports it) when the server rejected the change set. */
  serverErrorCode?: number;
  /** True when the change set reached the server (and was rolled back there); false for validation errors. */
  sent?: boolean;
  cause?: unknown;
}

export class OutboxCommitError extends Error {
  override readonly name = 'OutboxCommitError';
  readonly code: OutboxCommitErrorCode;
  readonly requestIndex: number | undefined;
  readonly entity: string | undefined;
  readonly operation: string | undefined;
  readonly serverErrorCode: number | undefined;
  readonly sent: boolean;
  /** What executeMultiple rejected with, for diagnostics. */
  readonly innerError: unknown;

  constructor(code: OutboxCommitErrorCode, message: string, details: OutboxCommitErrorDetails = {}) {
    super(message);
    // Keeps `instanceof` working when compiled to ES5-style classes by other toolchains.
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    this.requestIndex = details.requestIndex;
    this.entity = details.entity;
    this.operation = details.operation;
    this.serverErrorCode = details.serverErrorCode;
    this.sent = details.sent ?? false;
    this.innerError = details.cause;
  }
}

export function isOutboxCommitError(error: unknown): error is OutboxCommitError {
  return (
    error instanceof OutboxCommitError ||
    (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'OutboxCommitError' && typeof (error as { code?: unknown }).code === 'string')
  );
}
