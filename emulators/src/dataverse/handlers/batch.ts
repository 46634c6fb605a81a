// $batch (Microsoft Learn: "Execute batch operations using the Web API"): the whole body is parsed before anything runs
// (a malformed body changes nothing); each change set runs in one SQLite transaction and is rolled back whole when any
// of its requests fails, answered by that single failure; Content-ID references ($1) resolve to the entities created
// earlier in the change set; without `Prefer: odata.continue-on-error` processing stops at the first failure and the
// whole batch is answered 400 Bad Request (its body still holds the responses so far, ending with the failure).
import { STATUS_CODES } from 'node:http';
import { DataverseError, DataverseErrors, isDataverseError } from '../core/errors';
import type { Engine } from '../core/engine';
import { header, preferences, type ApiRequest, type ApiResponse, type RequestContext } from '../core/protocol';
import { boundaryOf, MultipartError, parseBatch, writeBatchResponse, type HttpPart, type HttpResponsePart, type ResponsePart } from '../batch/multipart';

export type Executor = (req: ApiRequest, ctx: RequestContext) => ApiResponse;

class ChangeSetFailed extends Error {
  constructor(readonly response: HttpResponsePart) {
    super('change set failed');
  }
}

function toPart(res: ApiResponse, contentId?: string): HttpResponsePart {
  const headers: Record<string, string> = { ...res.headers };
  let body: string | undefined;
  if (res.json !== undefined) {
    headers['Content-Type'] = 'application/json; odata.metadata=minimal';
    body = JSON.stringify(res.json);
  } else if (res.text) {
    headers['Content-Type'] = res.text.contentType;
    body = res.text.body.toString();
  }
  return { status: res.status, statusText: STATUS_CODES[res.status] ?? '', headers, body, contentId };
}

export function errorResponse(e: DataverseError): ApiResponse {
  return { status: e.status, headers: { 'OData-Version': '4.0', ...e.headers }, json: e.toBody() };
}

/** Turns a part's URL (absolute, /api/data/v9.2/..., relative, or $n/...) into a core request. */
function innerRequest(part: HttpPart, ctx: RequestContext, contentIds: ReadonlyMap<string, string>): ApiRequest {
  let url = part.url;
  const ref = /^\$(\w+)(.*)$/.exec(url);
  if (ref) {
    const target = contentIds.get(ref[1] as string);
    if (!target) throw DataverseErrors.malformedBatch(`The Content-ID reference '$${ref[1]}' does not match a previous request in the change set.`);
    url = `${target}${ref[2] ?? ''}`;
  }
  const base = new URL(ctx.apiBase);
  const parsed = new URL(url, base);
  let path = parsed.pathname;
  if (path.startsWith(base.pathname)) path = path.slice(base.pathname.length);
  else throw DataverseErrors.malformedBatch(`The request URL '${part.url}' is not below the Web API root '${ctx.apiBase}'.`);
  return { method: part.method, path, query: parsed.searchParams, headers: part.headers, body: Buffer.from(part.body, 'utf8') };
}

function run(exec: Executor, req: ApiRequest, ctx: RequestContext): ApiResponse {
  try {
    return exec(req, ctx);
  } catch (e) {
    if (isDataverseError(e)) return errorResponse(e);
    throw e;
  }
}

export function executeBatch(engine: Engine, req: ApiRequest, ctx: RequestContext, exec: Executor): ApiResponse {
  const boundary = boundaryOf(header(req, 'content-type'));
  if (!boundary) throw DataverseErrors.malformedBatch("The Content-Type of a $batch request must be 'multipart/mixed' with a boundary parameter.");
  let parts;
  try {
    parts = parseBatch(req.body.toString('utf8'), boundary);
  } catch (e) {
    if (e instanceof MultipartError) throw DataverseErrors.malformedBatch(e.message);
    throw e;
  }
  const total = parts.reduce((n, p) => n + (p.kind === 'changeset' ? p.requests.length : 1), 0);
  if (total > engine.settings.maxBatchRequests) throw DataverseErrors.batchTooLarge(engine.settings.maxBatchRequests);
  const continueOnError = preferences(req).has('odata.continue-on-error');
  const out: ResponsePart[] = [];
  let stopped = false;
  const responseBoundary = `batchresponse_${globalThis.crypto.randomUUID()}`;

  for (const part of parts) {
    if (part.kind === 'request') {
      let res: ApiResponse;
      try {
        res = run(exec, innerRequest(part, ctx, new Map()), ctx);
      } catch (e) {
        if (!isDataverseError(e)) throw e;
        res = errorResponse(e);
      }
      out.push({ kind: 'single', part: toPart(res) });
      if (res.status >= 400 && !continueOnError) {
        stopped = true;
        break;
      }
      continue;
    }
    const contentIds = new Map<string, string>();
    const responses: HttpResponsePart[] = [];
    try {
      engine.store.transaction(() => {
        for (const r of part.requests) {
          let res: ApiResponse;
          try {
            res = run(exec, innerRequest(r, ctx, contentIds), { ...ctx, contentIds });
          } catch (e) {
            if (!isDataverseError(e)) throw e;
            res = errorResponse(e);
          }
          if (res.status >= 400) throw new ChangeSetFailed(toPart(res, r.contentId));
          const entityId = res.headers['OData-EntityId'];
          if (r.contentId !== undefined && entityId) contentIds.set(r.contentId, entityId);
          responses.push(toPart(res, r.contentId));
        }
      });
      out.push({ kind: 'changeset', boundary: `changesetresponse_${globalThis.crypto.randomUUID()}`, parts: responses });
    } catch (e) {
      if (!(e instanceof ChangeSetFailed)) throw e;
      // A failed change set is answered by its failing request alone; nothing of it was committed.
      out.push({ kind: 'single', part: e.response });
      if (!continueOnError) {
        stopped = true;
        break;
      }
    }
  }
  const headers: Record<string, string> = { 'OData-Version': '4.0' };
  if (continueOnError) headers['Preference-Applied'] = 'odata.continue-on-error';
  return { status: stopped ? 400 : 200, headers, text: { contentType: `multipart/mixed; boundary=${responseBoundary}`, body: writeBatchResponse(responseBoundary, out) } };
}
