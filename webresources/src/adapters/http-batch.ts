// Xrm.WebApi.online.executeMultiple implemented over the Dataverse Web API $batch endpoint (OData 4.01 multipart/mixed,
// nested arrays become change sets). Used to run the client library outside a model-driven page: against the
// Dataverse emulator in tests, or from a Node tool. Response parts are read with `meros` (multipart parser).
import { meros } from 'meros/browser';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { newGuid } from '../shared/guid';
import { describeRequest, type CrudRequestLike } from '../client/requests';

export interface HttpBatchOptions {
  /** Web API root, e.g. "http://127.0.0.1:1234/api/data/v9.2/". */
  baseUrl: string;
  /** Returns the bearer token for each call (tests: any string for the emulator). Omit to send no Authorization header. */
  getToken?: () => string | Promise<string>;
  /** Entity set names by logical name; anything else falls back to `resolveEntitySetName` or a plural of the name. */
  entitySetNames?: Record<string, string>;
  resolveEntitySetName?: (logicalName: string) => string | Promise<string>;
  fetch?: typeof fetch;
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
  status: number;
  /** 0-based position of the failing request in the flattened request list. */
  requestIndex: number | undefined;
  /** The Content-ID of the failing change set request, when the server sent one. */
  contentId: string | undefined;
}

interface HttpPart {
  method: 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

interface ParsedHttpResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
  contentId: string | undefined;
}

const CRLF = '\r\n';

function pluralise(name: string): string {
  if (/[^aeiou]y$/.test(name)) return `${name.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(name)) return `${name}es`;
  return `${name}s`;
}

export function createHttpBatchExecutor(options: HttpBatchOptions): { executeMultiple(requests: Array<CrudRequestLike | CrudRequestLike[]>): Promise<BatchItemResponse[]> } {
  const baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
  const fetchFn = options.fetch ?? fetch;
  const knownSets: Record<string, string> = { [OutboxMessage.logicalName]: OutboxMessage.entitySetName, ...options.entitySetNames };

  async function entitySet(logicalName: string): Promise<string> {
    if (knownSets[logicalName]) return knownSets[logicalName];
    const resolved = options.resolveEntitySetName ? await options.resolveEntitySetName(logicalName) : pluralise(logicalName);
    knownSets[logicalName] = resolved;
    return resolved;
  }

  async function toHttp(request: CrudRequestLike): Promise<HttpPart> {
    const metadata = request.getMetadata();
    if (metadata.operationType !== 2) throw new Error(`Only CRUD requests (operationType 2) are supported by this adapter, not ${metadata.operationName}.`);
    const { operation, entity, id } = describeRequest(request);
    const set = await entitySet(entity);
    const json = { 'Content-Type': 'application/json; type=entry' };
    switch (operation) {
      case 'Create':
        return { method: 'POST', url: `${baseUrl}${set}`, headers: json, body: JSON.stringify(request.payload ?? {}) };
      case 'Update':
        // Like Xrm.WebApi.updateRecord: update only, never create the row (If-Match: *).
        return { method: 'PATCH', url: `${baseUrl}${set}(${id})`, headers: { ...json, 'If-Match': '*' }, body: JSON.stringify(request.payload ?? {}) };
      case 'Delete':
        return { method: 'DELETE', url: `${baseUrl}${set}(${id})`, headers: {} };
      default:
        throw new Error(`Unsupported CRUD operation ${operation}.`);
    }
  }

  function writePart(part: HttpPart, contentId: number | undefined): string {
    const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
    if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
    lines.push('', `${part.method} ${part.url} HTTP/1.1`);
    for (const [name, value] of Object.entries(part.headers)) lines.push(`${name}: ${value}`);
    lines.push('', part.body ?? '');
    return lines.join(CRLF);
  }

  async function executeMultiple(requests: Array<CrudRequestLike | CrudRequestLike[]>): Promise<BatchItemResponse[]> {
    const batchBoundary = `batch_${newGuid()}`;
    const chunks: string[] = [];
    let total = 0;
    for (const item of requests) {
      if (Array.isArray(item)) {
        const changeSetBoundary = `changeset_${newGuid()}`;
        const inner: string[] = [];
        for (let i = 0; i < item.length; i++) {
          inner.push(`--${changeSetBoundary}${CRLF}${writePart(await toHttp(item[i]), i + 1)}`);
        }
        total += item.length;
        chunks.push(`--${batchBoundary}${CRLF}Content-Type: multipart/mixed; boundary=${changeSetBoundary}${CRLF}${CRLF}${inner.join(CRLF)}${CRLF}--${changeSetBoundary}--`);
      } else {
        total++;
        chunks.push(`--${batchBoundary}${CRLF}${writePart(await toHttp(item), undefined)}`);
      }
    }
    if (total > 1000) throw new Error(`A batch holds at most 1,000 requests, not ${total}.`);
    const body = `${chunks.join(CRLF)}${CRLF}--${batchBoundary}--${CRLF}`;
    const headers: Record<string, string> = {
      'Content-Type': `multipart/mixed; boundary=${batchBoundary}`,
      Accept: 'application/json',
      'OData-MaxVersion': '4.0',
      'OData-Version': '4.0',
    };
    if (options.getToken) headers.Authorization = `Bearer ${await options.getToken()}`;
    const response = await fetchFn(`${baseUrl}$batch`, { method: 'POST', headers, body, signal: options.abortSignal });
    const parsed = await readBatchResponse(response);
    const failedAt = parsed.findIndex((r) => r.status >= 400);
    if (failedAt >= 0 || parsed.length === 0) {
      const failed = failedAt >= 0 ? parsed[failedAt] : undefined;
      throw toBatchError(failed ?? { status: response.status, statusText: response.statusText, headers: {}, body: '', contentId: undefined }, failedAt >= 0 ? failedAt : undefined);
    }
    return parsed.map((r) => toItemResponse(r));
  }

  return { executeMultiple };
}

function toBatchError(failed: ParsedHttpResponse, position: number | undefined): BatchError {
  let code: number | undefined;
  let message = `${failed.status} ${failed.statusText}`.trim();
  try {
    const json = JSON.parse(failed.body) as { error?: { code?: string; message?: string } };
    if (json.error) {
      if (json.error.message) message = json.error.message;
      if (json.error.code && /^0x[0-9a-f]+$/i.test(json.error.code)) code = parseInt(json.error.code, 16);
    }
  } catch {
    if (failed.body.trim()) message = `${message}: ${failed.body.trim().slice(0, 500)}`;
  }
  // Inside a change set the server names the failing request by Content-ID (1-based here), which is more precise
  // than its position among the responses (a failed change set answers with the failing request only).
  const byContentId = failed.contentId !== undefined && /^\d+$/.test(failed.contentId) ? Number(failed.contentId) - 1 : undefined;
  return { errorCode: code, message, status: failed.status, requestIndex: byContentId ?? position, contentId: failed.contentId };
}

function toItemResponse(r: ParsedHttpResponse): BatchItemResponse {
  return {
    ok: r.status >= 200 && r.status < 300,
    status: r.status,
    statusText: r.statusText,
    headers: r.headers,
    url: r.headers['odata-entityid'] ?? r.headers.location ?? '',
    type: r.body ? 'json' : '',
    text: () => Promise.resolve(r.body),
    json: () => Promise.resolve(r.body ? (JSON.parse(r.body) as unknown) : undefined),
  };
}

function parseHeaderBlock(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Parses one application/http part body: status line, headers, blank line, body. */
function parseHttpMessage(text: string, contentId: string | undefined): ParsedHttpResponse {
  const trimmed = text.replace(/^\s+/, '');
  const headerEnd = trimmed.search(/\r?\n\r?\n/);
  const head = headerEnd >= 0 ? trimmed.slice(0, headerEnd) : trimmed;
  const body = headerEnd >= 0 ? trimmed.slice(headerEnd).replace(/^\r?\n\r?\n/, '') : '';
  const [statusLine, ...rest] = head.split(/\r?\n/);
  const match = /^HTTP\/\d(?:\.\d)?\s+(\d{3})\s*(.*)$/.exec(statusLine.trim());
  if (!match) throw new Error(`Unexpected part in the $batch response: ${statusLine.slice(0, 100)}`);
  return { status: Number(match[1]), statusText: match[2], headers: parseHeaderBlock(rest.join('\n')), body: body.replace(/\r?\n$/, ''), contentId };
}

async function readParts(body: string, contentType: string): Promise<Array<{ headers: Record<string, string>; body: string }>> {
  // meros reads parts off a fetch Response; a 200 wrapper keeps it from bailing out on an error status.
  const parts = await meros<string>(new Response(body, { status: 200, headers: { 'content-type': contentType } }));
  if (parts instanceof Response) throw new Error(`Expected a multipart $batch response, got ${contentType || 'no content type'}.`);
  const result: Array<{ headers: Record<string, string>; body: string }> = [];
  for await (const part of parts) {
    result.push({ headers: part.headers as Record<string, string>, body: typeof part.body === 'string' ? part.body : JSON.stringify(part.body) });
  }
  return result;
}

async function readBatchResponse(response: Response): Promise<ParsedHttpResponse[]> {
  const contentType = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (!/^multipart\//i.test(contentType)) {
    // The whole batch was refused (malformed, unauthorised, throttled): report it as one failed response.
    return [{ status: response.status >= 400 ? response.status : 500, statusText: response.statusText, headers: {}, body: text, contentId: undefined }];
  }
  const out: ParsedHttpResponse[] = [];
  for (const part of await readParts(text, contentType)) {
    const partType = part.headers['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(partType)) {
      for (const inner of await readParts(part.body, partType)) out.push(parseHttpMessage(inner.body, inner.headers['content-id']));
    } else {
      out.push(parseHttpMessage(part.body, part.headers['content-id']));
    }
  }
  return out;
}
