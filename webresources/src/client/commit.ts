// commitWithOutbox: the business change(s) and the outbox row(s) go to Dataverse in ONE change set, so they commit
// together or not at all (spec invariant 2). Everything that can be checked locally is checked before anything is sent.
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { entityNameProblem, normaliseEntityName } from '@dataverse-outbox/contract';
import { newGuid, normaliseGuid } from '../shared/guid';
import { OutboxCommitError } from './errors';
import { findJsonProblem } from './json-safety';
import { CreateRequest, DeleteRequest, UpdateRequest, type CrudRequest, type ExecuteMultipleApi, type JsonRecord } from './requests';

const col = OutboxMessage.columns;
const maxLength = OutboxMessage.maxLength;

/** Dataverse accepts at most 1,000 requests in one $batch / executeMultiple call. */
export const MaxRequestsPerChangeSet = 1000;
export const DefaultContentType = 'application/json';

export type BusinessChange =
  | {
      operation: 'create';
      /** Table logical name, e.g. "opportunity". */
      entityLogicalName: string;
      /** Id of the new row; generated when omitted so the outbox row can name it (change sets cannot reference a new id). */
      id?: string;
      /** Primary key column; defaults to `<entityLogicalName>id`. */
      primaryIdAttribute?: string;
      data: JsonRecord;
    }
  | { operation: 'update'; entityLogicalName: string; id: string; data: JsonRecord }
  | { operation: 'delete'; entityLogicalName: string; id: string };

export interface OutboxMessageInput {
  /** Queue or topic name; must be in the obx_AllowedTargets setting for the publisher to send it. */
  target: string;
  /** Service Bus subject, e.g. "SalesOrderWon". */
  eventType?: string;
  /** Message body: any JSON value (serialised here), or a string sent as-is. */
  payload: unknown;
  /** Default application/json. A string payload with a JSON content type must be valid JSON. */
  contentType?: string;
  /** Idempotency key (alternate key). Defaults to the new outbox row's id. */
  messageId?: string;
  correlationId?: string;
  /** Ordering key sent as sessionId; omit or null for no ordering. */
  sessionKey?: string | null;
  /** Business row that caused the message. Defaults to the first business change. */
  sourceEntity?: string;
  sourceId?: string;
  /** Readable label; defaults to "<eventType> <sourceEntity>:<sourceId>". */
  name?: string;
  /** Not sent after this moment. */
  expiresOn?: Date | string;
}

export interface CommitOptions {
  /** The executeMultiple implementation; defaults to Xrm.WebApi.online. */
  webApi?: ExecuteMultipleApi;
  /** When given, targets outside this list are rejected locally (the publisher enforces obx_AllowedTargets anyway). */
  allowedTargets?: readonly string[];
}

export interface CommitResult {
  /** Id of each business row, in the order of `changes` (generated ids for creates). */
  businessIds: string[];
  /** Id of each outbox row, in the order of `messages`. */
  outboxRowIds: string[];
  messageIds: string[];
  /** The raw responses of executeMultiple. */
  responses: unknown;
}

interface PlannedRequest {
  request: CrudRequest;
  operation: 'Create' | 'Update' | 'Delete';
  entity: string;
  label: string;
}

const LOGICAL_NAME = /^[a-z][a-z0-9_]{0,63}$/;
function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function invalidChange(index: number, entity: string | undefined, operation: string | undefined, why: string): OutboxCommitError {
  return new OutboxCommitError('InvalidChange', `Change ${index + 1} (${operation ?? '?'} ${entity ?? '?'}): ${why}`, {
    requestIndex: index,
    entity,
    operation,
  });
}

function operationName(op: string): 'Create' | 'Update' | 'Delete' | undefined {
  return op === 'create' ? 'Create' : op === 'update' ? 'Update' : op === 'delete' ? 'Delete' : undefined;
}

function isPlainObject(value: unknown): value is JsonRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === Object.prototype || proto === null;
}

function planChange(change: BusinessChange, index: number): { planned: PlannedRequest; id: string } {
  if (!isPlainObject(change)) throw invalidChange(index, undefined, undefined, 'a change must be an object');
  const op = operationName(String((change as { operation?: unknown }).operation));
  const entity = (change as { entityLogicalName?: unknown }).entityLogicalName;
  if (!op) throw invalidChange(index, typeof entity === 'string' ? entity : undefined, undefined, `operation must be 'create', 'update' or 'delete', not ${JSON.stringify((change as { operation?: unknown }).operation)}`);
  if (typeof entity !== 'string' || !LOGICAL_NAME.test(entity)) {
    throw invalidChange(index, undefined, op, `entityLogicalName must be a table logical name such as "account", not ${JSON.stringify(entity)}`);
  }
  if (entity === OutboxMessage.logicalName) {
    throw invalidChange(index, entity, op, 'outbox rows are written from the messages argument, not as business changes');
  }
  let id: string | undefined;
  if (change.operation === 'create') {
    id = change.id === undefined ? newGuid() : normaliseGuid(change.id);
    if (!id) throw invalidChange(index, entity, op, `id must be a GUID, not ${JSON.stringify(change.id)}`);
  } else {
    id = normaliseGuid(change.id);
    if (!id) throw invalidChange(index, entity, op, `id must be the GUID of an existing row, not ${JSON.stringify(change.id)}`);
  }
  if (change.operation === 'delete') {
    return { planned: { request: new DeleteRequest(entity, id), operation: op, entity, label: `${op} ${entity}(${id})` }, id };
  }
  if (!isPlainObject(change.data)) throw invalidChange(index, entity, op, 'data must be a plain object of column values');
  const problem = findJsonProblem(change.data, 'data');
  if (problem) throw invalidChange(index, entity, op, problem);
  if (change.operation === 'update') {
    if (Object.keys(change.data).length === 0) throw invalidChange(index, entity, op, 'data has no columns to update');
    return { planned: { request: new UpdateRequest(entity, id, { ...change.data }), operation: op, entity, label: `${op} ${entity}(${id})` }, id };
  }
  const primaryId = change.primaryIdAttribute ?? `${entity}id`;
  if (!LOGICAL_NAME.test(primaryId)) throw invalidChange(index, entity, op, `primaryIdAttribute ${JSON.stringify(primaryId)} is not a column logical name`);
  const given = change.data[primaryId];
  if (given !== undefined && normaliseGuid(given) !== id) {
    throw invalidChange(index, entity, op, `data.${primaryId} (${JSON.stringify(given)}) differs from the change's id ${id}`);
  }
  return { planned: { request: new CreateRequest(entity, { ...change.data, [primaryId]: id }), operation: op, entity, label: `${op} ${entity}(${id})` }, id };
}

function messageError(
  code: 'InvalidMessage' | 'InvalidTarget' | 'InvalidPayload' | 'PayloadNotSerialisable' | 'PayloadTooLarge' | 'FieldTooLong' | 'DuplicateMessageId',
  requestIndex: number,
  messageIndex: number,
  why: string,
): OutboxCommitError {
  return new OutboxCommitError(code, `Outbox message ${messageIndex + 1} (request ${requestIndex + 1}, Create ${OutboxMessage.logicalName}): ${why}`, {
    requestIndex,
    entity: OutboxMessage.logicalName,
    operation: 'Create',
  });
}

function optionalText(
  value: unknown,
  column: keyof typeof maxLength,
  label: string,
  fail: (code: 'InvalidMessage' | 'FieldTooLong', why: string) => OutboxCommitError,
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw fail('InvalidMessage', `${label} must be a string, not ${typeof value}`);
  const text = value.trim();
  if (text.length === 0) return undefined;
  if (text.length > maxLength[column]) throw fail('FieldTooLong', `${label} is ${text.length} characters; ${column} holds at most ${maxLength[column]}`);
  return text;
}

function serialisePayload(
  payload: unknown,
  contentType: string,
  fail: (code: 'InvalidPayload' | 'PayloadNotSerialisable', why: string) => OutboxCommitError,
): string {
  const isJson = /(^|\/|\+)json(\s*;|$)/i.test(contentType);
  if (typeof payload === 'string') {
    if (isJson) {
      try {
        JSON.parse(payload);
      } catch (error) {
        throw fail('InvalidPayload', `payload is a string but not valid JSON for content type ${contentType} (${(error as Error).message})`);
      }
    }
    return payload;
  }
  if (!isJson) throw fail('InvalidPayload', `content type ${contentType} needs the payload as a string`);
  const problem = findJsonProblem(payload, 'payload');
  if (problem) throw fail('PayloadNotSerialisable', problem);
  try {
    return JSON.stringify(payload);
  } catch (error) {
    // A toJSON() that throws, or a cycle through toJSON results.
    throw fail('PayloadNotSerialisable', `payload could not be serialised: ${(error as Error).message}`);
  }
}

function planMessage(
  message: OutboxMessageInput,
  messageIndex: number,
  requestIndex: number,
  defaultSource: { entity: string; id: string } | undefined,
  options: CommitOptions,
): { planned: PlannedRequest; rowId: string; messageId: string } {
  const fail = <C extends Parameters<typeof messageError>[0]>(code: C, why: string) => messageError(code, requestIndex, messageIndex, why);
  if (!isPlainObject(message)) throw fail('InvalidMessage', 'a message must be an object');

  const target = message.target;
  if (typeof target !== 'string' || target.trim().length === 0) throw fail('InvalidTarget', 'target (queue or topic name) is required');
  // The one normalised form (trimmed, lower-cased), checked the way the publisher checks and sends it.
  const targetProblem = entityNameProblem(target);
  if (targetProblem) throw fail('InvalidTarget', `target: ${targetProblem}`);
  const trimmedTarget = normaliseEntityName(target)!;
  if (options.allowedTargets && !options.allowedTargets.some((t) => normaliseEntityName(t) === trimmedTarget)) {
    throw fail('InvalidTarget', `target ${JSON.stringify(trimmedTarget)} is not one of the allowed targets (${options.allowedTargets.join(', ') || 'none'})`);
  }

  const textFail = (code: 'InvalidMessage' | 'FieldTooLong', why: string) => fail(code, why);
  const contentType = optionalText(message.contentType, 'obx_contenttype', 'contentType', textFail) ?? DefaultContentType;
  const eventType = optionalText(message.eventType, 'obx_eventtype', 'eventType', textFail);
  const correlationId = optionalText(message.correlationId, 'obx_correlationid', 'correlationId', textFail);
  const sessionKey = optionalText(message.sessionKey, 'obx_sessionkey', 'sessionKey', textFail);
  const explicitMessageId = optionalText(message.messageId, 'obx_messageid', 'messageId', textFail);
  if (explicitMessageId && hasControlCharacters(explicitMessageId)) throw fail('InvalidMessage', 'messageId contains control characters');

  const sourceEntity = optionalText(message.sourceEntity, 'obx_sourceentity', 'sourceEntity', textFail) ?? (message.sourceId === undefined ? defaultSource?.entity : undefined);
  let sourceId: string | undefined;
  if (message.sourceId !== undefined && message.sourceId !== null && message.sourceId !== '') {
    sourceId = normaliseGuid(message.sourceId);
    if (!sourceId) throw fail('InvalidMessage', `sourceId must be a GUID, not ${JSON.stringify(message.sourceId)}`);
  } else if (message.sourceEntity === undefined) {
    sourceId = defaultSource?.id;
  }
  if (sourceEntity !== undefined && !LOGICAL_NAME.test(sourceEntity)) throw fail('InvalidMessage', `sourceEntity ${JSON.stringify(sourceEntity)} is not a table logical name`);

  let expiresOn: string | undefined;
  if (message.expiresOn !== undefined && message.expiresOn !== null) {
    const date = message.expiresOn instanceof Date ? message.expiresOn : typeof message.expiresOn === 'string' ? new Date(message.expiresOn) : undefined;
    if (!date || Number.isNaN(date.getTime())) throw fail('InvalidMessage', `expiresOn must be a Date or an ISO 8601 string, not ${JSON.stringify(message.expiresOn)}`);
    expiresOn = date.toISOString();
  }

  if (!('payload' in message) || message.payload === undefined) throw fail('InvalidPayload', 'payload is required (use null for an empty JSON body)');
  const body = serialisePayload(message.payload, contentType, (code, why) => fail(code, why));
  if (body.length > maxLength.obx_payload) {
    throw fail('PayloadTooLarge', `payload is ${body.length} characters once serialised; obx_payload holds at most ${maxLength.obx_payload}`);
  }

  const rowId = newGuid();
  const messageId = explicitMessageId ?? rowId;
  let name = optionalText(message.name, 'obx_name', 'name', textFail);
  if (name === undefined) {
    const label = `${eventType ?? 'OutboxMessage'}${sourceEntity ? ` ${sourceEntity}:${sourceId ?? ''}` : ''}`;
    name = label.length > maxLength.obx_name ? label.slice(0, maxLength.obx_name) : label;
  }

  const row: JsonRecord = {
    [col.id]: rowId,
    [col.name]: name,
    [col.messageId]: messageId,
    [col.target]: trimmedTarget,
    [col.payload]: body,
    [col.contentType]: contentType,
    [col.status]: OutboxStatus.Pending,
  };
  if (eventType !== undefined) row[col.eventType] = eventType;
  if (correlationId !== undefined) row[col.correlationId] = correlationId;
  if (sessionKey !== undefined) row[col.sessionKey] = sessionKey;
  if (sourceEntity !== undefined) row[col.sourceEntity] = sourceEntity;
  if (sourceId !== undefined) row[col.sourceId] = sourceId;
  if (expiresOn !== undefined) row[col.expiresOn] = expiresOn;

  return {
    planned: {
      request: new CreateRequest(OutboxMessage.logicalName, row),
      operation: 'Create',
      entity: OutboxMessage.logicalName,
      label: `Create ${OutboxMessage.logicalName} (outbox message ${messageIndex + 1}, messageId ${messageId})`,
    },
    rowId,
    messageId,
  };
}

export interface CommitPlan {
  /** The single change set: business requests first, then one outbox row create per message. */
  changeSet: CrudRequest[];
  labels: string[];
  businessIds: string[];
  outboxRowIds: string[];
  messageIds: string[];
}

/** Validates everything and builds the change set without sending it. Throws OutboxCommitError on bad input. */
export function planCommit(
  changes: BusinessChange | readonly BusinessChange[],
  messages: OutboxMessageInput | readonly OutboxMessageInput[],
  options: CommitOptions = {},
): CommitPlan {
  const changeList: readonly BusinessChange[] = Array.isArray(changes) ? changes : changes === undefined || changes === null ? [] : [changes as BusinessChange];
  const messageList: readonly OutboxMessageInput[] = Array.isArray(messages) ? messages : messages === undefined || messages === null ? [] : [messages as OutboxMessageInput];
  if (changeList.length === 0) {
    throw new OutboxCommitError('NoChanges', 'commitWithOutbox needs at least one business change (create, update or delete) to commit with the outbox row.');
  }
  if (messageList.length === 0) throw new OutboxCommitError('NoMessages', 'commitWithOutbox needs at least one outbox message.');
  const total = changeList.length + messageList.length;
  if (total > MaxRequestsPerChangeSet) {
    throw new OutboxCommitError('TooManyRequests', `${total} requests (${changeList.length} changes + ${messageList.length} messages) exceed the ${MaxRequestsPerChangeSet} allowed in one change set.`);
  }

  const planned: PlannedRequest[] = [];
  const businessIds: string[] = [];
  changeList.forEach((change, index) => {
    const { planned: request, id } = planChange(change, index);
    planned.push(request);
    businessIds.push(id);
  });
  const first = changeList[0];
  const defaultSource = { entity: first.entityLogicalName, id: businessIds[0] };

  const outboxRowIds: string[] = [];
  const messageIds: string[] = [];
  messageList.forEach((message, messageIndex) => {
    const requestIndex = planned.length;
    const { planned: request, rowId, messageId } = planMessage(message, messageIndex, requestIndex, defaultSource, options);
    if (messageIds.indexOf(messageId) >= 0) {
      throw messageError('DuplicateMessageId', requestIndex, messageIndex, `messageId ${JSON.stringify(messageId)} is used by another message of this commit`);
    }
    planned.push(request);
    outboxRowIds.push(rowId);
    messageIds.push(messageId);
  });

  return {
    changeSet: planned.map((p) => p.request),
    labels: planned.map((p) => p.label),
    businessIds,
    outboxRowIds,
    messageIds,
  };
}

function defaultWebApi(): ExecuteMultipleApi {
  const xrm = typeof Xrm !== 'undefined' ? Xrm : undefined;
  const online = xrm && xrm.WebApi ? (xrm.WebApi.online as unknown as Partial<ExecuteMultipleApi> | undefined) : undefined;
  if (!online || typeof online.executeMultiple !== 'function') {
    throw new OutboxCommitError('WebApiUnavailable', 'Xrm.WebApi.online.executeMultiple is not available here (offline or outside a model-driven app); nothing was sent.');
  }
  return online as ExecuteMultipleApi;
}

/** Reads the failing request's position from what executeMultiple rejected with (adapters add `requestIndex`). */
function failingIndex(error: unknown, count: number): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { requestIndex?: unknown; contentId?: unknown };
  const candidate = typeof e.requestIndex === 'number' ? e.requestIndex : typeof e.contentId === 'string' || typeof e.contentId === 'number' ? Number(e.contentId) - 1 : undefined;
  return candidate !== undefined && Number.isInteger(candidate) && candidate >= 0 && candidate < count ? candidate : undefined;
}

/**
 * Commits the business change(s) and the outbox row(s) in one change set. Resolves with the ids written;
 * rejects with OutboxCommitError: validation codes before anything is sent, 'CommitFailed' when Dataverse rolled the
 * change set back (nothing of it was written).
 */
export async function commitWithOutbox(
  changes: BusinessChange | readonly BusinessChange[],
  messages: OutboxMessageInput | readonly OutboxMessageInput[],
  options: CommitOptions = {},
): Promise<CommitResult> {
  const plan = planCommit(changes, messages, options);
  const webApi = options.webApi ?? defaultWebApi();
  let responses: unknown;
  try {
    responses = await webApi.executeMultiple([plan.changeSet]);
  } catch (error) {
    const e = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; errorCode?: unknown };
    const index = failingIndex(error, plan.changeSet.length);
    const serverMessage = typeof e.message === 'string' ? e.message : String(error);
    const which = index === undefined ? 'the server did not say which request failed' : `request ${index + 1} of ${plan.changeSet.length} (${plan.labels[index]}) failed`;
    const request = index === undefined ? undefined : plan.changeSet[index];
    throw new OutboxCommitError('CommitFailed', `The change set was rolled back, nothing was written: ${which}: ${serverMessage}`, {
      requestIndex: index,
      entity: request ? (request instanceof DeleteRequest ? request.entityReference.entityType : request.etn) : undefined,
      operation: request ? request.getMetadata().operationName : undefined,
      serverErrorCode: typeof e.errorCode === 'number' ? e.errorCode : undefined,
      sent: true,
      cause: error,
    });
  }
  return { businessIds: plan.businessIds, outboxRowIds: plan.outboxRowIds, messageIds: plan.messageIds, responses };
}
