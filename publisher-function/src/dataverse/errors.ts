// One typed error for Dataverse Web API failures: closed `code` union, the HTTP status, Dataverse's own error code.

export type DataverseErrorCode =
  | 'BadRequest' // 400: malformed request, unknown column, wrong type
  | 'Unauthorized' // 401: no or bad token
  | 'Forbidden' // 403: missing privilege (check the application user's security role)
  | 'NotFound' // 404: entity set or row does not exist
  | 'PreconditionFailed' // 412: the row's ETag changed (If-Match) or the row exists (If-None-Match: *)
  | 'DuplicateKey' // 409 / 0x80040237 / 0x80060892: alternate key already used
  | 'Throttled' // 429 after every retry: service protection limits
  | 'ServerError' // 5xx after every retry
  | 'Timeout'
  | 'NetworkError'
  | 'Aborted' // the caller's abortSignal fired
  | 'InvalidResponse'; // the reply could not be understood

export class DataverseError extends Error {
  override readonly name = 'DataverseError';
  readonly code: DataverseErrorCode;
  readonly statusCode?: number;
  /** Dataverse's hexadecimal error code, e.g. "0x80040237". */
  readonly dataverseCode?: string;
  readonly retryAfterInMs?: number;

  constructor(code: DataverseErrorCode, message: string, init: { statusCode?: number; dataverseCode?: string; retryAfterInMs?: number; cause?: unknown } = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.statusCode = init.statusCode;
    this.dataverseCode = init.dataverseCode;
    this.retryAfterInMs = init.retryAfterInMs;
  }
}

export function isDataverseError(e: unknown): e is DataverseError {
  return e instanceof DataverseError;
}

const duplicateCodes = new Set(['0x80040237', '0x80060892', '0x80040333']);

/** Builds the error for a non-success reply from its status and OData error body. */
export function errorFromResponse(status: number, body: unknown, what: string, retryAfterInMs?: number): DataverseError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const dvCode = typeof err?.code === 'string' ? err.code : undefined;
  const dvMessage = typeof err?.message === 'string' ? err.message : undefined;
  const text = `${what} failed with HTTP ${status}${dvCode ? ` (${dvCode})` : ''}${dvMessage ? `: ${dvMessage}` : ''}`;
  const code: DataverseErrorCode =
    dvCode && duplicateCodes.has(dvCode.toLowerCase())
      ? 'DuplicateKey'
      : status === 400
        ? 'BadRequest'
        : status === 401
          ? 'Unauthorized'
          : status === 403
            ? 'Forbidden'
            : status === 404
              ? 'NotFound'
              : status === 409
                ? 'DuplicateKey'
                : status === 412
                  ? 'PreconditionFailed'
                  : status === 429
                    ? 'Throttled'
                    : status >= 500
                      ? 'ServerError'
                      : 'BadRequest';
  return new DataverseError(code, text, { statusCode: status, dataverseCode: dvCode, retryAfterInMs });
}
