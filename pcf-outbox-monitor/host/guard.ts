// What the monitor host lets in. It listens on 127.0.0.1 and its proxy adds a bearer token (possibly a real
// environment's, from DATAVERSE_TOKEN), so a page the developer visits must not reach it: a foreign Host is DNS
// rebinding, a foreign Origin is a cross-site page, and a proxied call without the page's token did not come from the
// page this host served (a cross-origin page cannot read that page, so it cannot learn the token).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PAGE_TOKEN_HEADER } from './pageTokenHeader';

export { PAGE_TOKEN_HEADER };

export interface Refusal {
  readonly status: 403 | 405;
  readonly reason: string;
}

const loopbackNames = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A fresh per-process page token (served inside the page, required on every proxied call). */
export function newPageToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Refuses a foreign Host (not a loopback name with this server's port) or an Origin other than this very origin. */
export function checkHostAndOrigin(req: IncomingMessage, ownPort: number): Refusal | undefined {
  const host = (req.headers.host ?? '').trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m || !loopbackNames.has(m[1] as string) || Number(m[2] ?? '80') !== ownPort) {
    return { status: 403, reason: `Host ${JSON.stringify((req.headers.host ?? '').slice(0, 100))} is not this monitor host (127.0.0.1, localhost or [::1] on port ${ownPort}); DNS-rebinding requests are refused.` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return { status: 403, reason: `Cross-origin request refused: Origin ${JSON.stringify(origin.slice(0, 100))} is not http://${host}.` };
  }
  return undefined;
}

const proxiedMethods = new Set(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']);

/** A proxied Web API call: the methods the control uses, and the page's token (no cross-site form post carries it). */
export function checkProxyCall(req: IncomingMessage, pageToken: string): Refusal | undefined {
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'OPTIONS') return { status: 403, reason: 'CORS preflight refused: the monitor host serves its own page only.' };
  if (!proxiedMethods.has(method)) return { status: 405, reason: `The method ${method} is not proxied.` };
  const sent = req.headers[PAGE_TOKEN_HEADER];
  const given = Buffer.from(typeof sent === 'string' ? sent : '', 'utf8');
  const expected = Buffer.from(pageToken, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { status: 403, reason: `Web API calls through the monitor host need the page's ${PAGE_TOKEN_HEADER} header (load the monitor page from this host).` };
  }
  return undefined;
}

/** Request headers passed on to Dataverse: the OData ones; never cookies, Origin, Referer or the page token. */
const forwarded = /^(accept|accept-language|content-type|content-length|if-match|if-none-match|prefer|odata-version|odata-maxversion|consistencylevel|mscrm\..+)$/;

export function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && forwarded.test(name)) headers[name] = value;
  return headers;
}
