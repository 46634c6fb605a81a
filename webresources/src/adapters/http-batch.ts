// Xrm.WebApi.online.executeMultiple implemented over the Dataverse Web API $batch endpoint (nested arrays become change
// sets), through the product's one Web API client (@dataverse-outbox/web-api: its $batch builder and parser, bearer
// token, Retry-After on throttling). Used to run the client library outside a model-driven page: against the Dataverse
// emulator in tests, or from a Node tool. Not in the web resources' main barrel: import it from
// `@dataverse-outbox/webresources/http-batch`.
import { OutboxMessage } from '@dataverse-outbox/contract';
import { isDataverseError, type BatchPart, type BatchRequest, type BatchResponse, type DataverseClient } from '@dataverse-outbox/web-api';
import { describeRequest, type CrudRequestLike } from '../client/requests';

export interface HttpBatchOptions {
  /** The Web API client to send with (its URL, credential, retries and fetch). */
  client: DataverseClient;
  /** Entity set names by logical name; anything else falls back to `resolveEntitySetName` or a plural of the name. */
  entitySetNames?: Record<string, string>;
  resolveEntitySetName?: (logicalName: string) => string | Promise<string>;
  abortSignal?: AbortSignal;
}

/** What executeMultiple resolves with per request (the shape of the client API's response objects). */
export interface BatchItemResponse {
  ok: boolean;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  url: string;
  type: string;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** What executeMultiple rejects with: the client API's {errorCode, message} plus which request failed. */
export interface BatchError {
  errorCode: number | undefined;
  message: string;
  /** The failing request's HTTP status; 0 when no answer came (network, timeout, abort). */
  status: number;
  /** 0-based position of the failing request in the flattened request list. */
  requestIndex: number | undefined;
  /** The Content-ID of the failing change set request, when the server sent one. */
  contentId: string | undefined;
}

/** Dataverse accepts at most 1,000 requests in one $batch. */
const MAX_BATCH_REQUESTS = 1000;

function pluralise(name: string): string {
  if (/[^aeiou]y$/.test(name)) return `${name.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(name)) return `${name}es`;
  return `${name}s`;
}

export function createHttpBatchExecutor(options: HttpBatchOptions): { executeMultiple(requests: Array<CrudRequestLike | CrudRequestLike[]>): Promise<BatchItemResponse[]> } {
  const knownSets: Record<string, string> = { [OutboxMessage.logicalName]: OutboxMessage.entitySetName, ...options.entitySetNames };

  async function entitySet(logicalName: string): Promise<string> {
    if (knownSets[logicalName]) return knownSets[logicalName];
    const resolved = options.resolveEntitySetName ? await options.resolveEntitySetName(logicalName) : pluralise(logicalName);
    knownSets[logicalName] = resolved;
    return resolved;
  }

  async function toBatchRequest(request: CrudRequestLike): Promise<BatchRequest> {
    const metadata = request.getMetadata();
    if (metadata.operationType !== 2) throw new Error(`Only CRUD requests (operationType 2) are supported by this adapter, not ${metadata.operationName}.`);
    const { operation, entity, id } = describeRequest(request);
    const set = await entitySet(entity);
    switch (operation) {
      case 'Create':
        return { method: 'POST', url: set, body: request.payload ?? {} };
      case 'Update':
        // Like Xrm.WebApi.updateRecord: update only, never create the row (If-Match: *).
        return { method: 'PATCH', url: `${set}(${id})`, headers: { 'If-Match': '*' }, body: request.payload ?? {} };
      case 'Delete':
        return { method: 'DELETE', url: `${set}(${id})` };
      default:
        throw new Error(`Unsupported CRUD operation ${operation}.`);
    }
  }

  async function executeMultiple(requests: Array<CrudRequestLike | CrudRequestLike[]>): Promise<BatchItemResponse[]> {
    const parts: BatchPart[] = [];
    let total = 0;
    for (const item of requests) {
      if (Array.isArray(item)) {
        const changeSet: BatchRequest[] = [];
        for (const request of item) changeSet.push(await toBatchRequest(request));
        parts.push(changeSet);
        total += item.length;
      } else {
        parts.push(await toBatchRequest(item));
        total++;
      }
    }
    if (total > MAX_BATCH_REQUESTS) throw new Error(`A batch holds at most 1,000 requests, not ${total}.`);
    let responses: BatchResponse[];
    try {
      responses = await options.client.executeBatch(parts, { abortSignal: options.abortSignal });
    } catch (e) {
      throw fromClientError(e);
    }
    const failedAt = responses.findIndex((r) => r.status >= 400);
    if (failedAt >= 0) throw toBatchError(responses[failedAt]!, failedAt);
    if (responses.length === 0) throw { errorCode: undefined, message: 'The $batch response holds no responses.', status: 200, requestIndex: undefined, contentId: undefined } satisfies BatchError;
    return responses.map(toItemResponse);
  }

  return { executeMultiple };
}

/** Inside a change set the server names the failing request by Content-ID (1-based), more precise than its position. */
function requestIndexOf(contentId: string | undefined, position: number | undefined): number | undefined {
  return contentId !== undefined && /^\d+$/.test(contentId) ? Number(contentId) - 1 : position;
}

function hexCode(code: string | undefined): number | undefined {
  return code && /^0x[0-9a-f]+$/i.test(code) ? parseInt(code, 16) : undefined;
}

/** A failed request inside a batch answered 200 (the client throws for a batch answered 4xx). */
function toBatchError(failed: BatchResponse, position: number): BatchError {
  const error = (failed.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  let message = typeof error?.message === 'string' ? error.message : `${failed.status} ${failed.statusText ?? ''}`.trim();
  if (!error && typeof failed.body === 'string' && failed.body.trim()) message = `${message}: ${failed.body.trim().slice(0, 500)}`;
  return { errorCode: hexCode(code), message, status: failed.status, requestIndex: requestIndexOf(failed.contentId, position), contentId: failed.contentId };
}

/** The client's error for a batch refused as a whole (its failing request's when Dataverse names one), as the client API's error. */
function fromClientError(e: unknown): unknown {
  if (!isDataverseError(e)) return e;
  const position = e.batchResponses?.findIndex((r) => r.status >= 400);
  return {
    errorCode: hexCode(e.dataverseCode),
    message: e.dataverseMessage ?? e.message,
    status: e.statusCode ?? 0,
    requestIndex: requestIndexOf(e.contentId, position !== undefined && position >= 0 ? position : undefined),
    contentId: e.contentId,
  } satisfies BatchError;
}

function toItemResponse(r: BatchResponse): BatchItemResponse {
  const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  return {
    ok: r.status >= 200 && r.status < 300,
    status: r.status,
    statusText: r.statusText ?? '',
    headers: r.headers,
    url: r.headers['odata-entityid'] ?? r.headers.location ?? '',
    type: text ? 'json' : '',
    text: () => Promise.resolve(text),
    json: () => Promise.resolve(r.body),
  };
}
