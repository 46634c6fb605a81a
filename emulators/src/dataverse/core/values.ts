// Conversions between JSON (the Web API's representation), query literals and what SQLite stores.
// Datetimes are stored as fixed-width ISO text with milliseconds (always .000: Dataverse keeps whole seconds) so that
// text comparison in SQL is time order; booleans as 0/1; GUIDs lower case; choices as integers.
import { DataverseErrors } from './errors';
import { edmType, type AttributeDef, type EntityDef } from '../metadata/model';

export type SqlValue = string | number | bigint | null;
export type StoredRow = Record<string, SqlValue>;

export const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

/** Parses an ISO date or date-time (Dataverse accepts both); returns epoch ms or undefined. */
export function parseDateTime(text: string): number | undefined {
  const m = DATETIME_RE.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(m[4] === undefined ? `${text}T00:00:00Z` : m[8] === undefined ? `${text}Z` : text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Storage form of an instant, truncated to whole seconds as Dataverse stores it. */
export function storeDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

/** Storage form of an instant without truncation, for query bounds (so `lt 10:00:00.5` keeps its meaning). */
export function boundDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Web API form: `2024-05-01T10:00:00Z`. */
export function formatDateTime(stored: string): string {
  return stored.length === 24 ? `${stored.slice(0, 19)}Z` : stored;
}

/** Converts a JSON value sent by a caller into the stored value, with Dataverse's payload errors. */
export function toStorage(entity: EntityDef, attr: AttributeDef, value: unknown): SqlValue {
  if (value === null) return null;
  const fail = (): never => {
    throw DataverseErrors.cannotConvert(entity.logicalName, value, edmType(attr.type));
  };
  switch (attr.type) {
    case 'string':
    case 'memo':
    case 'autonumber': {
      if (typeof value !== 'string') return fail();
      if (attr.maxLength !== undefined && value.length > attr.maxLength) {
        throw DataverseErrors.stringTooLong(attr.logicalName, entity.logicalName, attr.maxLength);
      }
      return value;
    }
    case 'integer':
    case 'bigint': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail();
      if (attr.type === 'integer' && (value > 2147483647 || value < -2147483648)) return fail();
      // The column's own range (e.g. obx_partitionslot 0-1023): a valid Int32 outside it is a validation error.
      if ((attr.minValue !== undefined && value < attr.minValue) || (attr.maxValue !== undefined && value > attr.maxValue)) {
        throw DataverseErrors.integerOutOfRange();
      }
      return value;
    }
    case 'picklist':
    case 'state':
    case 'status': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail();
      if (attr.options && attr.options.length > 0 && !attr.options.includes(value)) {
        throw DataverseErrors.picklistOutOfRange(value, attr.logicalName, entity.logicalName, attr.options);
      }
      return value;
    }
    case 'decimal':
    case 'money':
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail();
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') return fail();
      return value ? 1 : 0;
    case 'datetime': {
      if (typeof value !== 'string') return fail();
      const ms = parseDateTime(value);
      return ms === undefined ? fail() : storeDateTime(ms);
    }
    case 'uniqueidentifier':
    case 'lookup':
    case 'owner':
      if (typeof value !== 'string' || !isGuid(value)) return fail();
      return value.toLowerCase();
  }
}

/** Converts a stored value to its JSON form. */
export function fromStorage(attr: AttributeDef, value: SqlValue): unknown {
  if (value === null || value === undefined) return null;
  switch (attr.type) {
    case 'boolean':
      return value === 1 || value === 1n;
    case 'datetime':
      return formatDateTime(String(value));
    case 'bigint':
    case 'integer':
    case 'picklist':
    case 'state':
    case 'status':
      return typeof value === 'bigint' ? Number(value) : value;
    default:
      return value;
  }
}

export function newGuid(): string {
  return globalThis.crypto.randomUUID();
}
