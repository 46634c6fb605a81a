// The producers' writer: the business change and its outbox row(s) commit in ONE $batch change set (invariant 2).
// Rows are built and checked by the contract's one row builder (OutboxRowError for a bad message, the same rules and
// codes as the web resource writer). With a caller-given messageId the outbox row is an upsert on the obx_messageid
// alternate key, so retrying the whole transaction never creates a second row (why: contract/src/outboxRow.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  buildOutboxRow,
  formatTraceParent,
  newTraceParent,
  OutboxMessage,
  OutboxRowBuilder,
  outboxRowUpsert,
  parseTraceParent,
  type OutboxRow,
  type OutboxRowInput,
} from '@dataverse-outbox/contract';
import { type BatchRequest, type BatchResponse, alternateKey, type DataverseClient, type DataverseOperationOptions, type EntityRecord } from '@dataverse-outbox/web-api';

/** One outbox message: the contract's OutboxRowInput (commitWithOutbox in the web resources takes the same). */
export type EnqueueInput = OutboxRowInput;

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

/** The change-set request that writes a built row: an upsert on obx_messageid when the producer gave one, else a create. */
function rowRequest(row: OutboxRow): { messageId: string; request: BatchRequest } {
  if (row.messageIdGiven) {
    const upsert = outboxRowUpsert(row);
    return { messageId: row.messageId, request: { method: 'PATCH', url: `${OutboxMessage.entitySetName}(${alternateKey(upsert.keyColumn, upsert.key)})`, body: upsert.record } };
  }
  return { messageId: row.messageId, request: { method: 'POST', url: OutboxMessage.entitySetName, body: row.record } };
}

/**
 * Builds the outbox row's request for a change set. Exported for tools that write outbox rows their own way.
 * Throws OutboxRowError for a bad message.
 */
export function outboxRowRequest(m: EnqueueInput): { messageId: string; request: BatchRequest } {
  return rowRequest(buildOutboxRow(m, { newId: randomUUID }));
}

export interface OutboxWriterOptions {
  /**
   * When given, a message to another target is refused before sending (OutboxRowError TargetNotAllowed), as
   * commitWithOutbox's option does; the publisher enforces obx_AllowedTargets anyway (the row would end Failed).
   */
  allowedTargets?: readonly string[];
  /**
   * The commit's W3C trace context (a traceparent), asked once per transaction for the messages that give no
   * traceParent: every row of the commit then names the same span. Default: the writer's own `outbox transaction` span
   * (@opentelemetry/api), a child of the active OpenTelemetry span; with no SDK registered, the active span's context
   * itself; with neither, a new trace per transaction. Give this to take the context from elsewhere (another tracing
   * library, a context received with a request); when it returns nothing valid the transaction starts a new trace.
   */
  traceParent?: () => string | undefined;
}

/** The tracer the writer's spans are recorded under. */
export const PRODUCER_TRACER = '@dataverse-outbox/producer';

/** A valid span context as a traceparent, else undefined (the API without an SDK and without an active span). */
function traceParentOf(span: Span | undefined): string | undefined {
  const c = span?.spanContext();
  return c && trace.isSpanContextValid(c) ? formatTraceParent({ traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags }) : undefined;
}

/** The commit's trace context: the given one, else the writer's span's, else a new trace (random ids, node:crypto). */
function commitTraceParent(given: string | undefined): string {
  if (given !== undefined && parseTraceParent(given) !== undefined) return given;
  return formatTraceParent(newTraceParent(undefined, (n) => randomBytes(n)));
}

/** The message with the commit's trace context when it gives none (a non-object is left for the row builder to refuse). */
function withTraceParent(message: EnqueueInput, commit: () => string): EnqueueInput {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return message;
  if (message.traceParent !== undefined && message.traceParent !== null && message.traceParent !== '') return message;
  return { ...message, traceParent: commit() };
}

export class OutboxWriter {
  constructor(
    private readonly client: DataverseClient,
    private readonly options: OutboxWriterOptions = {},
  ) {}

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
    // One builder per transaction: it also refuses a messageId enqueued twice (DuplicateMessageId).
    const rows = new OutboxRowBuilder({ newId: randomUUID, allowedTargets: this.options.allowedTargets });
    // The writer's span, started with the first message (a transaction without messages records nothing): a child of the
    // caller's active span, so the commit shows in the caller's trace and every row of it names this span.
    let span: Span | undefined;
    let traceParent: string | undefined;
    const commitContext = (): string => {
      if (traceParent !== undefined) return traceParent;
      if (this.options.traceParent) return (traceParent = commitTraceParent(this.options.traceParent()));
      span = trace.getTracer(PRODUCER_TRACER).startSpan('outbox transaction', { kind: SpanKind.PRODUCER, attributes: { 'messaging.operation.type': 'create' } });
      return (traceParent = commitTraceParent(traceParentOf(span)));
    };
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
        const { messageId, request } = rowRequest(rows.add(withTraceParent(message, commitContext)));
        requests.push(request);
        messageIds.push(messageId);
        return messageId;
      },
    };
    let responses: Awaited<ReturnType<DataverseClient['executeChangeSet']>>;
    try {
      await work(tx);
      open = false;
      if (requests.length === 0) return { messageIds, createdIds: [], responses: [] };
      if (requests.length > 1000) throw new RangeError(`A change set holds at most 1,000 requests; this one has ${requests.length}.`);
      span?.setAttribute('messaging.batch.message_count', messageIds.length);
      // Only PATCH/DELETE with conditions or alternate-key upserts: a resend after a lost reply is not idempotent in
      // general (creates), so the client retries it only on 429/503, where Dataverse did not process it.
      responses = await this.client.executeChangeSet(requests, options);
    } catch (error) {
      span?.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      throw error;
    } finally {
      open = false;
      span?.end();
    }
    const createdIds = createdAt.map((i) => {
      const r = responses[i];
      const entityId = r?.headers['odata-entityid'] ?? '';
      return /\(([0-9a-fA-F-]{36})\)/.exec(entityId)?.[1]?.toLowerCase() ?? '';
    });
    return { messageIds, createdIds, responses };
  }
}
