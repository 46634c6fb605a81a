// The request pipeline, assembled here in order (after Azurite's RequestListenerFactory):
//   dispatch (admin endpoint | Web API root | 404) -> read body (size limit, 413) -> authentication (Bearer, 401)
//   -> fault injection (before) -> service protection limits (429) -> core handler -> latency model
//   -> fault injection (after) -> serialise -> counters.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataverseError, DataverseErrors, isDataverseError } from '../core/errors';
import type { Engine } from '../core/engine';
import { identityFromToken, type UserDirectory } from '../core/identity';
import type { ApiRequest, ApiResponse, Identity, RequestContext } from '../core/protocol';
import { execute } from '../core/service';
import { errorResponse } from '../handlers/batch';
import type { CounterBook } from './counters';
import type { FaultInjector, FaultRule } from './faults';
import { simulatedMs, type LatencyProfile } from './latency';
import { checkAdminWrite, checkHostAndOrigin } from '../../shared/localSurface';
import type { ServiceProtection } from './serviceProtection';

export const API_ROOT = /^\/api\/data\/v9\.[0-2]\//;
export const API_PATH = '/api/data/v9.2/';
export const ADMIN_PREFIX = '/_admin/';

export interface PipelineDeps {
  readonly engine: Engine;
  readonly users: UserDirectory;
  readonly faults: FaultInjector;
  readonly limits: ServiceProtection;
  readonly counters: CounterBook;
  latency(): LatencyProfile | undefined;
  now(): number;
  readonly maxRequestBytes: number;
  /** Accepted bearer tokens; undefined = any non-empty token. */
  readonly acceptedTokens?: ReadonlySet<string>;
  /** Callers (identity names) in no column security profile. */
  readonly withoutColumnProfile?: ReadonlySet<string>;
  readonly scheme: 'http' | 'https';
  admin(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void>;
  log?(line: string): void;
}

const JSON_TYPE = 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';

/** Reads the body; past the limit the rest is drained and discarded, and `tooLarge` is set. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: ApiResponse): void {
  if (res.destroyed) return;
  const headers: Record<string, string> = { ...r.headers };
  let payload: Buffer | undefined;
  if (r.json !== undefined) {
    headers['Content-Type'] = JSON_TYPE;
    payload = Buffer.from(JSON.stringify(r.json), 'utf8');
  } else if (r.text) {
    headers['Content-Type'] = r.text.contentType;
    payload = Buffer.isBuffer(r.text.body) ? r.text.body : Buffer.from(r.text.body, 'utf8');
  }
  if (payload) headers['Content-Length'] = String(payload.length);
  res.writeHead(r.status, headers);
  res.end(payload);
}

function entitySetOf(path: string): string {
  const m = /^([^(/?]*)/.exec(path);
  return m ? (m[1] as string) : '';
}

async function applyFault(rule: FaultRule, res: ServerResponse): Promise<void> {
  switch (rule.kind) {
    case '429':
      send(res, errorResponse(DataverseErrors.tooManyRequests(6000, 300, rule.retryAfterSeconds ?? 1)));
      return;
    case '503':
      send(res, errorResponse(DataverseErrors.serviceUnavailable()));
      return;
    case 'drop':
      res.socket?.destroy();
      return;
    case 'timeout': {
      const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
      await Promise.race([sleep(rule.timeoutMs ?? 130_000, undefined, { ref: false }), closed]);
      res.socket?.destroy();
      return;
    }
  }
}

/** SQLite's own limits reached by a legal but huge query: the caller's request is too big, not the emulator broken. */
const SQLITE_LIMIT = /too many SQL variables|Expression tree is too large|string or blob too big|LIKE or GLOB pattern too complex|too many terms in compound SELECT/;

function unexpected(e: unknown): DataverseError | undefined {
  if (isDataverseError(e)) return e;
  if (e instanceof Error && SQLITE_LIMIT.test(e.message)) return DataverseErrors.queryOption(`The query is too large to run: ${e.message}.`);
  return undefined;
}

export function createRequestListener(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();

    // Stage 0: only this local server's own Host and Origin (DNS rebinding, cross-site pages), before anything is read.
    // Admin writes also need a non-simple header (a cross-site form POST cannot send one).
    const url = new URL(req.url ?? '/', `${deps.scheme}://127.0.0.1:${req.socket.localPort ?? 0}`);
    const refused = checkHostAndOrigin(req, req.socket.localPort ?? 0, deps.scheme) ?? (url.pathname.startsWith(ADMIN_PREFIX) ? checkAdminWrite(req) : undefined);
    if (refused) {
      res.setHeader('Connection', 'close');
      send(res, errorResponse(DataverseErrors.foreignRequest(refused.reason)));
      return;
    }

    // Stage 1: dispatch.
    if (url.pathname.startsWith(ADMIN_PREFIX)) {
      const { body } = await readBody(req, deps.maxRequestBytes);
      await deps.admin(req, res, body);
      return;
    }
    if (!API_ROOT.test(url.pathname)) {
      send(res, errorResponse(DataverseErrors.resourceNotFound(url.pathname)));
      return;
    }
    const path = url.pathname.replace(API_ROOT, '');
    const origin = `${deps.scheme}://${(req.headers.host as string).toLowerCase()}`; // checked in stage 0
    const apiBase = `${origin}${API_PATH}`;

    // Stage 2: body.
    const { body, tooLarge } = await readBody(req, deps.maxRequestBytes);

    // Stage 3: authentication. Dataverse answers a missing token with 401 and a WWW-Authenticate challenge.
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
    if (!token || (deps.acceptedTokens && !deps.acceptedTokens.has(token))) {
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=${origin}/`,
        'Content-Length': '0',
      });
      res.end();
      return;
    }
    const identity: Identity = identityFromToken(token);
    const operation = `${method} ${entitySetOf(path) || '/'}`;
    const cost = { recordsRead: 0, recordsWritten: 0 };
    const started = performance.now();
    const finish = (extra: { throttled?: boolean; faulted?: boolean } = {}): number => {
      const executionMs = performance.now() - started;
      deps.counters.record(identity.name, { operation, recordsRead: cost.recordsRead, recordsWritten: cost.recordsWritten, executionMs, ...extra });
      return executionMs;
    };

    if (tooLarge) {
      send(res, errorResponse(DataverseErrors.payloadTooLarge(deps.maxRequestBytes)));
      finish();
      return;
    }

    // Stage 4: fault injection before the request runs.
    const fault = deps.faults.match(method, entitySetOf(path));
    if (fault && (fault.phase ?? 'before') === 'before') {
      finish({ faulted: true });
      await applyFault(fault, res);
      return;
    }

    // Stage 5: service protection limits.
    let admission;
    try {
      admission = deps.limits.admit(identity.name);
    } catch (e) {
      if (!isDataverseError(e)) throw e;
      send(res, errorResponse(e));
      finish({ throttled: true });
      return;
    }

    // Stage 6: the core.
    let response: ApiResponse;
    try {
      const securedColumnsHidden = deps.withoutColumnProfile?.has(identity.name) ?? false;
      const ctx: RequestContext = { identity, userId: deps.users.resolve(identity), now: deps.now(), apiBase, cost, securedColumnsHidden };
      const headers = new Map<string, string>();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k.toLowerCase(), v);
      const apiReq: ApiRequest = { method, path, query: url.searchParams, headers, body };
      response = execute(deps.engine, apiReq, ctx);
    } catch (e) {
      const known = unexpected(e);
      if (!known) deps.log?.(`unexpected error on ${method} ${url.pathname}: ${(e as Error).stack ?? String(e)}`);
      response = errorResponse(known ?? DataverseErrors.internal(e instanceof Error ? e.message : String(e)));
    }

    // Stage 7: latency model; the simulated time is execution time for the limits.
    const delay = simulatedMs(deps.latency(), cost);
    if (delay > 0) await sleep(delay);
    const executionMs = finish({ faulted: fault !== undefined });
    admission.release(executionMs);
    if (Number.isFinite(admission.remainingRequests)) {
      response.headers['x-ms-ratelimit-burst-remaining-xrm-requests'] = String(admission.remainingRequests);
      response.headers['x-ms-ratelimit-time-remaining-xrm-requests'] = String(Math.round(admission.remainingExecutionMs));
    }

    // Stage 8: fault injection after the request ran (its effect is committed; the caller never hears of it).
    if (fault) {
      await applyFault(fault, res);
      return;
    }

    // Stage 9: serialise.
    send(res, response);
  };

  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      deps.log?.(`pipeline failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) send(res, errorResponse(DataverseErrors.internal('The request could not be processed.')));
      else res.destroy();
    });
  };
}
