// The span of one acknowledgement's write to Dataverse: the last leg of a row's trace. It is a child of the consumer's
// processing span (the ack's traceParent), so producer, send, handling and ack-applied share one trace; with an ack from
// a consumer that sends no context, it is a child of the row's own context (obx_tracecontext) instead. When both exist
// and differ in trace (a consumer that started its own trace), the row's context is added as a link.
//
// The span starts when the batch's work started (its read and write are shared by every ack of the batch) and is only
// created once the row is read, because the parent may be the row's. Without an OpenTelemetry SDK every call is a no-op.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import { parseTraceParent, type Acknowledgement } from '@dataverse-outbox/contract';
import { PUBLISHER_TRACER } from './tracing';

/** Span attribute: what applying the acknowledgement did (applied, recorded-early, ignored, not-found, retry, rejected). */
export const ACK_RESULT_ATTRIBUTE = 'outbox.ack.result';

function remoteContext(traceParent: string | undefined): SpanContext | undefined {
  const parsed = parseTraceParent(traceParent);
  return parsed && { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.flags, isRemote: true };
}

export interface AckSpans {
  /** Called when the ack's row has been read: creates the ack's span (once) under the right parent. */
  rowRead(outboxId: string, rowTraceContext: string | undefined): void;
  /** Ends every span with its id's result; acks whose row was never read get a span under the ack's own context. */
  end(results: ReadonlyMap<string, { result: string; reason?: string }>): void;
}

export function startAckSpans(acks: ReadonlyMap<string, Pick<Acknowledgement, 'messageId' | 'outcome' | 'traceParent'>>): AckSpans {
  const startTime = new Date();
  const spans = new Map<string, Span>();
  const tracer = trace.getTracer(PUBLISHER_TRACER);
  const open = (outboxId: string, rowTraceContext: string | undefined): Span => {
    const ack = acks.get(outboxId);
    const fromAck = remoteContext(ack?.traceParent);
    const fromRow = remoteContext(rowTraceContext);
    const parent = fromAck ?? fromRow;
    const links: Link[] = fromAck && fromRow && fromRow.traceId !== fromAck.traceId ? [{ context: fromRow }] : [];
    return tracer.startSpan(
      'apply acknowledgement',
      {
        kind: SpanKind.CONSUMER,
        startTime,
        links,
        attributes: {
          'messaging.system': 'servicebus',
          'messaging.operation.type': 'process',
          'outbox.row_id': outboxId,
          ...(ack ? { 'messaging.message.id': ack.messageId, 'outbox.ack.outcome': ack.outcome } : {}),
        },
      },
      parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
    );
  };
  return {
    rowRead(outboxId, rowTraceContext) {
      if (!spans.has(outboxId) && acks.has(outboxId)) spans.set(outboxId, open(outboxId, rowTraceContext));
    },
    end(results) {
      for (const outboxId of acks.keys()) {
        const span = spans.get(outboxId) ?? open(outboxId, undefined);
        const outcome = results.get(outboxId);
        span.setAttribute(ACK_RESULT_ATTRIBUTE, outcome?.result ?? 'retry');
        if (outcome?.result === 'rejected' || outcome?.result === 'retry') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason ?? outcome.result });
        span.end();
      }
    },
  };
}
