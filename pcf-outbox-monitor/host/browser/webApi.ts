// context.webAPI for the host page: the PCF WebApi surface over the Dataverse Web API (same origin: the host server
// proxies /api/data/v9.2/ to Dataverse and adds the token, so the page never holds a credential).
import { OutboxLease, OutboxMessage } from '@dataverse-outbox/contract';

type Entity = ComponentFramework.WebApi.Entity;

const entitySets: Readonly<Record<string, string>> = {
  [OutboxMessage.logicalName]: OutboxMessage.entitySetName,
  [OutboxLease.logicalName]: OutboxLease.entitySetName,
};

export function entitySetOf(logicalName: string): string {
  return entitySets[logicalName] ?? `${logicalName}s`;
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

async function fail(response: Response): Promise<never> {
  let code: string | undefined;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  const errorCode = code && /^0x[0-9a-f]+$/i.test(code) ? Number.parseInt(code, 16) | 0 : response.status;
  throw new HostErrorResponse(message, errorCode, response.status, code);
}

export function createWebApi(apiBase: string, fetchImpl: typeof fetch = fetch.bind(globalThis)): ComponentFramework.WebApi {
  const headers = (extra: Record<string, string> = {}): Record<string, string> => ({
    Accept: 'application/json',
    'OData-MaxVersion': '4.0',
    'OData-Version': '4.0',
    ...extra,
  });
  const request = async (method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> => {
    const response = await fetchImpl(`${apiBase}${path}`, {
      method,
      headers: headers({ ...(init.body !== undefined ? { 'Content-Type': 'application/json; charset=utf-8' } : {}), ...init.headers }),
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return response.ok ? response : fail(response);
  };
  const idFrom = (response: Response): string => {
    const entityId = response.headers.get('OData-EntityId') ?? '';
    return /\(([0-9a-f-]{36})\)/i.exec(entityId)?.[1] ?? '';
  };

  return {
    async createRecord(entityType: string, data: Entity) {
      const response = await request('POST', entitySetOf(entityType), { body: data });
      return { id: idFrom(response), entityType };
    },
    async deleteRecord(entityType: string, id: string) {
      await request('DELETE', `${entitySetOf(entityType)}(${id})`);
      return { id, entityType };
    },
    async updateRecord(entityType: string, id: string, data: Entity) {
      // If-Match: * makes it an update only: a row deleted meanwhile fails instead of being re-created by upsert.
      await request('PATCH', `${entitySetOf(entityType)}(${id})`, { body: data, headers: { 'If-Match': '*' } });
      return { id, entityType };
    },
    async retrieveMultipleRecords(entityType: string, options?: string, maxPageSize?: number) {
      const prefer = ['odata.include-annotations="*"', ...(maxPageSize ? [`odata.maxpagesize=${maxPageSize}`] : [])].join(',');
      const response = await request('GET', `${entitySetOf(entityType)}${options ?? ''}`, { headers: { Prefer: prefer } });
      const body = (await response.json()) as { value?: Entity[]; '@odata.nextLink'?: string };
      return { entities: body.value ?? [], nextLink: body['@odata.nextLink'] as string };
    },
    async retrieveRecord(entityType: string, id: string, options?: string) {
      const response = await request('GET', `${entitySetOf(entityType)}(${id})${options ?? ''}`, {
        headers: { Prefer: 'odata.include-annotations="*"' },
      });
      return (await response.json()) as Entity;
    },
  };
}
