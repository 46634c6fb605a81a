// What the admin clients share: one JSON-over-HTTP call with the admin header, and the type that keeps each client equal
// to its emulator's programmatic admin API (every method of it, each answering a promise of the same result).
import { ADMIN_WRITE_HEADER } from '../shared/localSurface';

/** The programmatic admin API `Api` as seen from another process: the same methods, each asynchronous. */
export type RemoteAdmin<Api> = {
  [K in keyof Api]: Api[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** An admin call the emulator refused or answered with an error (`status`: the HTTP status, `body`: its text). */
export class EmulatorAdminError extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`${method} ${url} -> ${status} ${body.slice(0, 300)}`);
    this.name = 'EmulatorAdminError';
  }
}

export interface AdminClientOptions {
  /** Per call (default 10 s): an emulator that does not answer is a failed call, not a hung harness. */
  timeoutMs?: number;
}

export interface AdminResponse {
  status: number;
  /** Parsed JSON body; undefined for an empty body (204). */
  body: unknown;
}

/**
 * One admin call: JSON in and out, the admin header on every call (reads do not need it; sending it always keeps the
 * client simple). `allow`: statuses besides 2xx that are answers rather than errors (e.g. 404 for a fault gone already).
 */
export async function adminCall(method: string, url: string, options: { body?: unknown; timeoutMs: number; allow?: readonly number[] }): Promise<AdminResponse> {
  const res = await fetch(url, {
    method,
    headers: { [ADMIN_WRITE_HEADER]: '1', ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const text = await res.text();
  if (!res.ok && !(options.allow ?? []).includes(res.status)) throw new EmulatorAdminError(method, url, res.status, text);
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** The base URL without trailing slashes, so `${base}/route` has exactly one. */
export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}
