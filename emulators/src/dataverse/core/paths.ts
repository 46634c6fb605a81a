// Resource paths of the Web API: `set`, `set(key)`, `set(key)/property`, `set(key)/navigation[(key)][/$ref]`,
// `set/Microsoft.Dynamics.CRM.Action`, where key is a GUID or alternate key values `col='v',col2=3`
// (Microsoft Learn: "Retrieve a table row" / "Use an alternate key to reference a record").
import { DataverseErrors } from './errors';

export type KeyLiteral = string | number;
export type ResourceKey = { kind: 'id'; id: string } | { kind: 'alternate'; values: ReadonlyMap<string, KeyLiteral> };

export interface ResourcePath {
  readonly set: string;
  readonly key?: ResourceKey;
  /** Remaining segments after the key (or after the set), e.g. ['name'] or ['systemuserroles_association', '$ref']. */
  readonly segments: readonly { name: string; key?: ResourceKey }[];
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Splits at `/` outside quotes and parentheses. */
function splitSegments(path: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const ch of path) {
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    if (ch === '/' && depth === 0 && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function parseKeyLiteral(raw: string, segment: string): KeyLiteral {
  const t = raw.trim();
  if (t.startsWith("'")) {
    if (!t.endsWith("'") || t.length < 2) throw DataverseErrors.querySyntax(0, segment);
    return t.slice(1, -1).replace(/''/g, "'");
  }
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (GUID.test(t)) return t.toLowerCase();
  throw DataverseErrors.querySyntax(0, segment);
}

export function parseKey(text: string, segment: string): ResourceKey {
  const t = text.trim();
  if (GUID.test(t)) return { kind: 'id', id: t.toLowerCase() };
  const values = new Map<string, KeyLiteral>();
  // Split on commas outside quotes.
  let quoted = false;
  let cur = '';
  const parts: string[] = [];
  for (const ch of t) {
    if (ch === "'") quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw DataverseErrors.queryOption(`Bad Request - Error in query syntax. The key '${t}' in segment '${segment}' is not valid.`);
    values.set(p.slice(0, eq).trim(), parseKeyLiteral(p.slice(eq + 1), segment));
  }
  return { kind: 'alternate', values };
}

function splitNameAndKey(segment: string): { name: string; key?: ResourceKey } {
  const open = segment.indexOf('(');
  if (open < 0) return { name: segment };
  if (!segment.endsWith(')')) throw DataverseErrors.resourceNotFound(segment);
  const name = segment.slice(0, open);
  const inner = segment.slice(open + 1, -1);
  // `WhoAmI()` style function calls have an empty key.
  if (inner.trim() === '') return { name };
  return { name, key: parseKey(inner, segment) };
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw DataverseErrors.badPercentEncoding(path);
  }
}

export function parseResourcePath(path: string): ResourcePath {
  const segments = splitSegments(decodePath(path)).filter((s, i) => s.length > 0 || i === 0);
  const first = splitNameAndKey(segments[0] ?? '');
  return { set: first.name, key: first.key, segments: segments.slice(1).map(splitNameAndKey) };
}

/** Parses an entity reference URL (`/accounts(id)`, `accounts(id)`, absolute URL) as used in @odata.bind and $ref. */
export function parseEntityReference(ref: string, apiBase: string): { set: string; key: ResourceKey } | undefined {
  let rel = ref.trim();
  if (rel.startsWith(apiBase)) rel = rel.slice(apiBase.length);
  else {
    // `https:/host/...` (one slash) is the same URL to a WHATWG or .NET parser; dataverse-webapi sends it in $ref bodies.
    const m = /^https?:\/{1,2}[^/]+\/api\/data\/v\d+(?:\.\d+)?\/(.*)$/.exec(rel);
    if (m) rel = m[1] as string;
  }
  rel = rel.replace(/^\/+/, '');
  const m2 = /^api\/data\/v\d+(?:\.\d+)?\/(.*)$/.exec(rel);
  if (m2) rel = m2[1] as string;
  try {
    const p = parseResourcePath(rel);
    if (!p.key || p.segments.length > 0) return undefined;
    return { set: p.set, key: p.key };
  } catch {
    return undefined;
  }
}
