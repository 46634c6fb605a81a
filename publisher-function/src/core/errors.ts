// One typed error for the engine, in the Azure SDK style: a closed union of codes, `name` set, and an `isOutboxError` guard.

export type OutboxErrorCode =
  | 'InvalidSettings' // a setting or app setting is missing or malformed: the publisher refuses to start
  | 'LeaseLost' // another instance holds the scope's lease: stop publishing at once
  | 'PublisherClosed' // the object was closed; create a new one
  | 'InvalidTransition' // an operator action asked for a status change the status machine forbids
  | 'RowNotFound'
  | 'Conflict' // the row changed under us (ETag mismatch) and the action was not applied
  | 'ColumnSecurity'; // the application user cannot read the outbox's secured columns: fix the profile, touch no row

export class OutboxError extends Error {
  override readonly name = 'OutboxError';
  readonly code: OutboxErrorCode;
  /** For InvalidSettings: one readable line per problem. */
  readonly details: readonly string[];

  constructor(code: OutboxErrorCode, message: string, options: { details?: readonly string[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }
}

export function isOutboxError(e: unknown): e is OutboxError {
  return e instanceof OutboxError;
}

/** Readable one-line text of any thrown value, never including request bodies. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
