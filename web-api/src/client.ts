// Dataverse Web API client: tokens, retries that honour service protection limits, OData queries with paging,
// ETags, $batch change sets and the bulk messages. The one client of the product: the publisher, producers, the
// cleanup scheduler, the deploy executor, the web resources' Node adapter and the PCF dev host all use it. Only
// fetch, Headers, URL and AbortSignal: it runs in Node 20 and in browsers.
import { InvalidIdentifierError, isGuid, normaliseGuid, odataStringLiteral } from '@dataverse-outbox/contract';
import { hasControlCharacter } from './controlCharacters';
import { httpUrlProblem } from './url';
import { buildBatchBody, failedBatch, parseBatchResponse, type BatchPart, type BatchRequest, type BatchResponse } from './batch';
import { DataverseError, describeNetworkFailure, errorFromResponse, isTlsCode } from './errors';

export interface DataverseOperationOptions {
  abortSignal?: AbortSignal;
}

export interface DataverseRetryOptions {
  /** Retries after the first try. Default 6. */
  maxRetries?: number;
  /** First backoff for 5xx/timeouts when there is no Retry-After. Default 1 s, doubled per retry. */
  retryDelayInMs?: number;
  /** Ceiling for any single wait, Retry-After included. Default 60 s. */
  maxRetryDelayInMs?: number;
  /** Per-attempt timeout. Default 30 s. */
  timeoutInMs?: number;
  /**
   * Retry when Dataverse cannot be reached (connection refused, DNS, reset, timeout). Default true (hosts ride out an
   * outage, reporting each retry through onRetry); the CLI turns it off to report the cause at once. TLS errors are
   * never retried.
   */
  retryUnreachable?: boolean;
}

/** A failed attempt that will be tried again (for visible progress: the worker logs each one). */
export interface DataverseRetryInfo {
  what: string;
  /** 1 for the first retry. */
  retry: number;
  maxRetries: number;
  waitInMs: number;
  error: DataverseError;
}

export interface DataverseRequestInfo {
  method: string;
  path: string;
  status: number;
  attempt: number;
  durationInMs: number;
}

export interface DataverseClientOptions {
  /** Web API version. Default "9.2". */
  apiVersion?: string;
  retryOptions?: DataverseRetryOptions;
  /** Called after every HTTP exchange (retries included): counts requests for telemetry and benchmarks. */
  onResponse?: (info: DataverseRequestInfo) => void;
  /** Called before each wait for a retry (throttling included), with the failure that caused it. */
  onRetry?: (info: DataverseRetryInfo) => void;
  /** Default "dataverse-outbox"; null sends none (a browser page: it names itself). */
  userAgent?: string | null;
  /**
   * The fetch to send with. Default: the global fetch. A page passes one that adds what its host requires (the monitor
   * dev host's page token); tests pass a recording one.
   */
  fetch?: typeof fetch;
  /**
   * The fetch `credentials` mode. A same-origin page (a model-driven app's control or web resource) passes
   * 'same-origin' with a null credential: the app's session cookie authenticates. Default: fetch's own default.
   */
  credentials?: 'omit' | 'same-origin' | 'include';
}

/**
 * What the client needs of an @azure/core-auth TokenCredential (DefaultAzureCredential, managed identity, MSAL in a
 * browser): structural, so this package needs no Azure SDK and any credential object fits.
 */
export interface DataverseTokenCredential {
  getToken(scopes: string | string[], options?: { abortSignal?: AbortSignal }): Promise<{ token: string; expiresOnTimestamp: number } | null>;
}

/**
 * A static bearer token (emulator, tests), an @azure/identity credential (DefaultAzureCredential, managed identity), or
 * null to send no Authorization header: a same-origin page whose session authenticates it (a model-driven app, the
 * monitor's dev host behind its proxy).
 */
export type DataverseCredential = DataverseTokenCredential | { token: string } | null;

export interface QueryOptions extends DataverseOperationOptions {
  select?: readonly string[];
  filter?: string;
  orderBy?: string;
  top?: number;
  expand?: string;
  count?: boolean;
  /** `Prefer: odata.maxpagesize` (max 5,000). */
  maxPageSize?: number;
}

export interface EntityPage<T> {
  value: T[];
  nextLink?: string;
  count?: number;
}

export interface WriteOptions extends DataverseOperationOptions {
  /** `If-Match`: an ETag, or "*" for update-only. */
  ifMatch?: string;
  /** `If-None-Match: *` for create-only. */
  ifNoneMatch?: '*';
  /** Ask for the written row back. */
  returnRepresentation?: boolean;
}

export interface RequestOptions extends DataverseOperationOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** Raw text body (with its content type in headers). */
  rawBody?: string;
  /** Safe to resend after a timeout or 5xx (GET/PATCH/DELETE are; POSTs only when the caller says so). */
  idempotent?: boolean;
  /** Label for error messages and logs. */
  what?: string;
}

export interface DataverseResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export type EntityRecord = Record<string, unknown>;

const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DataverseError('Aborted', 'The operation was aborted.'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new DataverseError('Aborted', 'The operation was aborted.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After is seconds (Dataverse) or an HTTP date. */
function retryAfterInMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Formats a value for an OData literal in `$filter` (the query string is URL-encoded as a whole afterwards). */
export function odataLiteral(value: string | number | boolean | Date | null): string {
  if (value === null) return 'null';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return odataStringLiteral(value);
  return String(value);
}

/** Percent-encodes everything but unreserved characters, including the ! ' ( ) * that encodeURIComponent leaves. */
function encodeSegmentText(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * An alternate-key segment for a URL path, e.g. `obx_name='a%23b'` for the scope "a#b": the value quoted as an OData
 * string literal, then percent-encoded, so "#", "?", "%", "/" and quotes stay part of the key.
 */
export function alternateKey(column: string, value: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(column)) throw new TypeError(`alternate key column must be a logical name, got ${JSON.stringify(column)}`);
  const literal = odataStringLiteral(value);
  return `${column}='${encodeSegmentText(literal.slice(1, -1))}'`;
}

/** A key as it goes into `entityset(key)`: a row id (normalised GUID) or a segment built by alternateKey. */
function keySegment(key: string): string {
  if (isGuid(key)) return normaliseGuid(key)!;
  // column='text' as alternateKey builds it, or a plain literal without anything that could end the segment, start a
  // query or fragment, or smuggle an escape: quotes only doubled, % only as a valid escape.
  if (!hasControlCharacter(key) && /^[a-z_][a-z0-9_]*='(?:[^'#?/\\\s%]|''|%[0-9A-Fa-f]{2})*'$/i.test(key)) return key;
  throw new InvalidIdentifierError('row id', key);
}

export class DataverseClient {
  readonly url: string;
  readonly apiBase: string;
  private readonly credential: DataverseCredential;
  private readonly retry: Required<DataverseRetryOptions>;
  private readonly onResponse?: (info: DataverseRequestInfo) => void;
  private readonly onRetry?: (info: DataverseRetryInfo) => void;
  private readonly userAgent: string | null;
  private readonly send: typeof fetch;
  private readonly credentialsMode?: 'omit' | 'same-origin' | 'include';
  private cachedToken?: { token: string; expiresOn: number };
  private closed = false;

  constructor(url: string, credential: DataverseCredential, options: DataverseClientOptions = {}) {
    // Never echo the URL: an unparsable one may hold a password.
    const problem = httpUrlProblem(url);
    if (problem) throw new TypeError(`Dataverse URL is not valid: ${problem}`);
    const parsed = new URL(url);
    this.url = parsed.origin + parsed.pathname.replace(/\/+$/, '');
    this.apiBase = `${this.url}/api/data/v${options.apiVersion ?? '9.2'}/`;
    this.credential = credential;
    this.retry = {
      maxRetries: options.retryOptions?.maxRetries ?? 6,
      retryDelayInMs: options.retryOptions?.retryDelayInMs ?? 1000,
      maxRetryDelayInMs: options.retryOptions?.maxRetryDelayInMs ?? 60_000,
      timeoutInMs: options.retryOptions?.timeoutInMs ?? 30_000,
      retryUnreachable: options.retryOptions?.retryUnreachable ?? true,
    };
    this.onResponse = options.onResponse;
    this.onRetry = options.onRetry;
    this.userAgent = options.userAgent === undefined ? 'dataverse-outbox' : options.userAgent;
    // Bound: a browser's fetch must be called on its window.
    this.send = options.fetch ?? ((input, init) => fetch(input, init));
    this.credentialsMode = options.credentials;
  }

  private async token(signal?: AbortSignal): Promise<string | undefined> {
    if (this.credential === null) return undefined;
    if ('token' in this.credential) {
      // Checked here, not by fetch: its "invalid header value" error would repeat the token.
      if (!/^[\x21-\x7e]+$/.test(this.credential.token)) throw new DataverseError('Unauthorized', 'The static bearer token is empty or has characters a header cannot carry (spaces, line breaks, non-ASCII); it is not shown.');
      return this.credential.token;
    }
    if (this.cachedToken && this.cachedToken.expiresOn - TOKEN_REFRESH_MARGIN_MS > Date.now()) return this.cachedToken.token;
    const t = await this.credential.getToken(`${this.url}/.default`, { abortSignal: signal });
    if (!t) throw new DataverseError('Unauthorized', `No token could be obtained for ${this.url}/.default`);
    if (!/^[\x21-\x7e]+$/.test(t.token)) throw new DataverseError('Unauthorized', 'The credential returned a bearer token that is empty or has characters a header cannot carry; it is not shown.');
    this.cachedToken = { token: t.token, expiresOn: t.expiresOnTimestamp };
    return t.token;
  }

  /** Resolves an entity-set-relative path (or absolute URL, e.g. a nextLink) to a URL. */
  resolve(path: string): string {
    return /^https?:\/\//i.test(path) ? path : this.apiBase + path.replace(/^\/+/, '');
  }

  /** One Web API call with retries: 429 waits Retry-After; 5xx, timeouts and network errors back off (idempotent requests only). */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<DataverseResponse> {
    if (this.closed) throw new Error('DataverseClient is closed; create a new client.');
    const url = this.resolve(path);
    const what = options.what ?? `${method} ${path.split('?')[0]}`;
    const idempotent = options.idempotent ?? method !== 'POST';
    for (let attempt = 0; ; attempt++) {
      if (options.abortSignal?.aborted) throw new DataverseError('Aborted', `${what} was aborted.`);
      const timeout = AbortSignal.timeout(this.retry.timeoutInMs);
      const signal = options.abortSignal ? AbortSignal.any([options.abortSignal, timeout]) : timeout;
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'OData-MaxVersion': '4.0',
        'OData-Version': '4.0',
        ...(this.userAgent === null ? {} : { 'User-Agent': this.userAgent }),
        ...(options.headers ?? {}),
      };
      const token = await this.token(options.abortSignal);
      if (token !== undefined) headers.Authorization = `Bearer ${token}`;
      let body: string | undefined = options.rawBody;
      if (body === undefined && options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['Content-Type'] ??= 'application/json; charset=utf-8';
      }
      const started = Date.now();
      let failure: DataverseError;
      let waitMs: number | undefined;
      try {
        const res = await this.send(url, { method, headers, body, signal, ...(this.credentialsMode ? { credentials: this.credentialsMode } : {}) });
        const text = await res.text();
        this.onResponse?.({ method, path: url, status: res.status, attempt, durationInMs: Date.now() - started });
        let parsed: unknown = undefined;
        if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
        }
        if (res.ok) return { status: res.status, headers: res.headers, body: parsed, text };
        const after = retryAfterInMs(res.headers.get('retry-after'));
        // A $batch refused as a whole because one request failed: its error is that request's, classified the same way.
        const batchResponses = failedBatch(res.headers.get('content-type') ?? '', text);
        const inner = batchResponses?.find((r) => r.status >= 400);
        failure = inner
          ? errorFromResponse(inner.status, inner.body, `${what} request${inner.contentId ? ` ${inner.contentId}` : ''}`, after, { contentId: inner.contentId, batchResponses })
          : errorFromResponse(res.status, parsed, what, after);
        if (res.status === 429) waitMs = after ?? this.retry.retryDelayInMs * 2 ** attempt;
        else if ((res.status === 502 || res.status === 504) && idempotent) waitMs = after ?? this.retry.retryDelayInMs * 2 ** attempt;
        else if (res.status === 503) waitMs = after ?? this.retry.retryDelayInMs * 2 ** attempt; // not processed: safe to resend
        else throw failure;
      } catch (e) {
        if (e instanceof DataverseError) {
          if (waitMs === undefined) throw e;
          failure = e;
        } else if (options.abortSignal?.aborted) {
          throw new DataverseError('Aborted', `${what} was aborted.`, { cause: e });
        } else {
          const timedOut = timeout.aborted;
          const net = describeNetworkFailure(e, url);
          failure = timedOut
            ? new DataverseError('Timeout', `${what} timed out after ${this.retry.timeoutInMs} ms waiting for ${net.where}`, { cause: e })
            : new DataverseError('NetworkError', `${what} failed: ${net.text}`, { cause: e, networkCode: net.code });
          this.onResponse?.({ method, path: url, status: 0, attempt, durationInMs: Date.now() - started });
          if (!idempotent || isTlsCode(net.code) || !this.retry.retryUnreachable) throw failure;
          waitMs = this.retry.retryDelayInMs * 2 ** attempt;
        }
      }
      if (attempt >= this.retry.maxRetries) throw failure;
      const jitter = failure.code === 'Throttled' ? 0 : Math.random() * 0.2 * waitMs;
      const wait = Math.min(this.retry.maxRetryDelayInMs, waitMs + jitter);
      this.onRetry?.({ what, retry: attempt + 1, maxRetries: this.retry.maxRetries, waitInMs: Math.round(wait), error: failure });
      await sleep(wait, options.abortSignal);
    }
  }

  private static queryString(q: QueryOptions): string {
    const parts: string[] = [];
    if (q.select?.length) parts.push(`$select=${q.select.join(',')}`);
    if (q.filter) parts.push(`$filter=${encodeURIComponent(q.filter)}`);
    if (q.orderBy) parts.push(`$orderby=${encodeURIComponent(q.orderBy)}`);
    if (q.top !== undefined) parts.push(`$top=${q.top}`);
    if (q.expand) parts.push(`$expand=${encodeURIComponent(q.expand)}`);
    if (q.count) parts.push('$count=true');
    return parts.length ? `?${parts.join('&')}` : '';
  }

  /** One page of a query; follow `nextLink` with `nextPage`. */
  async retrieveMultiple<T extends EntityRecord = EntityRecord>(entitySet: string, query: QueryOptions = {}): Promise<EntityPage<T>> {
    return this.retrievePage<T>(entitySet + DataverseClient.queryString(query), query);
  }

  async nextPage<T extends EntityRecord = EntityRecord>(nextLink: string, options: QueryOptions = {}): Promise<EntityPage<T>> {
    return this.retrievePage<T>(nextLink, options);
  }

  /**
   * One page of a query given as `entityset?query` (a caller that already holds an OData query string, like PCF's
   * retrieveMultipleRecords) or a nextLink, with formatted values and the other annotations.
   */
  async retrievePage<T extends EntityRecord = EntityRecord>(path: string, options: Pick<QueryOptions, 'maxPageSize' | 'abortSignal'> = {}): Promise<EntityPage<T>> {
    const headers: Record<string, string> = { Prefer: 'odata.include-annotations="*"' };
    if (options.maxPageSize) headers.Prefer += `,odata.maxpagesize=${options.maxPageSize}`;
    const res = await this.request('GET', path, { headers, abortSignal: options.abortSignal, what: `query ${path.split('?')[0]}` });
    const b = res.body as { value?: T[]; '@odata.nextLink'?: string; '@odata.count'?: number } | undefined;
    if (!b || !Array.isArray(b.value)) throw new DataverseError('InvalidResponse', `query ${path.split('?')[0]} returned no "value" array`);
    return { value: b.value, nextLink: b['@odata.nextLink'], count: b['@odata.count'] };
  }

  /** Every row of a query, following nextLinks. */
  async *listAll<T extends EntityRecord = EntityRecord>(entitySet: string, query: QueryOptions = {}): AsyncGenerator<T> {
    let page = await this.retrieveMultiple<T>(entitySet, query);
    for (;;) {
      yield* page.value;
      if (!page.nextLink) return;
      page = await this.nextPage<T>(page.nextLink, query);
    }
  }

  /** A row by id or by alternate key (`obx_messageid='x'`); undefined when it does not exist. */
  async retrieve<T extends EntityRecord = EntityRecord>(entitySet: string, key: string, options: Pick<QueryOptions, 'select' | 'expand' | 'abortSignal'> = {}): Promise<T | undefined> {
    try {
      const res = await this.request('GET', `${entitySet}(${keySegment(key)})${DataverseClient.queryString(options)}`, { abortSignal: options.abortSignal });
      return res.body as T;
    } catch (e) {
      if (e instanceof DataverseError && e.code === 'NotFound') return undefined;
      throw e;
    }
  }

  private static writeHeaders(options: WriteOptions): Record<string, string> {
    const h: Record<string, string> = {};
    if (options.ifMatch) h['If-Match'] = options.ifMatch;
    if (options.ifNoneMatch) h['If-None-Match'] = options.ifNoneMatch;
    if (options.returnRepresentation) h.Prefer = 'return=representation';
    return h;
  }

  private static idFromResponse(res: DataverseResponse): string | undefined {
    const entityId = res.headers.get('odata-entityid') ?? '';
    const m = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(entityId);
    if (m) return m[1]!.toLowerCase();
    const b = res.body as EntityRecord | undefined;
    return b ? (Object.entries(b).find(([k, v]) => k.endsWith('id') && typeof v === 'string' && /^[0-9a-f-]{36}$/i.test(v))?.[1] as string | undefined) : undefined;
  }

  /** Creates a row and returns its id (and the row, with returnRepresentation). */
  async create(entitySet: string, record: EntityRecord, options: WriteOptions = {}): Promise<{ id: string; record?: EntityRecord }> {
    const res = await this.request('POST', entitySet, { body: record, headers: DataverseClient.writeHeaders(options), abortSignal: options.abortSignal, what: `create ${entitySet}` });
    const id = DataverseClient.idFromResponse(res);
    if (!id) throw new DataverseError('InvalidResponse', `create ${entitySet} returned no OData-EntityId`);
    return { id, record: res.body as EntityRecord | undefined };
  }

  /** PATCH by id or alternate key. With ifMatch "*" it only updates; with ifNoneMatch "*" it only creates; otherwise it upserts. */
  async update(entitySet: string, key: string, changes: EntityRecord, options: WriteOptions = {}): Promise<{ etag?: string; record?: EntityRecord }> {
    const res = await this.request('PATCH', `${entitySet}(${keySegment(key)})`, { body: changes, headers: DataverseClient.writeHeaders(options), abortSignal: options.abortSignal, what: `update ${entitySet}` });
    return { etag: res.headers.get('etag') ?? (res.body as EntityRecord | undefined)?.['@odata.etag'] as string | undefined, record: res.body as EntityRecord | undefined };
  }

  async delete(entitySet: string, key: string, options: WriteOptions = {}): Promise<void> {
    await this.request('DELETE', `${entitySet}(${keySegment(key)})`, { headers: DataverseClient.writeHeaders(options), abortSignal: options.abortSignal, what: `delete ${entitySet}` });
  }

  /** CreateMultiple (all or nothing). Returns the new ids in order. */
  async createMultiple(entitySet: string, logicalName: string, records: readonly EntityRecord[], options: DataverseOperationOptions = {}): Promise<string[]> {
    const Targets = records.map((r) => ({ ...r, '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}` }));
    const res = await this.request('POST', `${entitySet}/Microsoft.Dynamics.CRM.CreateMultiple`, { body: { Targets }, abortSignal: options.abortSignal, what: `CreateMultiple ${entitySet}` });
    return ((res.body as { Ids?: string[] } | undefined)?.Ids ?? []).map((id) => id.toLowerCase());
  }

  /**
   * UpdateMultiple (all or nothing). Records carry their primary key; a record with `@odata.etag` is updated only if
   * the row still has that version (IfRowVersionMatches): otherwise the whole request fails with PreconditionFailed.
   */
  async updateMultiple(entitySet: string, logicalName: string, records: readonly EntityRecord[], options: DataverseOperationOptions = {}): Promise<void> {
    const Targets = records.map((r) => ({ ...r, '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}` }));
    await this.request('POST', `${entitySet}/Microsoft.Dynamics.CRM.UpdateMultiple`, { body: { Targets }, abortSignal: options.abortSignal, idempotent: true, what: `UpdateMultiple ${entitySet}` });
  }

  /** UpsertMultiple by alternate key or id (all or nothing). */
  async upsertMultiple(entitySet: string, logicalName: string, records: readonly EntityRecord[], options: DataverseOperationOptions = {}): Promise<void> {
    const Targets = records.map((r) => ({ ...r, '@odata.type': `Microsoft.Dynamics.CRM.${logicalName}` }));
    await this.request('POST', `${entitySet}/Microsoft.Dynamics.CRM.UpsertMultiple`, { body: { Targets }, abortSignal: options.abortSignal, idempotent: true, what: `UpsertMultiple ${entitySet}` });
  }

  /**
   * Sends a $batch. A part that is an array is a change set: atomic. Without continueOnError the batch stops at the
   * first failure. Returns one response per request that ran. `url`s may be entity-set relative.
   */
  async executeBatch(parts: readonly BatchPart[], options: DataverseOperationOptions & { continueOnError?: boolean; idempotent?: boolean } = {}): Promise<BatchResponse[]> {
    const absolute = (u: string): string => (u.startsWith('$') ? u : this.resolve(u));
    const resolved = parts.map((p) => (Array.isArray(p) ? p.map((r) => ({ ...r, url: absolute(r.url) })) : { ...(p as object), url: absolute((p as { url: string }).url) })) as BatchPart[];
    const { contentType, body } = buildBatchBody(resolved);
    const headers: Record<string, string> = { 'Content-Type': contentType, Accept: 'application/json' };
    if (options.continueOnError) headers.Prefer = 'odata.continue-on-error';
    const res = await this.request('POST', '$batch', { rawBody: body, headers, abortSignal: options.abortSignal, idempotent: options.idempotent ?? false, what: '$batch' });
    const ct = res.headers.get('content-type') ?? '';
    try {
      return parseBatchResponse(ct, res.text);
    } catch (e) {
      throw new DataverseError('InvalidResponse', `$batch response could not be read: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Runs one change set atomically; throws the first failing request's error (nothing was written then), whether the
   * batch was answered 400 (Dataverse, no continue-on-error) or 200 with the failure inside.
   */
  async executeChangeSet(requests: readonly BatchRequest[], options: DataverseOperationOptions & { idempotent?: boolean } = {}): Promise<BatchResponse[]> {
    const responses = await this.executeBatch([requests], options);
    const failed = responses.find((r) => r.status >= 400);
    if (failed) throw errorFromResponse(failed.status, failed.body, `change set request${failed.contentId ? ` ${failed.contentId}` : ''}`, undefined, { contentId: failed.contentId, batchResponses: responses });
    return responses;
  }

  /** FetchXML query (e.g. aggregates). */
  async fetchXml<T extends EntityRecord = EntityRecord>(entitySet: string, fetchXml: string, options: DataverseOperationOptions = {}): Promise<T[]> {
    const res = await this.request('GET', `${entitySet}?fetchXml=${encodeURIComponent(fetchXml)}`, { abortSignal: options.abortSignal, what: `fetchXml ${entitySet}` });
    return ((res.body as { value?: T[] } | undefined)?.value ?? []) as T[];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
