// Reads and conditionally updates outbox rows over the Dataverse Web API. Updates carry If-Match with the row's ETag:
// if the publisher changed the row between our read and our write (e.g. marked it Published while an operator
// cancels it), Dataverse answers 412 and we report it instead of overwriting a newer status (spec: no regression).
// Xrm.WebApi.updateRecord cannot send If-Match, hence plain fetch against the same Web API. There is no unconditional
// write: without a usable ETag the caller does not write at all (If-Match: * would overwrite whatever is there).
import { OutboxMessage } from '@dataverse-outbox/contract';
import { requireGuid, usableEtag } from '@dataverse-outbox/contract';

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

export class WebApiRowStore implements OutboxRowStore {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly headers: Record<string, string>;

  constructor(options: WebApiRowStoreOptions = {}) {
    const base = options.baseUrl ?? defaultBaseUrl();
    this.baseUrl = base.endsWith('/') ? base : `${base}/`;
    const fetchFn = options.fetch ?? (typeof fetch === 'function' ? fetch : undefined);
    if (!fetchFn) throw new Error('fetch is not available.');
    this.fetchFn = fetchFn;
    this.headers = {
      Accept: 'application/json',
      'OData-MaxVersion': '4.0',
      'OData-Version': '4.0',
      ...options.headers,
    };
  }

  private async send(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers, ...extraHeaders };
    if (body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    return this.fetchFn(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  }

  private static async failure(response: Response, what: string): Promise<WebApiRequestError> {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const json = (await response.json()) as { error?: { message?: string } };
      if (json && json.error && json.error.message) detail = `${response.status}: ${json.error.message}`;
    } catch {
      // Not JSON: keep the status line.
    }
    return new WebApiRequestError(`${what} failed (${detail})`, response.status);
  }

  async get(id: string): Promise<OutboxRowState | undefined> {
    const response = await this.send('GET', `${OutboxMessage.entitySetName}(${requireGuid(id, 'outbox row id')})?$select=${col.status},${col.replayCount}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw await WebApiRowStore.failure(response, `Reading outbox row ${id}`);
    const row = (await response.json()) as Record<string, unknown>;
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
      const response = await this.send('GET', `${OutboxMessage.entitySetName}?$select=${col.id},${col.status}&$filter=${encodeURIComponent(filter)}`);
      if (!response.ok) throw await WebApiRowStore.failure(response, 'Reading outbox row statuses');
      const json = (await response.json()) as { value?: Array<Record<string, unknown>> };
      for (const row of json.value ?? []) {
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
    const response = await this.send('PATCH', `${OutboxMessage.entitySetName}(${requireGuid(id, 'outbox row id')})`, patch, { 'If-Match': ifMatch });
    if (response.status === 412) return 'changed';
    if (response.status === 404) return 'missing';
    if (!response.ok) throw await WebApiRowStore.failure(response, `Updating outbox row ${id}`);
    return 'updated';
  }
}
