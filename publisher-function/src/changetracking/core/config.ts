// Change-tracking sources: the obx_ChangeTrackingSources setting (JSON), overridable by OUTBOX_CHANGE_TRACKING_SOURCES
// like every solution setting. Parsing collects every problem so the operator sees them all at once.
import { Settings } from '@dataverse-outbox/contract';
import { OutboxError } from '../../core/errors';

/** One tracked table, as configured. */
export interface ChangeTrackingSourceConfig {
  /** Checkpoint key and lease scope suffix (unique). Default: the table's logical name. */
  name: string;
  /** Logical name, e.g. `opportunity`. Used in messageIds and `source-entity`. */
  table: string;
  /** Web API entity set, e.g. `opportunities`. */
  entitySet: string;
  /** Primary key column. Default `<table>id`. */
  primaryIdAttribute: string;
  /** Columns sent in the message body ($select). The primary key is always sent. */
  columns: readonly string[];
  /** Queue or topic; must be in obx_AllowedTargets. */
  target: string;
  /** Service Bus `subject` of new and updated rows. */
  eventType: string;
  /** `subject` of deletions. Default: eventType. */
  deletedEventType: string;
  /** `Prefer: odata.maxpagesize` of the reads. Default: obx_BatchSize. */
  pageSize?: number;
}

const FIELDS = new Set(['name', 'table', 'entitySet', 'primaryIdAttribute', 'columns', 'target', 'eventType', 'deletedEventType', 'pageSize']);
const LOGICAL_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
const ENTITY_SET = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export interface ResolvedSources {
  text: string;
  /** Where the text came from, for error messages. */
  where: string;
}

/** Later wins: solution default, Dataverse value, OUTBOX_CHANGE_TRACKING_SOURCES app setting. */
export function resolveChangeTrackingSources(fromDataverse: string | undefined, appSettings: Readonly<Record<string, string | undefined>>): ResolvedSources {
  const def = Settings.ChangeTrackingSources;
  const override = appSettings[def.appSetting];
  if (override !== undefined && override.trim() !== '') return { text: override, where: `app setting ${def.appSetting}` };
  if (fromDataverse !== undefined) return { text: fromDataverse, where: `${def.schemaName} (dataverse)` };
  return { text: def.defaultValue, where: `${def.schemaName} (default)` };
}

/** Parses and validates; throws OutboxError('InvalidSettings') listing every problem. */
export function parseChangeTrackingSources(resolved: ResolvedSources, context: { allowedTargets: readonly string[] }): ChangeTrackingSourceConfig[] {
  const problems: string[] = [];
  const where = resolved.where;
  let raw: unknown;
  try {
    raw = JSON.parse(resolved.text);
  } catch (e) {
    throw new OutboxError('InvalidSettings', `Invalid change-tracking sources:\n  - ${where} is not valid JSON (${(e as Error).message})`, {
      details: [`${where} is not valid JSON`],
    });
  }
  if (!Array.isArray(raw)) {
    throw new OutboxError('InvalidSettings', `Invalid change-tracking sources:\n  - ${where} must be a JSON array of sources (see docs/change-tracking.md)`, {
      details: [`${where} must be a JSON array`],
    });
  }
  const sources: ChangeTrackingSourceConfig[] = [];
  raw.forEach((item: unknown, i) => {
    const at = `${where}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${at} must be an object like {"table":"opportunity","entitySet":"opportunities","columns":["name"],"target":"orders","eventType":"OpportunityChanged"}`);
      return;
    }
    const o = item as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!FIELDS.has(k)) problems.push(`${at} has an unknown field "${k}" (known: ${[...FIELDS].join(', ')})`);
    const text = (k: string, required: boolean, max: number): string | undefined => {
      const v = o[k];
      if (v === undefined || v === null) {
        if (required) problems.push(`${at}.${k} is required`);
        return undefined;
      }
      if (typeof v !== 'string' || v.trim() === '' || v.length > max) {
        problems.push(`${at}.${k} must be a non-empty string of at most ${max} characters, got ${JSON.stringify(v)}`);
        return undefined;
      }
      return v.trim();
    };
    const table = text('table', true, 64);
    if (table !== undefined && !LOGICAL_NAME.test(table)) problems.push(`${at}.table must be a table's logical name (lower case), got ${JSON.stringify(table)}`);
    const entitySet = text('entitySet', true, 128);
    if (entitySet !== undefined && !ENTITY_SET.test(entitySet)) problems.push(`${at}.entitySet must be an entity set name such as "opportunities", got ${JSON.stringify(entitySet)}`);
    const name = text('name', false, 100) ?? table;
    if (name !== undefined && !SOURCE_NAME.test(name)) problems.push(`${at}.name may hold letters, digits, "_", "." and "-" (1-100), got ${JSON.stringify(name)}`);
    const primaryIdAttribute = text('primaryIdAttribute', false, 64) ?? (table ? `${table}id` : undefined);
    if (primaryIdAttribute !== undefined && !LOGICAL_NAME.test(primaryIdAttribute)) problems.push(`${at}.primaryIdAttribute must be a column's logical name, got ${JSON.stringify(primaryIdAttribute)}`);
    const target = text('target', true, 260);
    if (target !== undefined && !context.allowedTargets.includes(target)) {
      problems.push(`${at}.target "${target}" is not in the allowed targets (${Settings.AllowedTargets.schemaName}: ${JSON.stringify(context.allowedTargets)})`);
    }
    const eventType = text('eventType', true, 200);
    const deletedEventType = text('deletedEventType', false, 200) ?? eventType;
    let columns: string[] = [];
    if (!Array.isArray(o.columns) || o.columns.length === 0) {
      problems.push(`${at}.columns must be a non-empty array of column logical names (lookups as _<name>_value); the body carries exactly these`);
    } else {
      for (const c of o.columns) {
        if (typeof c !== 'string' || !LOGICAL_NAME.test(c)) problems.push(`${at}.columns has ${JSON.stringify(c)}, which is not a column logical name`);
      }
      columns = [...new Set((o.columns as unknown[]).filter((c): c is string => typeof c === 'string'))];
    }
    let pageSize: number | undefined;
    if (o.pageSize !== undefined) {
      if (typeof o.pageSize !== 'number' || !Number.isInteger(o.pageSize) || o.pageSize < 1 || o.pageSize > 5000) problems.push(`${at}.pageSize must be a whole number from 1 to 5000`);
      else pageSize = o.pageSize;
    }
    if (name && table && entitySet && primaryIdAttribute && target && eventType && deletedEventType) {
      sources.push({ name, table, entitySet, primaryIdAttribute, columns, target, eventType, deletedEventType, ...(pageSize ? { pageSize } : {}) });
    }
  });
  const seen = new Map<string, number>();
  const pairs = new Set<string>();
  for (const s of sources) {
    seen.set(s.name.toLowerCase(), (seen.get(s.name.toLowerCase()) ?? 0) + 1);
    // messageIds are table + row + version: two sources of one table into one target would swallow each other's messages.
    const pair = `${s.table}\u0000${s.target}`;
    if (pairs.has(pair)) problems.push(`${where}: two sources send table ${s.table} to target ${s.target}; their messages would share messageIds`);
    pairs.add(pair);
  }
  for (const [n, count] of seen) if (count > 1) problems.push(`${where}: source name "${n}" is used ${count} times (names must be unique; they key the checkpoints)`);
  if (problems.length > 0) throw new OutboxError('InvalidSettings', `Invalid change-tracking sources:\n  - ${problems.join('\n  - ')}`, { details: problems });
  return sources;
}
