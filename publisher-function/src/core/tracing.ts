// The publisher's send span: a child of the row's trace context (obx_tracecontext, written by the producer's writer), so
// the message continues the commit's trace. Its context goes into the message's Diagnostic-Id and traceparent
// properties (mapping.ts), the way @azure/service-bus instruments a message, which then leaves them as they are.
//
// Only @opentelemetry/api: with an SDK registered (Application Insights via @azure/monitor-opentelemetry, or a test's
// provider) the span is recorded; without one the API's span is a no-op that repeats the parent's span id, so a new span
// id is made here instead and the message still names a span of its own. A row without a context starts a new trace, and
// so does every change the change-tracking source sends (it has no producer context to continue).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { formatTraceParent, newTraceParent, parseTraceParent, type TraceParent } from '@dataverse-outbox/contract';
import { wireMessageId } from './mapping';
import type { OutboxRow } from './row';

/** The tracer name the publisher's spans are recorded under. */
export const PUBLISHER_TRACER = '@dataverse-outbox/publisher';

/** Span attribute: how many times an operator replayed the row (present only on a replay's send). */
export const REPLAY_ATTRIBUTE = 'outbox.replay';

export interface SendSpan {
  /** The send span's traceparent: what the message carries. */
  readonly traceParent: string;
  /** Ends the span with the send's outcome. Idempotent. */
  end(outcome: { ok: boolean; code?: string }): void;
}

/** One message's send span: what startMessageSpan needs besides the tracer. */
export interface MessageSpanOptions {
  /** The queue or topic: the span is named `send <target>`. */
  readonly target: string;
  /** The Service Bus messageId (messaging.message.id). */
  readonly messageId: string;
  /** The parent's traceparent; none (or an invalid one) starts a new trace, whatever context is active. */
  readonly parent?: string;
  /** The source's own attributes, added to the messaging ones. */
  readonly attributes?: Attributes;
}

/**
 * Starts a PRODUCER span for one message. Every source's send goes through here (outbox rows: startSendSpan; change
 * tracking: changetracking/core/tracing.ts), so the rule "the message names a span of its own, recorded or not" is one.
 */
export function startMessageSpan(options: MessageSpanOptions): SendSpan {
  const parent = parseTraceParent(options.parent);
  // Never the active context: a message's parent is what the source says (the row's context), or nothing.
  const parentContext = parent
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true })
    : ROOT_CONTEXT;
  const attributes: Attributes = {
    'messaging.system': 'servicebus',
    'messaging.operation.type': 'send',
    'messaging.destination.name': options.target,
    'messaging.message.id': options.messageId,
    ...options.attributes,
  };
  const span = trace.getTracer(PUBLISHER_TRACER).startSpan(`send ${options.target}`, { kind: SpanKind.PRODUCER, attributes }, parentContext);
  const own = span.spanContext();
  // Without an SDK the API's span is invalid (no parent) or repeats the parent's span id: make a context of our own.
  const recorded = trace.isSpanContextValid(own) && own.spanId !== parent?.spanId;
  const context: TraceParent = recorded ? { traceId: own.traceId, spanId: own.spanId, flags: own.traceFlags } : newTraceParent(parent);
  let ended = false;
  return {
    traceParent: formatTraceParent(context),
    end(outcome) {
      if (ended) return;
      ended = true;
      if (!outcome.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.code });
      span.end();
    },
  };
}

/** An outbox row's send span: a child of the row's trace context (obx_tracecontext), a new trace without one. */
export function startSendSpan(row: Pick<OutboxRow, 'id' | 'messageId' | 'target' | 'replayCount' | 'traceContext'>): SendSpan {
  const attributes: Attributes = { 'outbox.row_id': row.id };
  if (row.replayCount > 0) attributes[REPLAY_ATTRIBUTE] = row.replayCount;
  // The id the message carries (a replay's `#r<n>` included), as messaging.message.id names the message on the wire.
  return startMessageSpan({ target: row.target, messageId: wireMessageId({ messageId: row.messageId || row.id, replayCount: row.replayCount }), parent: row.traceContext, attributes });
}
