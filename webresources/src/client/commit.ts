// commitWithOutbox: the business change(s) and the outbox row(s) go to Dataverse in ONE change set, so they commit
// together or not at all (spec invariant 2). Everything that can be checked locally is checked before anything is sent.
// The outbox rows are built and checked by the contract's one row builder (OutboxRowError for a bad message, the same
// rules and codes as the Node writer); this module checks the business changes (OutboxCommitError) and sends.
import {
  DEFAULT_CONTENT_TYPE,
  findJsonProblem,
  formatTraceParent,
  isTableLogicalName,
  newTraceParent,
  OutboxMessage,
  OutboxRowBuilder,
  webCryptoRandomBytes,
  type OutboxRowInput,
} from '@dataverse-outbox/contract';
import { newGuid, normaliseGuid } from '../shared/guid';
import { OutboxCommitError } from './errors';
import { CreateRequest, DeleteRequest, UpdateRequest, type CrudRequest, type ExecuteMultipleApi, type JsonRecord } from './requests';

/** Dataverse accepts at most 1,000 requests in one $batch / executeMultiple call. */
export const MaxRequestsPerChangeSet = 1000;
export const DefaultContentType = DEFAULT_CONTENT_TYPE;

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

/** One outbox message: the contract's OutboxRowInput (the Node writer takes the same). */
export type OutboxMessageInput = OutboxRowInput;

export interface CommitOptions {
  /** The executeMultiple implementation; defaults to Xrm.WebApi.online. */
  webApi?: ExecuteMultipleApi;
  /** When given, targets outside this list are rejected locally (the publisher enforces obx_AllowedTargets anyway). */
  allowedTargets?: readonly string[];
  /**
   * The caller's W3C trace context (a traceparent, e.g. from its own telemetry), stored in obx_tracecontext of every
   * message that gives none; a hostile value is refused like a message's own (OutboxRowError InvalidField). Default: a
   * new trace per commit (random ids from Web Crypto), so the publisher's send and the consumer continue one trace.
   */
  traceParent?: string;
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
  if (typeof entity !== 'string' || !isTableLogicalName(entity)) {
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
  if (!isTableLogicalName(primaryId)) throw invalidChange(index, entity, op, `primaryIdAttribute ${JSON.stringify(primaryId)} is not a column logical name`);
  const given = change.data[primaryId];
  if (given !== undefined && normaliseGuid(given) !== id) {
    throw invalidChange(index, entity, op, `data.${primaryId} (${JSON.stringify(given)}) differs from the change's id ${id}`);
  }
  return { planned: { request: new CreateRequest(entity, { ...change.data, [primaryId]: id }), operation: op, entity, label: `${op} ${entity}(${id})` }, id };
}

export interface CommitPlan {
  /** The single change set: business requests first, then one outbox row create per message. */
  changeSet: CrudRequest[];
  labels: string[];
  businessIds: string[];
  outboxRowIds: string[];
  messageIds: string[];
}

/**
 * Validates everything and builds the change set without sending it. Throws OutboxRowError (the contract's) for a bad
 * message and OutboxCommitError for bad business changes or counts.
 */
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
  // Throws OutboxRowError (the contract's) for a bad message, DuplicateMessageId included.
  const rows = new OutboxRowBuilder({ newId: newGuid, allowedTargets: options.allowedTargets, defaultSource });
  // One trace context per commit: every message of it names the same commit unless it brings its own.
  let commitTrace = options.traceParent;
  const traceOf = (): string => (commitTrace = commitTrace || formatTraceParent(newTraceParent(undefined, webCryptoRandomBytes)));
  messageList.forEach((message, messageIndex) => {
    // A non-object is left for the row builder to refuse.
    const isObject = typeof message === 'object' && message !== null && !Array.isArray(message);
    const needsTrace = isObject && (message.traceParent === undefined || message.traceParent === null || message.traceParent === '');
    const row = rows.add(needsTrace ? { ...message, traceParent: traceOf() } : message);
    planned.push({
      request: new CreateRequest(OutboxMessage.logicalName, row.record),
      operation: 'Create',
      entity: OutboxMessage.logicalName,
      label: `Create ${OutboxMessage.logicalName} (outbox message ${messageIndex + 1}, messageId ${row.messageId})`,
    });
    outboxRowIds.push(row.rowId);
    messageIds.push(row.messageId);
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
 * rejects before anything is sent with OutboxRowError (a bad message) or OutboxCommitError (bad changes, no Web API),
 * and after with OutboxCommitError 'CommitFailed' when Dataverse rolled the
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
