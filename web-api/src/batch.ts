// OData $batch bodies (multipart/mixed with application/http parts): writing requests and reading responses.
// Small and specific to OData's framing, so kept here rather than pulling a general MIME library.

/** A boundary suffix: random, so no JSON body can contain the delimiter (Web Crypto: Node 20 and every browser). */
function randomToken(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface BatchRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Absolute URL, or `$<content-id>` reference inside a change set. */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface BatchResponse {
  status: number;
  /** The reason phrase of the part's status line ("No Content"), when the server sent one. */
  statusText?: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: unknown;
  contentId?: string;
}

/** A batch part: a single request (outside change sets), or a change set (array, atomic). */
export type BatchPart = BatchRequest | readonly BatchRequest[];

const CRLF = '\r\n';

function writeRequest(req: BatchRequest, contentId?: number): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push('', `${req.method} ${req.url} HTTP/1.1`);
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  if (req.body !== undefined) headers['Content-Type'] ??= 'application/json; type=entry';
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push('', req.body === undefined ? '' : JSON.stringify(req.body));
  return lines.join(CRLF);
}

export function buildBatchBody(parts: readonly BatchPart[]): { contentType: string; body: string } {
  const boundary = `batch_${randomToken()}`;
  const out: string[] = [];
  let contentId = 1;
  for (const part of parts) {
    out.push(`--${boundary}`);
    if (Array.isArray(part)) {
      const cs = `changeset_${randomToken()}`;
      out.push(`Content-Type: multipart/mixed; boundary=${cs}`, '');
      for (const req of part as readonly BatchRequest[]) {
        out.push(`--${cs}`, writeRequest(req, contentId++));
      }
      out.push(`--${cs}--`);
    } else {
      out.push(writeRequest(part as BatchRequest));
    }
  }
  out.push(`--${boundary}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: out.join(CRLF) };
}

function boundaryOf(contentType: string): string | undefined {
  const m = /boundary=("?)([^";]+)\1/i.exec(contentType);
  return m?.[2];
}

function splitHead(text: string): { head: string[]; rest: string } {
  const m = /\r?\n\r?\n/.exec(text);
  if (!m) return { head: text.split(/\r?\n/).filter((l) => l !== ''), rest: '' };
  return { head: text.slice(0, m.index).split(/\r?\n/), rest: text.slice(m.index + m[0].length) };
}

function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

/** Parses a $batch response body into its responses in order (change set responses flattened in place). */
export function parseBatchResponse(contentType: string, body: string): BatchResponse[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error(`$batch response has no multipart boundary (Content-Type: ${contentType})`);
  const responses: BatchResponse[] = [];
  const delimiter = `--${boundary}`;
  const segments = body.split(delimiter).slice(1);
  for (const raw of segments) {
    if (raw.startsWith('--')) break;
    const part = raw.replace(/^\r?\n/, '');
    const { head, rest } = splitHead(part);
    const partHeaders = parseHeaders(head);
    const ct = partHeaders['content-type'] ?? '';
    if (ct.toLowerCase().startsWith('multipart/mixed')) {
      responses.push(...parseBatchResponse(ct, rest));
      continue;
    }
    const { head: httpHead, rest: httpBody } = splitHead(rest);
    const statusLine = httpHead[0] ?? '';
    const statusMatch = /^HTTP\/1\.[01]\s+(\d{3})[ \t]*(.*)$/.exec(statusLine.trim());
    const status = Number(statusMatch?.[1]);
    if (!Number.isFinite(status)) throw new Error(`$batch response part has no HTTP status line: ${statusLine.slice(0, 80)}`);
    const headers = parseHeaders(httpHead.slice(1));
    const text = httpBody.replace(/\r?\n$/, '').trim();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    responses.push({ status, statusText: statusMatch?.[2] ?? '', headers, body: parsed, contentId: partHeaders['content-id'] ?? headers['content-id'] });
  }
  return responses;
}

/**
 * The responses of a $batch answered as a whole with an error (Dataverse: 400 Bad Request when a batch without
 * `Prefer: odata.continue-on-error` stops at its first failure; the multipart body ends with that request's response).
 * Undefined when the body is not a batch response or holds no failure.
 */
export function failedBatch(contentType: string, body: string): BatchResponse[] | undefined {
  if (!/^multipart\/mixed/i.test(contentType.trim())) return undefined;
  try {
    const responses = parseBatchResponse(contentType, body);
    return responses.some((r) => r.status >= 400) ? responses : undefined;
  } catch {
    return undefined;
  }
}
