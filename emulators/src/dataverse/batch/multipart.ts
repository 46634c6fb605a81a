// A small strict reader and writer for the $batch wire format (Microsoft Learn: "Execute batch operations using the
// Web API"; OData v4.01 Part 1 §11.7 multipart batch): multipart/mixed bodies (RFC 2046) whose parts are
// application/http requests or nested multipart/mixed change sets. Accepts CRLF or LF line ends. No library on npm
// reads HTTP messages inside MIME parts; general multipart parsers target form-data uploads.

export interface HttpPart {
  kind: 'request';
  contentId?: string;
  method: string;
  url: string;
  headers: Map<string, string>;
  body: string;
}

export interface ChangeSetPart {
  kind: 'changeset';
  requests: HttpPart[];
}

export type BatchPart = HttpPart | ChangeSetPart;

export class MultipartError extends Error {
  override readonly name = 'MultipartError';
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(';');
  if (type?.trim().toLowerCase() !== 'multipart/mixed') return undefined;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() === 'boundary') return p.slice(eq + 1).trim().replace(/^"|"$/g, '');
  }
  return undefined;
}

function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Splits a multipart body into the raw text of its parts. */
export function splitMultipart(body: string, boundary: string): string[] {
  const lines = splitLines(body);
  const delimiter = `--${boundary}`;
  const close = `--${boundary}--`;
  let i = 0;
  while (i < lines.length && (lines[i] as string).trimEnd() !== delimiter) {
    if ((lines[i] as string).trimEnd() === close) break;
    i++;
  }
  if (i >= lines.length || (lines[i] as string).trimEnd() !== delimiter) {
    throw new MultipartError(`The boundary delimiter '${delimiter}' was not found at the start of the multipart body.`);
  }
  const parts: string[] = [];
  let current: string[] = [];
  for (i = i + 1; i < lines.length; i++) {
    const line = (lines[i] as string).trimEnd();
    if (line === delimiter || line === close) {
      parts.push(current.join('\r\n'));
      current = [];
      if (line === close) return parts;
      continue;
    }
    current.push(lines[i] as string);
  }
  throw new MultipartError(`The end of the multipart body '${close}' was not found.`);
}

function readHeaders(lines: string[], start: number): { headers: Map<string, string>; next: number } {
  const headers = new Map<string, string>();
  let i = start;
  for (; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') return { headers, next: i + 1 };
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`The header line '${line}' is not valid.`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, next: i };
}

/**
 * `METHOD URL [HTTP/1.x]`, split on the first and the last space as OData's batch reader does, so a URL with unencoded
 * spaces in its query (`$filter=name eq 'a b'`, as some clients send) is read whole.
 */
function parseRequestLine(line: string): { method: string; url: string } | undefined {
  const text = line.trim();
  const first = text.indexOf(' ');
  if (first < 0) return undefined;
  const method = text.slice(0, first);
  if (!/^(GET|POST|PATCH|PUT|DELETE)$/.test(method)) return undefined;
  let url = text.slice(first + 1).trim();
  const last = url.lastIndexOf(' ');
  if (last >= 0) {
    if (!/^HTTP\/1\.[01]$/.test(url.slice(last + 1))) return undefined;
    url = url.slice(0, last).trim();
  }
  if (url === '') return undefined;
  // The URL parser takes spaces literally; encode them so the query keeps them as values.
  return { method, url: url.replace(/ /g, '%20') };
}

function parseHttpPart(text: string, inChangeSet: boolean): HttpPart {
  const lines = splitLines(text);
  const mime = readHeaders(lines, 0);
  const type = mime.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/http') throw new MultipartError(`A batch part must have Content-Type 'application/http' (found '${type ?? ''}').`);
  let i = mime.next;
  while (i < lines.length && (lines[i] as string).trim() === '') i++;
  const requestLine = lines[i] ?? '';
  const line = parseRequestLine(requestLine);
  if (!line) throw new MultipartError(`The request line '${requestLine}' is not a valid HTTP request line.`);
  const http = readHeaders(lines, i + 1);
  // The body runs to the end of the part; trailing blank lines belong to the delimiter.
  const body = lines.slice(http.next).join('\n').replace(/\s+$/, '');
  const contentId = mime.headers.get('content-id') ?? http.headers.get('content-id');
  if (inChangeSet && line.method === 'GET') throw new MultipartError('A GET request is not allowed inside a change set.');
  const url = line.url;
  // A request line whose URL no parser accepts (`http://[::1`) is a malformed part, not an error of the server.
  if (!URL.canParse(url, 'http://batch.invalid/')) throw new MultipartError(`The request URL '${url.slice(0, 200)}' of a batch part is not a valid URL.`);
  return { kind: 'request', contentId, method: line.method, url, headers: http.headers, body };
}

export function parseBatch(body: string, boundary: string): BatchPart[] {
  return splitMultipart(body, boundary).map((raw) => {
    const lines = splitLines(raw);
    const mime = readHeaders(lines, 0);
    const nested = boundaryOf(mime.headers.get('content-type'));
    if (nested) {
      const inner = lines.slice(mime.next).join('\r\n');
      const requests = splitMultipart(inner, nested).map((p) => parseHttpPart(p, true));
      if (requests.length === 0) throw new MultipartError('A change set must contain at least one request.');
      return { kind: 'changeset', requests } satisfies ChangeSetPart;
    }
    return parseHttpPart(raw, false);
  });
}

export interface HttpResponsePart {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body?: string;
  contentId?: string;
}

function writeHttpPart(p: HttpResponsePart): string {
  const mime = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (p.contentId !== undefined) mime.push(`Content-ID: ${p.contentId}`);
  const head = [`HTTP/1.1 ${p.status} ${p.statusText}`, ...Object.entries(p.headers).map(([k, v]) => `${k}: ${v}`)];
  return `${mime.join('\r\n')}\r\n\r\n${head.join('\r\n')}\r\n\r\n${p.body ?? ''}\r\n`;
}

export type ResponsePart = { kind: 'single'; part: HttpResponsePart } | { kind: 'changeset'; boundary: string; parts: HttpResponsePart[] };

export function writeBatchResponse(boundary: string, parts: readonly ResponsePart[]): string {
  let out = '';
  for (const p of parts) {
    out += `--${boundary}\r\n`;
    if (p.kind === 'single') out += writeHttpPart(p.part);
    else {
      out += `Content-Type: multipart/mixed; boundary=${p.boundary}\r\n\r\n`;
      for (const inner of p.parts) out += `--${p.boundary}\r\n${writeHttpPart(inner)}`;
      out += `--${p.boundary}--\r\n`;
    }
  }
  return `${out}--${boundary}--\r\n`;
}
