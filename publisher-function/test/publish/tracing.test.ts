// W3C trace context end to end, through both emulators over real sockets: the producer's span context goes into the
// row (obx_tracecontext, OutboxWriter), the publisher sends the message as a child span of it, and an unmodified
// @azure/service-bus receiver sees Diagnostic-Id and traceparent carrying the row's trace id and the publisher's send
// span as parent. The OpenTelemetry SDK (sdk-trace-base with an in-memory exporter) is registered here as an application
// would register it; the library code uses @opentelemetry/api only.
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { OutboxMessage, parseTraceParent } from '@dataverse-outbox/contract';
import { OutboxWriter } from '@dataverse-outbox/producer';

import { runOperatorAction } from '../../src';
import { PUBLISHER_TRACER, REPLAY_ATTRIBUTE } from '../../src/core/tracing';
import { drainQueue, rowByMessageId, type Harness, useHarness } from '../support/harness';
import { messageTraceContext as messageContext, TestTracing } from '../support/tracing';

let h: Harness;
useHarness((started) => (h = started));
let running: ReturnType<Harness['newPublisher']> | undefined;
/** One publisher for the file: it keeps the lease between runs. */
const publisher = (): ReturnType<Harness['newPublisher']> => (running ??= h.newPublisher());

const tracing = new TestTracing();
const exporter = tracing.exporter;

/** What docs/producer.md shows: the active OpenTelemetry context as a traceparent, for OutboxWriter's traceParent option. */
function activeTraceParent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

describe('with an OpenTelemetry SDK registered', () => {
  // The application's set-up, registered through the same @opentelemetry/api copy the publisher uses (a newer API copy
  // does not read what an older one registered).
  beforeAll(tracing.register);
  afterAll(tracing.unregister);

  it("the producer's span context is the row's; the message's parent is the publisher's send span, in the same trace", async () => {
    const writer = new OutboxWriter(h.client, { traceParent: activeTraceParent });
    const producerSpan = trace.getTracer('test-producer').startSpan('place order');
    await context.with(trace.setSpan(context.active(), producerSpan), () =>
      writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { orderId: 1 }, messageId: 'trace-otel-1' })),
    );
    producerSpan.end();
    const producer = producerSpan.spanContext();

    const row = await rowByMessageId(h, 'trace-otel-1');
    expect(row.traceContext).toBe(`00-${producer.traceId}-${producer.spanId}-01`);

    expect(await publisher().runOnce()).toMatchObject({ published: 1 });
    const [message] = await drainQueue(h, 'orders', 1);
    const sent = messageContext(message!);
    expect(sent.traceId).toBe(producer.traceId);

    const sendSpan = exporter.getFinishedSpans().find((s) => s.instrumentationScope.name === PUBLISHER_TRACER);
    expect(sendSpan).toBeDefined();
    expect(sendSpan!.kind).toBe(SpanKind.PRODUCER);
    expect(sendSpan!.spanContext().traceId).toBe(producer.traceId);
    expect(sendSpan!.parentSpanContext?.spanId).toBe(producer.spanId);
    // The message names the send span, not the producer's: a consumer's span becomes the send span's child.
    expect(sent.spanId).toBe(sendSpan!.spanContext().spanId);
    expect(sendSpan!.attributes).toMatchObject({ 'messaging.destination.name': 'orders', 'messaging.message.id': 'trace-otel-1', 'outbox.row_id': row.id });
    expect(sendSpan!.attributes).not.toHaveProperty(REPLAY_ATTRIBUTE);
  });

  it("a replayed row's new send is in the same trace, a new span with the replay count", async () => {
    const row = await rowByMessageId(h, 'trace-otel-1');
    exporter.reset();
    await runOperatorAction(h.store, 'replay', { ids: [row.id] });
    expect(await publisher().runOnce()).toMatchObject({ published: 1 });
    const [message] = await drainQueue(h, 'orders', 1);
    expect(message!.messageId).toBe('trace-otel-1#r1');
    const sent = messageContext(message!);
    expect(sent.traceId).toBe(parseTraceParent(row.traceContext)!.traceId);
    const sendSpan = exporter.getFinishedSpans().find((s) => s.instrumentationScope.name === PUBLISHER_TRACER);
    expect(sendSpan!.spanContext().spanId).toBe(sent.spanId);
    expect(sendSpan!.parentSpanContext?.spanId).toBe(parseTraceParent(row.traceContext)!.spanId);
    expect(sendSpan!.attributes[REPLAY_ATTRIBUTE]).toBe(1);
    expect(sendSpan!.attributes['messaging.message.id']).toBe('trace-otel-1#r1');
  });
});

describe('without an OpenTelemetry SDK (the API alone)', () => {
  it("the message still carries the row's trace id with a span id of its own", async () => {
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'invoices', payload: 1, messageId: 'trace-api-1', traceParent: given }));
    expect(await publisher().runOnce()).toMatchObject({ published: 1 });
    const [message] = await drainQueue(h, 'invoices', 1);
    const sent = messageContext(message!);
    expect(sent.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(sent.spanId).not.toBe('00f067aa0ba902b7');
  });

  it('a row without a trace context (written by a plug-in, a flow, a raw Web API call) is sent in a new trace', async () => {
    await h.client.create(OutboxMessage.entitySetName, { [OutboxMessage.columns.target]: 'invoices', [OutboxMessage.columns.payload]: '{}', [OutboxMessage.columns.messageId]: 'trace-none-1' });
    expect((await rowByMessageId(h, 'trace-none-1')).traceContext).toBeUndefined();
    expect(await publisher().runOnce()).toMatchObject({ published: 1 });
    const [message] = await drainQueue(h, 'invoices', 1);
    messageContext(message!);
  });
});

describe('the writer without a caller context', () => {
  it('starts a trace per commit that the message continues', async () => {
    const { messageIds } = await new OutboxWriter(h.client).transaction((tx) => void tx.enqueue({ target: 'orders', payload: 2, messageId: 'trace-new-1' }));
    const row = await rowByMessageId(h, messageIds[0]!);
    expect(await publisher().runOnce()).toMatchObject({ published: 1 });
    const [message] = await drainQueue(h, 'orders', 1);
    expect(messageContext(message!).traceId).toBe(parseTraceParent(row.traceContext)!.traceId);
  });
});
