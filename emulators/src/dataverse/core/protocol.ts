// The core's request and response: plain data, no sockets. The HTTP adapter builds an ApiRequest from a Node request;
// $batch builds one from each part of its multipart body, so both go through exactly the same handlers.

export interface ApiRequest {
  readonly method: string;
  /** Path below the Web API root, without leading slash and without query, e.g. `accounts(1f...)/name`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** JSON body (serialised by the adapter), raw text, or nothing. */
  json?: unknown;
  text?: { contentType: string; body: string | Buffer };
}

export interface Identity {
  /** Stable user name the limits and counters are keyed by. */
  readonly name: string;
  readonly objectId?: string;
  readonly applicationId?: string;
}

export interface RequestCost {
  recordsRead: number;
  recordsWritten: number;
}

export interface RequestContext {
  readonly identity: Identity;
  /** systemuserid of the caller (created on first use). */
  readonly userId: string;
  readonly now: number;
  /** Absolute Web API root ending with `/`, e.g. `http://127.0.0.1:5000/api/data/v9.2/`. */
  readonly apiBase: string;
  readonly cost: RequestCost;
  /** Content-ID -> entity URL, inside a $batch change set. */
  readonly contentIds?: ReadonlyMap<string, string>;
  /** The caller is in no column security profile: secured columns read as null (option `columnSecurity`). */
  readonly securedColumnsHidden?: boolean;
}

export function header(req: ApiRequest, name: string): string | undefined {
  return req.headers.get(name.toLowerCase());
}

/** Parses `Prefer` into a map of preference -> value ('' when it has none). */
export function preferences(req: ApiRequest): Map<string, string> {
  const out = new Map<string, string>();
  const raw = header(req, 'prefer');
  if (!raw) return out;
  for (const part of raw.split(',')) {
    const [k, ...rest] = part.trim().split('=');
    if (!k) continue;
    out.set(k.trim().toLowerCase(), rest.join('=').trim().replace(/^"|"$/g, ''));
  }
  return out;
}

export function jsonResponse(status: number, json: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'OData-Version': '4.0', ...headers }, json };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'OData-Version': '4.0', ...headers } };
}
