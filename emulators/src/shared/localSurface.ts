// The guard every local HTTP surface of the emulators runs first (the Dataverse emulator's Web API and /_admin/, the
// Service Bus emulator's admin server). They listen on 127.0.0.1 without real authentication, so a web page the
// developer visits must not reach them: a foreign Host header is DNS rebinding, a foreign Origin is a cross-site page,
// and a write without a non-simple header could be a cross-site `text/plain` form POST (no CORS preflight).
import type { IncomingMessage } from 'node:http';

/**
 * The header admin writes must carry (any non-empty value, e.g. `1`). It is not CORS-safelisted, so a cross-site page
 * can only send it after a preflight, which these surfaces refuse.
 */
export const ADMIN_WRITE_HEADER = 'x-emulator-admin';

const loopbackNames = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface SurfaceRefusal {
  readonly status: 403;
  readonly reason: string;
}

/** Host and port of a Host header value (`name[:port]`), or undefined when it is not that shape. */
function splitHost(value: string): { name: string; port?: number } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  return { name: (m[1] as string).toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * Refuses a request whose Host is not a loopback name with this server's port, or whose Origin (when sent) is not this
 * very origin. Returns undefined when the request may go on.
 */
export function checkHostAndOrigin(req: IncomingMessage, ownPort: number, scheme: 'http' | 'https' = 'http'): SurfaceRefusal | undefined {
  const host = req.headers.host;
  if (host === undefined || host === '') return { status: 403, reason: 'The Host header is missing; this local server answers only 127.0.0.1, localhost or [::1].' };
  const parsed = splitHost(host);
  const defaultPort = scheme === 'https' ? 443 : 80;
  if (!parsed || !loopbackNames.has(parsed.name) || (parsed.port ?? defaultPort) !== ownPort) {
    return { status: 403, reason: `The Host header ${JSON.stringify(host.slice(0, 100))} is not this local server (127.0.0.1, localhost or [::1] on port ${ownPort}); DNS-rebinding requests are refused.` };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${scheme}://${host.trim().toLowerCase()}`) {
    return { status: 403, reason: `Cross-origin requests are refused: Origin ${JSON.stringify(origin.slice(0, 100))} is not ${scheme}://${host.trim().toLowerCase()}.` };
  }
  return undefined;
}

/** Refuses CORS preflights (this surface serves no other origin) and admin writes without ADMIN_WRITE_HEADER. */
export function checkAdminWrite(req: IncomingMessage): SurfaceRefusal | undefined {
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'OPTIONS') return { status: 403, reason: 'CORS preflight refused: this local admin endpoint serves no other origin.' };
  if (method === 'GET' || method === 'HEAD') return undefined;
  const marker = req.headers[ADMIN_WRITE_HEADER];
  if (typeof marker !== 'string' || marker.trim() === '') {
    return { status: 403, reason: `Admin writes must carry the header '${ADMIN_WRITE_HEADER}: 1' (it keeps cross-site form posts out).` };
  }
  return undefined;
}
