// context.webAPI for the host page: the PCF WebApi surface over the product's one Web API client (same origin: the host
// server proxies /api/data/v9.2/ to Dataverse and adds the token, so the page never holds a credential; the client
// sends none and the page's fetch adds the page token).
import { OutboxLease, OutboxMessage } from '@dataverse-outbox/contract';
import { DataverseClient, isDataverseError } from '@dataverse-outbox/web-api';

type Entity = ComponentFramework.WebApi.Entity;

const entitySets: Readonly<Record<string, string>> = {
  [OutboxMessage.logicalName]: OutboxMessage.entitySetName,
  [OutboxLease.logicalName]: OutboxLease.entitySetName,
};

export function entitySetOf(logicalName: string): string {
  return entitySets[logicalName] ?? `${logicalName}s`;
}

/** The page's Web API client for an API base such as "/api/data/v9.2/" (resolved against the page's address). */
export function createHostClient(apiBase: string, fetchImpl?: typeof fetch): DataverseClient {
  const base = new URL(apiBase, window.location.href);
  const parts = /^(.*?)\/api\/data\/v(\d+\.\d+)\/?$/.exec(base.pathname);
  if (!parts) throw new Error(`monitor host: the API base ${apiBase} is not .../api/data/v<major>.<minor>/`);
  return new DataverseClient(`${base.origin}${parts[1]}`, null, {
    apiVersion: parts[2],
    // The browser names itself; a page cannot set User-Agent anyway.
    userAgent: null,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

/** What PCF's WebApi rejects with: an ErrorResponse carrying Dataverse's numeric error code and message. */
export class HostErrorResponse extends Error {
  override readonly name = 'HostErrorResponse';
  constructor(
    message: string,
    readonly errorCode: number,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The client's error as PCF reports it: Dataverse's message and its hexadecimal code as a number (else the status). */
export function hostError(error: unknown): unknown {
  if (!isDataverseError(error)) return error;
  const code = error.dataverseCode;
  const status = error.statusCode ?? 0;
  const errorCode = code && /^0x[0-9a-f]+$/i.test(code) ? Number.parseInt(code, 16) | 0 : status;
  return new HostErrorResponse(error.dataverseMessage ?? error.message, errorCode, status, code);
}

async function pcf<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw hostError(error);
  }
}

const annotations = { Prefer: 'odata.include-annotations="*"' };

export function createWebApi(client: DataverseClient): ComponentFramework.WebApi {
  return {
    async createRecord(entityType: string, data: Entity) {
      const { id } = await pcf(client.create(entitySetOf(entityType), data));
      return { id, entityType };
    },
    async deleteRecord(entityType: string, id: string) {
      await pcf(client.delete(entitySetOf(entityType), id));
      return { id, entityType };
    },
    async updateRecord(entityType: string, id: string, data: Entity) {
      // If-Match: * makes it an update only: a row deleted meanwhile fails instead of being re-created by upsert.
      await pcf(client.update(entitySetOf(entityType), id, data, { ifMatch: '*' }));
      return { id, entityType };
    },
    async retrieveMultipleRecords(entityType: string, options?: string, maxPageSize?: number) {
      const page = await pcf(client.retrievePage<Entity>(`${entitySetOf(entityType)}${options ?? ''}`, maxPageSize ? { maxPageSize } : {}));
      return { entities: page.value, nextLink: page.nextLink as string };
    },
    async retrieveRecord(entityType: string, id: string, options?: string) {
      const response = await pcf(client.request('GET', `${entitySetOf(entityType)}(${id})${options ?? ''}`, { headers: annotations, what: `retrieve ${entityType}` }));
      return response.body as Entity;
    },
  };
}
