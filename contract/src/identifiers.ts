// Identifiers that cross a trust boundary: row ids pasted into Web API URLs and $filter, and string literals in
// $filter. One definition for every workspace (browser-safe: no Node or Azure imports), so an id is checked and
// encoded the same way by the publisher, the CLI, the consumer and the web resources.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The bare lower-case form of a GUID ("{AAAA-...}" from forms, "aaaa-..." from the Web API), or undefined for anything
 * else. Surrounding white space is tolerated (forms and CSV exports add it); anything inside is not.
 */
export function normaliseGuid(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 40) return undefined;
  const bare = value.trim().replace(/^\{/, '').replace(/\}$/, '').toLowerCase();
  return GUID.test(bare) ? bare : undefined;
}

export function isGuid(value: unknown): value is string {
  return normaliseGuid(value) !== undefined;
}

/** Thrown where a caller passes something that is not a GUID where one is required (code for callers that branch). */
export class InvalidIdentifierError extends Error {
  override readonly name = 'InvalidIdentifierError';
  readonly code = 'InvalidIdentifier';
  constructor(
    readonly what: string,
    readonly value: unknown,
  ) {
    super(`${what} must be a GUID, got ${describeValue(value)}`);
  }
}

/** The normalised GUID, or InvalidIdentifierError naming what it was meant to be. */
export function requireGuid(value: unknown, what: string): string {
  const id = normaliseGuid(value);
  if (id === undefined) throw new InvalidIdentifierError(what, value);
  return id;
}

const ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e]{0,200}"$/;

/**
 * A row's ETag (`@odata.etag`) fit to send back in If-Match: exactly one entity tag (`"..."` or `W/"..."`, printable
 * ASCII, RFC 9110). Undefined for anything else, `*` and lists included: a caller without a usable ETag must not
 * write, since `If-Match: *` would overwrite whatever the row became meanwhile.
 */
export function usableEtag(value: unknown): string | undefined {
  return typeof value === 'string' && ENTITY_TAG.test(value) ? value : undefined;
}

/** An OData string literal: single quotes doubled, as the OData ABNF requires. URL-encode the whole query after. */
export function odataStringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A short, printable rendering of a bad value for an error message (never the whole value: it may be huge or hostile). */
export function describeValue(value: unknown): string {
  if (typeof value !== 'string') return value === null ? 'null' : typeof value;
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return value.length > 60 ? `${shown} (${value.length} characters)` : shown;
}

/** Longest Service Bus entity path the outbox accepts (obx_target is text 260). */
export const MAX_ENTITY_NAME_LENGTH = 260;

// Service Bus entity names: letters, digits, '.', '-', '_', and '/' for paths (`topic/Subscriptions/sub`), starting
// and ending with a letter or digit.
const ENTITY_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._\-/]*[A-Za-z0-9])?$/;

/**
 * Why a queue or topic name (obx_target, an obx_AllowedTargets entry) is unusable, or undefined when it is fine.
 * Checked on the trimmed text, so surrounding white space (a trailing newline from a form or a flow) is no problem.
 */
export function entityNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `a queue or topic name must be text, got ${describeValue(value)}`;
  const name = value.trim();
  if (name === '') return 'the queue or topic name is empty';
  if (name.length > MAX_ENTITY_NAME_LENGTH) return `the queue or topic name is ${name.length} characters long; at most ${MAX_ENTITY_NAME_LENGTH}`;
  if (!ENTITY_NAME.test(name)) {
    return `${describeValue(name)} is not a valid queue or topic name (letters, digits, '.', '-', '_', '/' for subscriptions; starting and ending with a letter or digit; no spaces or control characters)`;
  }
  return undefined;
}

/**
 * The one form of a queue or topic name that is checked, compared and sent to: trimmed and lower-cased (Service Bus
 * entity names are case-insensitive, so "Orders" and "orders" are the same queue). Undefined when the name is unusable
 * (entityNameProblem says why).
 */
export function normaliseEntityName(value: unknown): string | undefined {
  return entityNameProblem(value) === undefined ? (value as string).trim().toLowerCase() : undefined;
}
