// The publisher's send span: a child of the row's trace context (obx_tracecontext, written by the producer's writer), so
// the message continues the commit's trace. Its context goes into the message's Diagnostic-Id and traceparent
// properties (mapping.ts), the way @azure/service-bus instruments a message, which then leaves them as they are.
//
// Only @opentelemetry/api: with an SDK registered (Application Insights via @azure/monitor-opentelemetry, or a test's
// provider) the span is recorded; without one the API's span is a no-op that repeats the parent's span id, so a new span
// id is made here instead and the message still names a span of its own. A row without a context starts a new trace.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { formatTraceParent, newTraceParent, parseTraceParent, type TraceParent } from '@dataverse-outbox/contract';
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

export function startSendSpan(row: Pick<OutboxRow, 'id' | 'messageId' | 'target' | 'replayCount' | 'traceContext'>): SendSpan {
  const parent = parseTraceParent(row.traceContext);
  const parentContext = parent
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true })
    : ROOT_CONTEXT;
  const attributes: Attributes = {
    'messaging.system': 'servicebus',
    'messaging.operation.type': 'send',
    'messaging.destination.name': row.target,
    'messaging.message.id': row.messageId || row.id,
    'outbox.row_id': row.id,
  };
  if (row.replayCount > 0) attributes[REPLAY_ATTRIBUTE] = row.replayCount;
  const span = trace.getTracer(PUBLISHER_TRACER).startSpan(`send ${row.target}`, { kind: SpanKind.PRODUCER, attributes }, parentContext);
  const own = span.spanContext();
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
