// The monitor's conditional row access over the Dataverse Web API. context.webAPI.updateRecord takes no headers, so it
// cannot send If-Match with the row's ETag; like other model-driven controls and web resources, this calls the Web API
// with fetch under the page's own session (same origin, the user's cookie: no token in the control).
import { OutboxMessage } from '@dataverse-outbox/contract';
import { requireGuid } from '@dataverse-outbox/contract';
import { truncate } from './core/format';
import { clientUrlOf } from './hostSupport';
import type { ConditionalOutcome, RowVersionPort, VersionedRow } from './core/runAction';

const c = OutboxMessage.columns;
/** Longest server error text carried into a row's result (the rest is noise, and may be hostile or huge). */
const errorTextLength = 300;

export interface WebApiRowsOptions {
  /** Web API root ending in `/api/data/v9.2/`: the app's client URL, or the same-origin path. */
  apiBase: string;
  fetch: typeof fetch;
}

/** Web API root for the control: `context.page.getClientUrl()` in a model-driven app, else the page's own origin. */
export function webApiBaseOf(context: unknown): string {
  // `page` is not in the PCF typings but model-driven apps provide it (and it is what real controls use). Its
  // getClientUrl may throw (the pcf-start harness): clientUrlOf never does.
  const clientUrl = clientUrlOf(context);
  return clientUrl ? `${clientUrl.replace(/\/+$/, '')}/api/data/v9.2/` : '/api/data/v9.2/';
}

async function failure(response: Response, what: string): Promise<Error> {
  let detail = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: { message?: unknown } };
    if (typeof body?.error?.message === 'string' && body.error.message) detail = `${response.status}: ${body.error.message}`;
  } catch {
    // not JSON: keep the status line
  }
  return new Error(`${what} failed (${truncate(detail, errorTextLength)})`);
}

export function createWebApiRows(options: WebApiRowsOptions): RowVersionPort {
  const base = options.apiBase.endsWith('/') ? options.apiBase : `${options.apiBase}/`;
  const headers = { Accept: 'application/json', 'OData-MaxVersion': '4.0', 'OData-Version': '4.0' };
  const rowUrl = (id: string): string => `${base}${OutboxMessage.entitySetName}(${requireGuid(id, 'outbox row id')})`;

  return {
    async readRow(id: string): Promise<VersionedRow | undefined> {
      const response = await options.fetch(`${rowUrl(id)}?$select=${c.status},${c.replayCount}`, { method: 'GET', headers, credentials: 'same-origin' });
      if (response.status === 404) return undefined;
      if (!response.ok) throw await failure(response, 'Reading the row');
      const row = (await response.json()) as Record<string, unknown> | null;
      if (!row || typeof row !== 'object') throw new Error('Reading the row failed (the answer was not a row)');
      return { status: row[c.status], replayCount: row[c.replayCount], etag: row['@odata.etag'] };
    },

    async updateIfUnchanged(id: string, etag: string, data: Record<string, unknown>): Promise<ConditionalOutcome> {
      const response = await options.fetch(rowUrl(id), {
        method: 'PATCH',
        headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'If-Match': etag },
        body: JSON.stringify(data),
        credentials: 'same-origin',
      });
      if (response.status === 412) return 'changed';
      if (response.status === 404) return 'missing';
      if (!response.ok) throw await failure(response, 'Updating the row');
      return 'updated';
    },
  };
}
