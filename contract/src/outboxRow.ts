// The outbox row: what a producer hands a writer (OutboxRowInput), the one set of rules it must pass, and the Dataverse
// record written for it. Both writers build their rows here and throw OutboxRowError for bad input, so a message one
// writer refuses the other refuses too, with the same code and field:
//  - OutboxWriter in @dataverse-outbox/producer (Node: services, Azure Functions, scripts);
//  - commitWithOutbox in webresources/src/client/commit.ts (browser: forms, command bar buttons, maker scripts).
// Every rule refuses what Dataverse would refuse in the change set or what the publisher would fail the row for
// (publisher-function/src/core/validation.ts, with the same target, content type and JSON checks), so a bad message
// fails its producer at once, before anything is sent, instead of becoming a Failed row later.
//
// obx_status is never written: the Outbox Producer column security profile has no create permission on it, so Dataverse
// refuses a create that sets it, and the column's default makes every new row Pending (docs/solution.md).
//
// obx_partitionslot is always written (partitions.ts): the slot of the row's session key, so every row of one key is
// published by the same partition; a row without a key is spread by its row id, or, for an upsert, by its messageId
// (Dataverse assigns the id of a row an upsert creates, and a retried upsert must store the slot the first one stored).
//
// Which writer upserts, and why:
//  - OutboxWriter (Node) upserts on the obx_messageid alternate key when the producer gives a messageId
//    (outboxRowUpsert). A service that lost the reply to its change set (timeout, crash, restart) retries the whole
//    transaction without knowing whether it committed; the upsert makes that retry land on the same row instead of a
//    second message. The upsert sends neither the row id nor obx_status, so a retry never moves a row the publisher
//    already sent back to Pending. With only the Outbox Producer role (no Write on the table) Dataverse refuses the
//    update half of such an upsert: the retried transaction then fails as a whole and writes nothing, still no second
//    message.
//  - commitWithOutbox (browser) always creates (the row record as built here, with a new row id): its change set is
//    Xrm.WebApi executeMultiple Create/Update/Delete requests addressed by row id, which have no alternate-key upsert,
//    and its caller sees the outcome in the same call, so there is no blind retry to absorb. A messageId that already
//    exists is refused by Dataverse as a duplicate key and the whole change set rolls back.
import { checkJson, MAX_JSON_DEPTH } from './jsonCheck';
import { DEFAULT_CONTENT_TYPE, isJsonContentType, isMimeContentType, MAX_CONTENT_TYPE_LENGTH } from './contentType';
import { OutboxMessage } from './generated/names';
import { describeValue, entityNameProblem, normaliseEntityName, normaliseGuid } from './identifiers';
import { findJsonValueProblem } from './jsonValues';
import { partitionSlotOfRow } from './partitions';
import { MAX_SCHEDULE_AHEAD_MS } from './scheduling';
import { traceParentProblem } from './traceContext';

const col = OutboxMessage.columns;
const maxLength = OutboxMessage.maxLength;

/** One outbox message as a producer gives it to either writer. */
export interface OutboxRowInput {
  /** Queue or topic (obx_target); must be in obx_AllowedTargets for the publisher to send it. Trimmed and lower-cased. */
  target: string;
  /** Service Bus subject (obx_eventtype), e.g. "SalesOrderWon". */
  eventType?: string;
  /** Message body: any JSON value (serialised here), or a string sent as-is (JSON content types: must be JSON). */
  payload: unknown;
  /** Default application/json. */
  contentType?: string;
  /** Ordering key (Service Bus sessionId): messages with the same key are published in order. Empty or null: none. */
  sessionKey?: string | null;
  /** Service Bus correlationId. */
  correlationId?: string;
  /** Idempotency key (the obx_messageid alternate key). Default: the new row's id. */
  messageId?: string;
  /** Table logical name of the business row that caused the message. */
  sourceEntity?: string;
  /** GUID of the business row that caused the message. */
  sourceId?: string;
  /** Readable label (obx_name). Default "<eventType> <sourceEntity>:<sourceId>". */
  name?: string;
  /** Not sent after this moment (a Date or an ISO 8601 string). */
  expiresOn?: Date | string;
  /**
   * Scheduled event: not sent before this moment (a Date or an ISO 8601 string with a time zone), stored in
   * obx_nextattempton rounded up to the whole second (Dataverse keeps no milliseconds). A past time means now; more than
   * a year ahead is refused. It does not hold back later rows of its key (contract/src/scheduling.ts).
   */
  notBefore?: Date | string;
  /**
   * The W3C trace context of the commit (a version-00 traceparent: `00-<trace id>-<span id>-<flags>`), stored in
   * obx_tracecontext; the publisher sends the message as a child of it (contract/src/traceContext.ts). OutboxWriter fills
   * it from the active OpenTelemetry span, commitWithOutbox with a new one per commit, when it is not given.
   */
  traceParent?: string;
}

/** The input field an OutboxRowError is about; 'message' for the message as a whole. */
export type OutboxRowField = keyof OutboxRowInput | 'message';

/** Why a writer refused an outbox message. Closed: callers may branch on it. */
export type OutboxRowErrorCode =
  /** The message is not an object. */
  | 'InvalidInput'
  /** target is missing or is not a Service Bus queue or topic name. */
  | 'InvalidTarget'
  /** target is not one of the allowed targets the caller passed. */
  | 'TargetNotAllowed'
  /** A field is not text, holds control characters, or is not what it names (sourceId a GUID, sourceEntity a logical name, expiresOn and notBefore a date, traceParent a W3C traceparent). */
  | 'InvalidField'
  /** A text field is longer than its column. */
  | 'FieldTooLong'
  /** contentType is not a MIME type such as application/json. */
  | 'InvalidContentType'
  /** payload is missing, not JSON for a JSON content type, or not a string for another content type. */
  | 'InvalidPayload'
  /** payload holds a value JSON cannot carry faithfully (BigInt, NaN, a cycle, a Map...). */
  | 'PayloadNotSerialisable'
  /** payload is nested deeper than MAX_JSON_DEPTH. */
  | 'PayloadTooDeep'
  /** payload is longer than obx_payload holds. */
  | 'PayloadTooLarge'
  /** Two messages of one transaction have the same messageId (compared as Dataverse compares keys: ignoring case). */
  | 'DuplicateMessageId';

/** The one error both writers throw for a bad outbox message, before anything is sent. */
export class OutboxRowError extends Error {
  override readonly name = 'OutboxRowError';
  readonly code: OutboxRowErrorCode;
  readonly field: OutboxRowField;
  /** 0-based position of the message in its transaction, when the writer knows it. */
  readonly position: number | undefined;

  constructor(code: OutboxRowErrorCode, field: OutboxRowField, detail: string, position?: number) {
    super(position === undefined ? detail : `Outbox message ${position + 1}: ${detail}`);
    // Keeps `instanceof` working when compiled to ES5-style classes by other toolchains.
    Object.setPrototypeOf(this, new.target.prototype);
    this.code = code;
    this.field = field;
    this.position = position;
  }
}

/** True for an OutboxRowError, also one thrown by another bundle's copy of the class (each web resource has its own). */
export function isOutboxRowError(error: unknown): error is OutboxRowError {
  if (error instanceof OutboxRowError) return true;
  const e = error as { name?: unknown; code?: unknown; field?: unknown } | null;
  return typeof e === 'object' && e !== null && e.name === 'OutboxRowError' && typeof e.code === 'string' && typeof e.field === 'string';
}

export interface OutboxRowOptions {
  /** A new random GUID for the row id (node:crypto in Node, Web Crypto in browsers: the contract has neither). */
  newId(): string;
  /** The time a past notBefore is compared with. Default: the system clock. */
  now?(): Date;
  /** When given, a target outside it is refused (TargetNotAllowed); the publisher enforces obx_AllowedTargets anyway. */
  allowedTargets?: readonly string[];
  /** The business row a message without sourceEntity and sourceId names (commitWithOutbox: its first change). */
  defaultSource?: { entity: string; id: string };
}

/** Column logical name -> value, as the Web API and Xrm.WebApi take them: text, and the whole-number partition slot. */
export type OutboxRowRecord = Record<string, string | number>;

export interface OutboxRow {
  /** obx_outboxmessageid of the row when it is created. */
  readonly rowId: string;
  /** obx_messageid: the producer's, or rowId. */
  readonly messageId: string;
  /** True when the producer gave the messageId (an idempotency key it may retry with). */
  readonly messageIdGiven: boolean;
  /** Every column to create the row with: id, messageId, the message columns and the partition slot (never obx_status: it defaults to Pending). */
  readonly record: OutboxRowRecord;
}

/** An upsert on the obx_messageid alternate key (OutboxWriter only; see the top of this module for why). */
export interface OutboxRowUpsert {
  readonly keyColumn: typeof col.messageId;
  readonly key: string;
  /** The message columns and the partition slot: without the row id and the key column, and never obx_status. */
  readonly record: OutboxRowRecord;
}

const LOGICAL_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** A table or column logical name ("account", "obx_outboxmessage"): what sourceEntity and a business change name. */
export function isTableLogicalName(value: unknown): value is string {
  return typeof value === 'string' && LOGICAL_NAME.test(value);
}

function controlCharacterAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return i;
  }
  return -1;
}

type TextField = 'messageId' | 'eventType' | 'correlationId' | 'sessionKey' | 'contentType' | 'sourceEntity' | 'name';
const COLUMN_OF: { readonly [F in TextField]: keyof typeof maxLength } = {
  messageId: 'obx_messageid',
  eventType: 'obx_eventtype',
  correlationId: 'obx_correlationid',
  sessionKey: 'obx_sessionkey',
  contentType: 'obx_contenttype',
  sourceEntity: 'obx_sourceentity',
  name: 'obx_name',
};

/**
 * Checks one message and builds its row. `position` (0-based, in its transaction) goes into the error message.
 * Throws OutboxRowError for bad input; checks run in a fixed order, so the same input always fails the same way.
 */
export function buildOutboxRow(input: OutboxRowInput, options: OutboxRowOptions, position?: number): OutboxRow {
  const fail = (code: OutboxRowErrorCode, field: OutboxRowField, detail: string): OutboxRowError => new OutboxRowError(code, field, detail, position);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw fail('InvalidInput', 'message', `a message must be an object, not ${describeValue(input)}`);
  // Producers in plain JavaScript (maker scripts) pass anything: every field is checked as unknown.
  const m = input as unknown as { readonly [K in keyof OutboxRowInput]?: unknown };

  const target = targetOf(m.target, options.allowedTargets, fail);

  const text = (field: TextField): string | undefined => {
    const value = m[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw fail('InvalidField', field, `${field} must be text, not ${typeof value}`);
    const trimmed = value.trim();
    if (trimmed === '') return undefined;
    const column = COLUMN_OF[field];
    if (trimmed.length > maxLength[column]) throw fail('FieldTooLong', field, `${field} is ${trimmed.length} characters; ${column} holds at most ${maxLength[column]}`);
    // They travel as message properties and into logs, where a line break or a NUL splits or cuts them.
    const at = controlCharacterAt(trimmed);
    if (at >= 0) throw fail('InvalidField', field, `${field} has a control character at position ${at + 1}`);
    return trimmed;
  };
  const messageId = text('messageId');
  const eventType = text('eventType');
  const correlationId = text('correlationId');
  const sessionKey = text('sessionKey');
  const contentType = text('contentType') || DEFAULT_CONTENT_TYPE;
  if (!isMimeContentType(contentType)) {
    throw fail('InvalidContentType', 'contentType', `contentType ${describeValue(contentType)} is not a MIME type such as application/json (printable ASCII type/subtype, at most ${MAX_CONTENT_TYPE_LENGTH} characters)`);
  }

  const source = sourceOf(m, text('sourceEntity'), options.defaultSource, fail);
  const expiresOn = expiresOnOf(m.expiresOn, fail);
  const notBefore = notBeforeOf(m.notBefore, options.now ? options.now() : new Date(), fail);
  const traceParent = traceParentOf(m.traceParent, fail);
  if (!('payload' in m) || m.payload === undefined) throw fail('InvalidPayload', 'payload', 'payload is required (use null for an empty JSON body)');
  const payload = payloadOf(m.payload, contentType, fail);

  const rowId = options.newId();
  const given = text('name');
  const about = source.entity && source.id ? `${source.entity}:${source.id}` : source.entity;
  const name = given !== undefined ? given : [eventType || 'Outbox message', about].filter(Boolean).join(' ').slice(0, maxLength.obx_name);

  const record: OutboxRowRecord = {
    [col.id]: rowId,
    [col.name]: name,
    [col.messageId]: messageId !== undefined ? messageId : rowId,
    [col.target]: target,
    [col.payload]: payload,
    [col.contentType]: contentType,
  };
  if (eventType !== undefined) record[col.eventType] = eventType;
  if (correlationId !== undefined) record[col.correlationId] = correlationId;
  if (sessionKey !== undefined) record[col.sessionKey] = sessionKey;
  if (source.entity !== undefined) record[col.sourceEntity] = source.entity;
  if (source.id !== undefined) record[col.sourceId] = source.id;
  if (expiresOn !== undefined) record[col.expiresOn] = expiresOn;
  // A scheduled event: obx_attempts defaults to 0, so the row reads as scheduled (scheduling.ts) until it is due.
  if (notBefore !== undefined) record[col.nextAttemptOn] = notBefore;
  if (traceParent !== undefined) record[col.traceContext] = traceParent;
  record[col.partitionSlot] = partitionSlotOfRow({ sessionKey, rowId });
  return { rowId, messageId: messageId !== undefined ? messageId : rowId, messageIdGiven: messageId !== undefined, record };
}

/** The upsert form of a built row: keyed by obx_messageid, without the row id, the key column and obx_status. */
export function outboxRowUpsert(row: OutboxRow): OutboxRowUpsert {
  const record: OutboxRowRecord = {};
  for (const column of Object.keys(row.record)) {
    if (column !== col.id && column !== col.messageId) record[column] = row.record[column] as string | number;
  }
  // The row id is not sent, so it cannot spread a keyless row: the messageId, which every retry repeats, does instead.
  const sessionKey = row.record[col.sessionKey];
  record[col.partitionSlot] = partitionSlotOfRow({ sessionKey: typeof sessionKey === 'string' ? sessionKey : undefined, rowId: row.messageId });
  return { keyColumn: col.messageId, key: row.messageId, record };
}

/**
 * The rows of one transaction: builds each message's row in order and refuses a messageId the transaction already has
 * (two rows with one key: Dataverse refuses the create, and two upserts would overwrite each other). One per transaction.
 */
export class OutboxRowBuilder {
  private readonly keys: string[] = [];

  constructor(private readonly options: OutboxRowOptions) {}

  /** How many rows were built. */
  get count(): number {
    return this.keys.length;
  }

  add(input: OutboxRowInput): OutboxRow {
    const position = this.keys.length;
    const row = buildOutboxRow(input, this.options, position);
    // Dataverse compares alternate key values ignoring case (its default collation), so "Order-1" and "order-1" collide.
    const key = row.messageId.toLowerCase();
    const first = this.keys.indexOf(key);
    if (first >= 0) {
      throw new OutboxRowError('DuplicateMessageId', 'messageId', `messageId ${describeValue(row.messageId)} is already used by message ${first + 1} of this transaction`, position);
    }
    this.keys.push(key);
    return row;
  }
}

type Fail = (code: OutboxRowErrorCode, field: OutboxRowField, detail: string) => OutboxRowError;

function targetOf(value: unknown, allowedTargets: readonly string[] | undefined, fail: Fail): string {
  if (typeof value !== 'string' || value.trim() === '') throw fail('InvalidTarget', 'target', 'target (queue or topic name) is required');
  // The one normalised form (trimmed, lower-cased), checked the way the publisher checks and sends it.
  const problem = entityNameProblem(value);
  if (problem) throw fail('InvalidTarget', 'target', `target: ${problem}`);
  const target = normaliseEntityName(value) as string;
  if (allowedTargets && !allowedTargets.some((t) => normaliseEntityName(t) === target)) {
    throw fail('TargetNotAllowed', 'target', `target ${JSON.stringify(target)} is not one of the allowed targets (${allowedTargets.join(', ') || 'none'})`);
  }
  return target;
}

function sourceOf(
  m: { readonly sourceEntity?: unknown; readonly sourceId?: unknown },
  givenEntity: string | undefined,
  defaultSource: OutboxRowOptions['defaultSource'],
  fail: Fail,
): { entity?: string; id?: string } {
  if (givenEntity !== undefined && !isTableLogicalName(givenEntity)) throw fail('InvalidField', 'sourceEntity', `sourceEntity ${describeValue(givenEntity)} is not a table logical name`);
  let id: string | undefined;
  if (m.sourceId !== undefined && m.sourceId !== null && m.sourceId !== '') {
    id = normaliseGuid(m.sourceId);
    if (id === undefined) throw fail('InvalidField', 'sourceId', `sourceId must be a GUID, not ${describeValue(m.sourceId)}`);
  }
  // The default names the source only when the message names neither part of it.
  const unnamed = givenEntity === undefined && id === undefined && (m.sourceEntity === undefined || m.sourceEntity === null);
  if (unnamed && defaultSource) return { entity: defaultSource.entity, id: defaultSource.id };
  return { entity: givenEntity, id };
}

function expiresOnOf(value: unknown, fail: Fail): string | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : typeof value === 'string' && value.trim() !== '' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw fail('InvalidField', 'expiresOn', `expiresOn must be a Date or an ISO 8601 string, not ${describeValue(value)}`);
  return date.toISOString();
}

/** ISO 8601 with a date, a time and a zone: a local time would mean a different moment on every machine. */
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** Date.parse rolls 2030-02-30 over to March 2 and 24:00 to the next day: each part must be in its range. */
function isRealIsoInstant(text: string): boolean {
  const m = ISO_INSTANT.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map((p) => (p === undefined ? 0 : Number(p))) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

/** obx_nextattempton for notBefore: undefined when absent or not in the future (send now), else the next whole second. */
function notBeforeOf(value: unknown, now: Date, fail: Fail): string | undefined {
  if (value === undefined || value === null) return undefined;
  const refuse = (why: string): OutboxRowError => fail('InvalidField', 'notBefore', `notBefore ${why}, not ${describeValue(value)}`);
  let date: Date;
  if (value instanceof Date) date = value;
  else if (typeof value === 'string' && isRealIsoInstant(value)) date = new Date(value);
  else throw refuse('must be a Date or an ISO 8601 date and time with a zone (e.g. 2030-01-31T09:00:00Z)');
  const at = date.getTime();
  if (Number.isNaN(at)) throw refuse('is not a real date and time');
  if (at - now.getTime() > MAX_SCHEDULE_AHEAD_MS) throw refuse(`is more than a year ahead (at most ${new Date(now.getTime() + MAX_SCHEDULE_AHEAD_MS).toISOString()})`);
  if (at <= now.getTime()) return undefined;
  // Dataverse stores whole seconds; rounding down could send the message up to a second early.
  return new Date(Math.ceil(at / 1000) * 1000).toISOString();
}

/** obx_tracecontext: a version-00 traceparent, exactly (it travels into message properties and logs), or none. */
function traceParentOf(value: unknown, fail: Fail): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const problem = traceParentProblem(value);
  if (problem) throw fail('InvalidField', 'traceParent', `traceParent ${problem}`);
  return value as string;
}

/** The payload as stored in obx_payload. Problems say where, never quote the payload (business data). */
function payloadOf(payload: unknown, contentType: string, fail: Fail): string {
  const json = isJsonContentType(contentType);
  let body: string;
  if (typeof payload === 'string') {
    body = payload;
  } else {
    if (!json) throw fail('InvalidPayload', 'payload', `content type ${contentType} needs the payload as a string`);
    const problem = findJsonValueProblem(payload, 'payload', MAX_JSON_DEPTH);
    if (problem) throw fail(problem.kind === 'depth' ? 'PayloadTooDeep' : 'PayloadNotSerialisable', 'payload', problem.detail);
    let text: string | undefined;
    try {
      text = JSON.stringify(payload);
    } catch (error) {
      // A toJSON() that throws, or a cycle through toJSON results.
      throw fail('PayloadNotSerialisable', 'payload', `payload could not be serialised: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (text === undefined) throw fail('PayloadNotSerialisable', 'payload', 'payload serialises to nothing (its toJSON returned undefined)');
    body = text;
  }
  if (body.length > maxLength.obx_payload) {
    throw fail('PayloadTooLarge', 'payload', `payload is ${body.length} characters once serialised; obx_payload holds at most ${maxLength.obx_payload}`);
  }
  if (json) {
    // The publisher's own check (a toJSON result, too, may nest deeper than the value looked).
    const problem = checkJson(body, MAX_JSON_DEPTH);
    if (problem && problem.kind === 'depth') throw fail('PayloadTooDeep', 'payload', `payload is nested deeper than ${MAX_JSON_DEPTH} levels (line ${problem.line}, column ${problem.column})`);
    if (problem) throw fail('InvalidPayload', 'payload', `payload is not valid JSON for content type ${contentType}: ${problem.detail} at line ${problem.line}, column ${problem.column}`);
  }
  return body;
}
