// One typed error for Dataverse Web API failures: closed `code` union, the HTTP status, Dataverse's own error code.
import type { BatchResponse } from './batch';

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

export interface DataverseErrorInit {
  statusCode?: number;
  dataverseCode?: string;
  retryAfterInMs?: number;
  networkCode?: string;
  dataverseMessage?: string;
  contentId?: string;
  batchResponses?: readonly BatchResponse[];
  cause?: unknown;
}

export class DataverseError extends Error {
  override readonly name = 'DataverseError';
  readonly code: DataverseErrorCode;
  readonly statusCode?: number;
  /** Dataverse's hexadecimal error code, e.g. "0x80040237". */
  readonly dataverseCode?: string;
  readonly retryAfterInMs?: number;
  /** For NetworkError: the system's code of the cause (ECONNREFUSED, ENOTFOUND, a TLS code, ...). */
  readonly networkCode?: string;
  /** Dataverse's own message, without what the client adds (for a UI that shows the server's words). */
  readonly dataverseMessage?: string;
  /** For a failed request inside a $batch: its Content-ID (1-based position in its change set). */
  readonly contentId?: string;
  /** For a $batch refused as a whole: every response it holds (the requests that ran, then the failing one). */
  readonly batchResponses?: readonly BatchResponse[];

  constructor(code: DataverseErrorCode, message: string, init: DataverseErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.statusCode = init.statusCode;
    this.dataverseCode = init.dataverseCode;
    this.retryAfterInMs = init.retryAfterInMs;
    this.networkCode = init.networkCode;
    this.dataverseMessage = init.dataverseMessage;
    this.contentId = init.contentId;
    this.batchResponses = init.batchResponses;
  }
}

/** What a network failure means, in words an operator can act on. */
const networkMeanings: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens there: wrong URL or port, or the service is down)',
  ENOTFOUND: 'host name not found (DNS): check the URL',
  EAI_AGAIN: 'DNS lookup failed for now (no answer from the name server)',
  ECONNRESET: 'connection reset by the other side',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out (no answer to connect)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed: nothing speaks TLS on that port (an http:// URL, e.g. for a local emulator?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: the server certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: a self-signed certificate in the chain is not trusted (a proxy? set NODE_EXTRA_CA_CERTS)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: the certificate chain is not trusted (a proxy? set NODE_EXTRA_CA_CERTS)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: the certificate chain is not trusted (a proxy? set NODE_EXTRA_CA_CERTS)',
  CERT_HAS_EXPIRED: 'TLS: the server certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: the server certificate does not match the host name',
};

/** TLS errors are a configuration problem (certificate, proxy, plain HTTP on an https URL): retrying cannot help. */
export function isTlsCode(code: string | undefined): boolean {
  return !!code && /^(ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|EPROTO$)/.test(code);
}

/** The innermost system error of a failed fetch (undici wraps it in TypeError("fetch failed"), sometimes an AggregateError). */
function systemCause(e: unknown): { code?: string; message?: string } {
  let cur: unknown = e;
  let message: string | undefined;
  // Duck-typed, not instanceof: undici's errors may come from another realm (a VM context, a test sandbox).
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    const { code, message: m, cause, errors } = cur as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
    // The first line only: OpenSSL messages go on with source file names.
    if (typeof m === 'string' && m !== '') message = m.split('\n')[0];
    if (typeof code === 'string') return { code, message };
    cur = cause ?? errors?.[0];
  }
  return { message };
}

/**
 * One clear line for a request that got no HTTP answer: the host and port, what went wrong and the system code, e.g.
 * "cannot reach 127.0.0.1:9: connection refused (...) [ECONNREFUSED]". Never the path's query or any credential.
 */
export function describeNetworkFailure(e: unknown, url: string): { code?: string; where: string; text: string } {
  let where = 'Dataverse';
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    // keep the generic name
  }
  const { code, message } = systemCause(e);
  const meaning = (code && networkMeanings[code]) ?? (isTlsCode(code) ? `TLS error: ${message ?? code}` : (message ?? 'network error'));
  return { code, where, text: `cannot reach ${where}: ${meaning}${code ? ` [${code}]` : ''}` };
}

export function isDataverseError(e: unknown): e is DataverseError {
  return e instanceof DataverseError;
}

const duplicateCodes = new Set(['0x80040237', '0x80060892', '0x80040333']);

/** Builds the error for a non-success reply from its status and OData error body. */
export function errorFromResponse(
  status: number,
  body: unknown,
  what: string,
  retryAfterInMs?: number,
  batch: Pick<DataverseErrorInit, 'contentId' | 'batchResponses'> = {},
): DataverseError {
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
  return new DataverseError(code, text, { statusCode: status, dataverseCode: dvCode, retryAfterInMs, dataverseMessage: dvMessage, ...batch });
}
