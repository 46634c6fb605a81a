// The producers' writer: the business change and its outbox row(s) commit in ONE $batch change set (invariant 2).
// With a caller-given messageId the outbox row is an upsert on the obx_messageid alternate key, so retrying the
// whole transaction never creates a second row.
import { randomUUID } from 'node:crypto';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { isJsonContentType } from './core/mapping';
import { type BatchRequest, type BatchResponse, alternateKey, type DataverseClient, type DataverseOperationOptions, type EntityRecord } from '@dataverse-outbox/web-api';

const C = OutboxMessage.columns;

export interface EnqueueInput {
  /** Queue or topic; must be in obx_AllowedTargets or the row ends Failed. */
  target: string;
  /** Service Bus subject. */
  eventType?: string;
  /** Object (serialised as JSON) or text. */
  payload: unknown;
  contentType?: string;
  /** Ordering key (Service Bus sessionId): rows with the same key are published in order. */
  sessionKey?: string;
  correlationId?: string;
  /** Idempotency key; a retried transaction with the same id updates the same row. Default: the row id. */
  messageId?: string;
  sourceEntity?: string;
  sourceId?: string;
  /** Readable label. Default "<eventType> <sourceEntity>:<sourceId>". */
  name?: string;
  /** Not sent after this. */
  expiresOn?: Date;
}

/** A reference to a row created earlier in the same change set (`$<Content-ID>`), usable in @odata.bind values. */
export interface CreatedRef {
  readonly ref: string;
}

export interface OutboxTransaction {
  create(entitySet: string, record: EntityRecord): CreatedRef;
  update(entitySet: string, key: string, changes: EntityRecord, options?: { ifMatch?: string }): void;
  delete(entitySet: string, key: string, options?: { ifMatch?: string }): void;
  /** Adds an outbox row; returns its messageId. */
  enqueue(message: EnqueueInput): string;
}

export interface TransactionResult {
  /** messageIds of the rows enqueued, in order. */
  messageIds: string[];
  /** Ids of rows created with tx.create, in order. */
  createdIds: string[];
  responses: BatchResponse[];
}

const limit = (name: string, value: string | undefined, max: number): void => {
  if (value !== undefined && value.length > max) throw new RangeError(`${name} is ${value.length} characters; the most is ${max}.`);
};

/** Builds the outbox row's request for a change set. Exported for tools that write outbox rows their own way. */
export function outboxRowRequest(m: EnqueueInput): { messageId: string; request: BatchRequest } {
  if (typeof m.target !== 'string' || m.target.trim() === '') throw new TypeError('enqueue: target is required.');
  if (m.payload === undefined) throw new TypeError('enqueue: payload is required.');
  const contentType = m.contentType ?? 'application/json';
  let payload: string;
  if (typeof m.payload === 'string' && !isJsonContentType(contentType)) payload = m.payload;
  else if (typeof m.payload === 'string') {
    JSON.parse(m.payload); // a JSON content type must carry JSON: fail the producer now rather than the row later
    payload = m.payload;
  } else payload = JSON.stringify(m.payload);
  limit('payload', payload, OutboxMessage.maxLength.obx_payload);
  limit('target', m.target, OutboxMessage.maxLength.obx_target);
  limit('eventType', m.eventType, OutboxMessage.maxLength.obx_eventtype);
  limit('sessionKey', m.sessionKey, OutboxMessage.maxLength.obx_sessionkey);
  limit('messageId', m.messageId, OutboxMessage.maxLength.obx_messageid);
  limit('correlationId', m.correlationId, OutboxMessage.maxLength.obx_correlationid);
  limit('sourceEntity', m.sourceEntity, OutboxMessage.maxLength.obx_sourceentity);
  limit('sourceId', m.sourceId, OutboxMessage.maxLength.obx_sourceid);
  const name = (m.name ?? [m.eventType ?? 'Outbox message', m.sourceEntity && m.sourceId ? `${m.sourceEntity}:${m.sourceId}` : ''].filter(Boolean).join(' ')).slice(0, OutboxMessage.maxLength.obx_name);
  const body: EntityRecord = {
    [C.name]: name,
    [C.target]: m.target.trim(),
    [C.payload]: payload,
    [C.contentType]: contentType,
  };
  if (m.eventType) body[C.eventType] = m.eventType;
  if (m.sessionKey) body[C.sessionKey] = m.sessionKey;
  if (m.correlationId) body[C.correlationId] = m.correlationId;
  if (m.sourceEntity) body[C.sourceEntity] = m.sourceEntity;
  if (m.sourceId) body[C.sourceId] = m.sourceId;
  if (m.expiresOn) body[C.expiresOn] = m.expiresOn.toISOString();
  if (m.messageId) {
    // Upsert on the alternate key: a retried transaction updates the same row. obx_status is never sent, so an
    // upsert cannot move a row that was already published back to Pending.
    return { messageId: m.messageId, request: { method: 'PATCH', url: `${OutboxMessage.entitySetName}(${alternateKey(C.messageId, m.messageId)})`, body } };
  }
  const id = randomUUID();
  return { messageId: id, request: { method: 'POST', url: OutboxMessage.entitySetName, body: { ...body, [C.id]: id, [C.messageId]: id } } };
}

export class OutboxWriter {
  constructor(private readonly client: DataverseClient) {}

  /**
   * Runs `work` to collect the changes, then commits them all in one change set: every change and every outbox row,
   * or nothing. Throws the DataverseError of the first failing request (nothing was written then).
   */
  async transaction(work: (tx: OutboxTransaction) => void | Promise<void>, options: DataverseOperationOptions = {}): Promise<TransactionResult> {
    const requests: BatchRequest[] = [];
    const messageIds: string[] = [];
    const createdAt: number[] = [];
    let open = true;
    const guard = (): void => {
      if (!open) throw new Error('The transaction has already been committed; start a new one.');
    };
    const keyed = new Set<string>();
    const tx: OutboxTransaction = {
      create(entitySet, record) {
        guard();
        requests.push({ method: 'POST', url: entitySet, body: record });
        createdAt.push(requests.length - 1);
        return { ref: `$${requests.length}` };
      },
      update(entitySet, key, changes, o = {}) {
        guard();
        requests.push({ method: 'PATCH', url: `${entitySet}(${key})`, body: changes, headers: { 'If-Match': o.ifMatch ?? '*' } });
      },
      delete(entitySet, key, o = {}) {
        guard();
        requests.push({ method: 'DELETE', url: `${entitySet}(${key})`, headers: o.ifMatch ? { 'If-Match': o.ifMatch } : undefined });
      },
      enqueue(message) {
        guard();
        const { messageId, request } = outboxRowRequest(message);
        if (keyed.has(messageId)) throw new RangeError(`messageId "${messageId}" is enqueued twice in one transaction.`);
        keyed.add(messageId);
        requests.push(request);
        messageIds.push(messageId);
        return messageId;
      },
    };
    await work(tx);
    open = false;
    if (requests.length === 0) return { messageIds, createdIds: [], responses: [] };
    if (requests.length > 1000) throw new RangeError(`A change set holds at most 1,000 requests; this one has ${requests.length}.`);
    // Only PATCH/DELETE with conditions or alternate-key upserts: a resend after a lost reply is not idempotent in
    // general (creates), so the client retries it only on 429/503, where Dataverse did not process it.
    const responses = await this.client.executeChangeSet(requests, options);
    const createdIds = createdAt.map((i) => {
      const r = responses[i];
      const entityId = r?.headers['odata-entityid'] ?? '';
      return /\(([0-9a-fA-F-]{36})\)/.exec(entityId)?.[1]?.toLowerCase() ?? '';
    });
    return { messageIds, createdIds, responses };
  }
}
