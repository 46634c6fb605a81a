// The consumer continues the message's trace: the inbox transaction and the handler run in a span that is a child of
// the message's context (the publisher's send span, OutboxEvent.traceParent), active while the handler runs, so the
// handler's own spans (database, HTTP) join the same trace. @opentelemetry/api only: without an SDK the span is a no-op.
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { formatTraceParent, parseTraceParent } from '@dataverse-outbox/contract';
import type { OutboxEvent } from '../outboxEvent';

/** The tracer name the consumer toolkit's spans are recorded under. */
export const CONSUMER_TRACER = '@dataverse-outbox/consumer';

/** Runs a function with the process span active (the batcher may run the handler from another message's call). */
export type WithinSpan = <R>(fn: () => Promise<R>) => Promise<R>;

/** Runs `work` in the event's process span: a child of the message's context, or of the caller's active one without it. */
export async function inProcessSpan<T>(event: OutboxEvent, work: (within: WithinSpan, traceParent: string | undefined) => Promise<T>): Promise<T> {
  const parent = parseTraceParent(event.traceParent);
  const parentContext = parent
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags, isRemote: true })
    : context.active();
  const attributes: Attributes = {
    'messaging.system': 'servicebus',
    'messaging.operation.type': 'process',
    'messaging.message.id': event.messageId,
    'outbox.message_id': event.outboxMessageId,
    'outbox.delivery_count': event.deliveryCount,
  };
  if (event.outboxId !== undefined) attributes['outbox.row_id'] = event.outboxId;
  const span = trace.getTracer(CONSUMER_TRACER).startSpan(`process ${event.eventType || 'outbox event'}`, { kind: SpanKind.CONSUMER, attributes }, parentContext);
  try {
    const active = trace.setSpan(parentContext, span);
    const within: WithinSpan = (fn) => context.with(active, fn);
    // The span's own context, which the acknowledgement carries back (none when nothing gives this message a trace).
    const own = span.spanContext();
    const traceParent = trace.isSpanContextValid(own) ? formatTraceParent({ traceId: own.traceId, spanId: own.spanId, flags: own.traceFlags }) : undefined;
    return await within(() => work(within, traceParent));
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
    throw error;
  } finally {
    span.end();
  }
}
