// One typed error for the change-tracking source, in the Azure SDK style: a closed union of codes and a guard.

export type ChangeTrackingErrorCode =
  | 'TokenExpired' // Dataverse no longer keeps the changes since this delta token (ExpiredVersionStamp 0x80044352): resync
  | 'TokenInvalid' // Dataverse does not accept the delta token (e.g. from another environment): resync
  | 'CheckpointConflict' // the checkpoint row changed under us (another instance wrote it): stop, nothing is lost
  | 'InvalidResponse' // a delta page could not be understood
  | 'SendFailed'; // Service Bus did not take every message: the delta is read again from the last checkpoint

export class ChangeTrackingError extends Error {
  override readonly name = 'ChangeTrackingError';
  readonly code: ChangeTrackingErrorCode;
  /** The source the error belongs to. */
  readonly source?: string;

  constructor(code: ChangeTrackingErrorCode, message: string, options: { source?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.source = options.source;
  }
}

export function isChangeTrackingError(e: unknown): e is ChangeTrackingError {
  return e instanceof ChangeTrackingError;
}
