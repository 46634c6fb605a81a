// Dataverse side of change tracking ("Use change tracking to synchronize data with external systems"): the initial
// synchronisation with `Prefer: odata.track-changes`, paged by odata.maxpagesize; then `$deltatoken` reads whose
// deleted rows come back as `$deletedEntity` entries. An expired token is ExpiredVersionStamp (0x80044352).
import type { OperationOptions } from '../../core/ports';
import { type DataverseClient, DataverseError } from '@dataverse-outbox/web-api';
import type { ChangeTrackingSourceConfig } from '../core/config';
import { ChangeTrackingError } from '../core/errors';
import { contentVersion, versionFromEtag, type TrackedChange } from '../core/mapping';
import type { ChangePage, DeltaReaderPort } from '../core/ports';

const EXPIRED_VERSION_STAMP = '0x80044352';

/** The $deltatoken of a delta link, decoded. */
export function deltaTokenFromLink(link: string): string | undefined {
  try {
    return new URL(link, 'https://placeholder.invalid/').searchParams.get('$deltatoken') ?? undefined;
  } catch {
    return undefined;
  }
}

/** Maps Dataverse's refusal of a delta token to TokenExpired / TokenInvalid; anything else is returned unchanged. */
export function classifyTokenError(e: unknown, source: string): unknown {
  if (!(e instanceof DataverseError)) return e;
  if (e.dataverseCode?.toLowerCase() === EXPIRED_VERSION_STAMP || e.statusCode === 410) {
    return new ChangeTrackingError('TokenExpired', `Dataverse no longer keeps the changes for source "${source}" (${e.message})`, { source, cause: e });
  }
  if (e.code === 'BadRequest' && /delta ?token|version ?stamp/i.test(e.message)) {
    return new ChangeTrackingError('TokenInvalid', `Dataverse refused the delta token of source "${source}" (${e.message})`, { source, cause: e });
  }
  return e;
}

function selectFor(source: ChangeTrackingSourceConfig): string {
  // modifiedon is read for the publish-latency metric; it is sent only when configured.
  return [...new Set([source.primaryIdAttribute, ...source.columns, 'modifiedon'])].join(',');
}

function toChange(source: ChangeTrackingSourceConfig, item: unknown): TrackedChange {
  if (typeof item !== 'object' || item === null) throw new ChangeTrackingError('InvalidResponse', `source "${source.name}": a delta entry is not an object`, { source: source.name });
  const o = item as Record<string, unknown>;
  const context = typeof o['@odata.context'] === 'string' ? o['@odata.context'] : '';
  if (context.endsWith('$deletedEntity') || o['@removed'] !== undefined) {
    const id = typeof o.id === 'string' ? o.id : typeof o[source.primaryIdAttribute] === 'string' ? (o[source.primaryIdAttribute] as string) : undefined;
    if (!id) throw new ChangeTrackingError('InvalidResponse', `source "${source.name}": a deleted entry has no id`, { source: source.name });
    return { kind: 'deleted', id: id.toLowerCase() };
  }
  const id = o[source.primaryIdAttribute];
  if (typeof id !== 'string' || id === '') {
    throw new ChangeTrackingError('InvalidResponse', `source "${source.name}": a row has no ${source.primaryIdAttribute} (check primaryIdAttribute)`, { source: source.name });
  }
  const modified = typeof o.modifiedon === 'string' ? new Date(o.modifiedon) : undefined;
  return {
    kind: 'changed',
    id: id.toLowerCase(),
    version: versionFromEtag(o['@odata.etag']) ?? contentVersion(o, source.columns),
    record: o,
    ...(modified && !Number.isNaN(modified.getTime()) ? { modifiedOn: modified } : {}),
  };
}

export class DataverseDeltaReader implements DeltaReaderPort {
  constructor(private readonly client: DataverseClient) {}

  async *read(source: ChangeTrackingSourceConfig, deltaToken: string | undefined, options: OperationOptions & { pageSize: number }): AsyncGenerator<ChangePage> {
    const prefer = `odata.track-changes,odata.maxpagesize=${options.pageSize}`;
    let path: string | undefined =
      `${source.entitySet}?$select=${selectFor(source)}` + (deltaToken === undefined ? '' : `&$deltatoken=${encodeURIComponent(deltaToken)}`);
    let first = true;
    while (path) {
      let body: { value?: unknown[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string } | undefined;
      try {
        const res = await this.client.request('GET', path, { headers: { Prefer: prefer }, abortSignal: options.abortSignal, what: `change tracking ${source.entitySet}` });
        body = res.body as typeof body;
      } catch (e) {
        // Only the request that presents the token can be refused for it.
        throw first && deltaToken !== undefined ? classifyTokenError(e, source.name) : e;
      }
      first = false;
      if (!body || !Array.isArray(body.value)) throw new ChangeTrackingError('InvalidResponse', `change tracking ${source.entitySet} returned no "value" array`, { source: source.name });
      const next = body['@odata.nextLink'];
      const deltaLink = body['@odata.deltaLink'];
      const page: ChangePage = { changes: body.value.map((v) => toChange(source, v)) };
      if (!next) {
        const token = deltaLink ? deltaTokenFromLink(deltaLink) : undefined;
        if (!token) throw new ChangeTrackingError('InvalidResponse', `change tracking ${source.entitySet}: the last page has no @odata.deltaLink with a $deltatoken (is change tracking on for ${source.table}?)`, { source: source.name });
        page.deltaToken = token;
      }
      yield page;
      path = next;
    }
  }
}
