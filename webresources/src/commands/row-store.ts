// Reads and conditionally updates outbox rows over the Dataverse Web API. Updates carry If-Match with the row's ETag:
// if the publisher changed the row between our read and our write (e.g. marked it Published while an operator
// cancels it), Dataverse answers 412 and we report it instead of overwriting a newer status (spec: no regression).
// Xrm.WebApi.updateRecord cannot send If-Match, hence the product's one Web API client against the same Web API, under
// the app's session. There is no unconditional write: without a usable ETag the caller does not write at all
// (If-Match: * would overwrite whatever is there).
import { OutboxMessage, requireGuid, usableEtag } from '@dataverse-outbox/contract';
import { DataverseClient, isDataverseError, webApiRootParts } from '@dataverse-outbox/web-api';

const col = OutboxMessage.columns;

export interface OutboxRowState {
  id: string;
  status: number | null;
  replayCount: number | null;
  /** The row's ETag when Dataverse returned a usable one (see usableEtag); undefined otherwise. */
  etag: string | undefined;
}

export type UpdateOutcome = 'updated' | 'changed' | 'missing';

export interface OutboxRowStore {
  get(id: string): Promise<OutboxRowState | undefined>;
  /** Statuses of many rows at once (rows that do not exist are left out). */
  statuses(ids: readonly string[]): Promise<Map<string, number | null>>;
  /** PATCH with If-Match: etag. 'changed': 412, the row is no longer that version; 'missing': 404. */
  update(id: string, patch: Record<string, unknown>, etag: string): Promise<UpdateOutcome>;
}

export interface WebApiRowStoreOptions {
  /** Web API root ending in "/api/data/v9.2/". Defaults to the app's own client URL. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Extra headers (tests against the emulator pass a bearer token; inside the app the session cookie is used). */
  headers?: Record<string, string>;
}

export class WebApiRequestError extends Error {
  override readonly name = 'WebApiRequestError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

function defaultBaseUrl(): string {
  if (typeof Xrm === 'undefined' || !Xrm.Utility) throw new Error('Xrm is not available: pass baseUrl to WebApiRowStore.');
  return `${Xrm.Utility.getGlobalContext().getClientUrl().replace(/\/+$/, '')}/api/data/v9.2/`;
}

const FILTER_CHUNK = 50;

/** A short reason an operator can read: Dataverse's message (or the status), with the HTTP status kept on the error. */
function failure(e: unknown, what: string): Error {
  if (!isDataverseError(e)) return e instanceof Error ? e : new Error(`${what} failed`);
  if (e.statusCode === undefined) return new WebApiRequestError(`${what} failed (${e.message})`, 0);
  const detail = e.dataverseMessage ? `${e.statusCode}: ${e.dataverseMessage}` : `${e.statusCode} ${e.code}`;
  return new WebApiRequestError(`${what} failed (${detail})`, e.statusCode);
}

export class WebApiRowStore implements OutboxRowStore {
  private readonly client: DataverseClient;
  private readonly headers: Record<string, string>;

  constructor(options: WebApiRowStoreOptions = {}) {
    const { url, apiVersion } = webApiRootParts(options.baseUrl ?? defaultBaseUrl(), typeof location === 'undefined' ? undefined : location.href);
    const fetchFn = options.fetch ?? (typeof fetch === 'function' ? fetch : undefined);
    if (!fetchFn) throw new Error('fetch is not available.');
    // An operator waits on the command: each row fails at once with its reason (no retries) and is run again by hand.
    this.client = new DataverseClient(url, null, {
      apiVersion,
      fetch: (input, init) => fetchFn(input, init),
      credentials: 'same-origin',
      userAgent: null,
      retryOptions: { maxRetries: 0, retryUnreachable: false },
    });
    this.headers = { ...options.headers };
  }

  async get(id: string): Promise<OutboxRowState | undefined> {
    const path = `${OutboxMessage.entitySetName}(${requireGuid(id, 'outbox row id')})?$select=${col.status},${col.replayCount}`;
    let row: Record<string, unknown>;
    try {
      row = (await this.client.request('GET', path, { headers: this.headers, what: 'read outbox row' })).body as Record<string, unknown>;
    } catch (e) {
      if (isDataverseError(e) && e.code === 'NotFound') return undefined;
      throw failure(e, `Reading outbox row ${id}`);
    }
    if (!row || typeof row !== 'object') throw new WebApiRequestError(`Reading outbox row ${id} failed (the answer was not a row)`, 200);
    return {
      id,
      status: typeof row[col.status] === 'number' ? (row[col.status] as number) : null,
      replayCount: typeof row[col.replayCount] === 'number' ? (row[col.replayCount] as number) : null,
      etag: usableEtag(row['@odata.etag']),
    };
  }

  async statuses(ids: readonly string[]): Promise<Map<string, number | null>> {
    const result = new Map<string, number | null>();
    for (let i = 0; i < ids.length; i += FILTER_CHUNK) {
      // Every id goes into $filter: only GUIDs may.
      const chunk = ids.slice(i, i + FILTER_CHUNK).map((id) => requireGuid(id, 'outbox row id'));
      const filter = chunk.map((id) => `${col.id} eq ${id}`).join(' or ');
      let json: { value?: Array<Record<string, unknown>> } | undefined;
      try {
        const path = `${OutboxMessage.entitySetName}?$select=${col.id},${col.status}&$filter=${encodeURIComponent(filter)}`;
        json = (await this.client.request('GET', path, { headers: this.headers, what: 'read outbox row statuses' })).body as typeof json;
      } catch (e) {
        throw failure(e, 'Reading outbox row statuses');
      }
      for (const row of json?.value ?? []) {
        const id = String(row[col.id]).toLowerCase();
        result.set(id, typeof row[col.status] === 'number' ? (row[col.status] as number) : null);
      }
    }
    return result;
  }

  async update(id: string, patch: Record<string, unknown>, etag: string): Promise<UpdateOutcome> {
    const ifMatch = usableEtag(etag);
    if (ifMatch === undefined) throw new Error(`Updating outbox row ${id} refused: no usable ETag to send in If-Match`);
    // If-Match also means PATCH never creates a row (it would upsert a deleted one).
    try {
      await this.client.request('PATCH', `${OutboxMessage.entitySetName}(${requireGuid(id, 'outbox row id')})`, {
        body: patch,
        headers: { ...this.headers, 'If-Match': ifMatch },
        what: 'update outbox row',
      });
      return 'updated';
    } catch (e) {
      if (isDataverseError(e) && e.code === 'PreconditionFailed') return 'changed';
      if (isDataverseError(e) && e.code === 'NotFound') return 'missing';
      throw failure(e, `Updating outbox row ${id}`);
    }
  }
}
