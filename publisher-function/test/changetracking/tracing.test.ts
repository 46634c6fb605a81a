// W3C trace context on change-tracking messages, through both emulators over real sockets: every change the source
// publishes starts a trace of its own (a root PRODUCER send span), and the message carries that span's context in
// Diagnostic-Id and traceparent, as outbox messages do. The OpenTelemetry SDK (sdk-trace-base with an in-memory exporter)
// is registered here as an application would register it; the library code uses @opentelemetry/api only.
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Settings } from '@dataverse-outbox/contract';
import { ChangeSpanAttributes, ChangeTrackingProperties } from '../../src/changetracking/core';
import { PUBLISHER_TRACER } from '../../src/core/tracing';
import { messageTraceContext as messageContext, TestTracing } from '../support/tracing';
import { CT_QUEUE, drainSessions, OTHER_QUEUE, startCtEnv, type CtEnv } from './support';

jest.setTimeout(120_000);

const OPPORTUNITIES = {
  name: 'opportunities',
  table: 'opportunity',
  entitySet: 'opportunities',
  columns: ['name'],
  target: CT_QUEUE,
  eventType: 'OpportunityChanged',
  deletedEventType: 'OpportunityDeleted',
};

const tracing = new TestTracing();
const exporter = tracing.exporter;

let env: CtEnv;
let running: ReturnType<CtEnv['newPublisher']> | undefined;
/** One publisher for the file: it keeps the source's lease between runs. */
const publisher = (): ReturnType<CtEnv['newPublisher']> => (running ??= env.newPublisher());
beforeAll(async () => {
  env = await startCtEnv({ [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([OPPORTUNITIES]) });
});
afterAll(async () => {
  await env?.close();
});

function publisherSpans(): ReadableSpan[] {
  return tracing.spansOf(PUBLISHER_TRACER);
}

describe('with an OpenTelemetry SDK registered', () => {
  beforeAll(tracing.register);
  afterAll(tracing.unregister);

  it('N changes: N messages, N traces, each message naming its own recorded root send span', async () => {
    const ids = await env.crm.createMultiple('opportunities', 'opportunity', Array.from({ length: 5 }, (_, i) => ({ name: `T${i}` })));
    exporter.reset();
    // An active span around the cycle (a host's own instrumentation) must not become the changes' parent.
    const host = trace.getTracer('test-host').startSpan('host cycle');
    const [initial] = await context.with(trace.setSpan(context.active(), host), () => publisher().runOnce());
    host.end();
    expect(initial).toMatchObject({ outcome: 'ran', mode: 'initial', read: 5, published: 5 });
    // A deletion: its span has no version.
    await env.crm.delete('opportunities', ids[0]!);
    expect((await publisher().runOnce())[0]).toMatchObject({ outcome: 'ran', mode: 'delta', read: 1, published: 1 });

    const messages = await drainSessions(env.serviceBus, CT_QUEUE);
    expect(messages).toHaveLength(6);
    const spans = publisherSpans();
    expect(spans).toHaveLength(6);
    const contexts = messages.map(messageContext);
    expect(new Set(contexts.map((c) => c.traceId)).size).toBe(6);
    expect(contexts.map((c) => c.traceId)).not.toContain(host.spanContext().traceId);

    for (const m of messages) {
      const sent = messageContext(m);
      const span = spans.find((s) => s.spanContext().spanId === sent.spanId);
      expect(span).toBeDefined();
      expect(span!.spanContext().traceId).toBe(sent.traceId);
      expect(sent.flags).toBe(span!.spanContext().traceFlags);
      expect(span!.kind).toBe(SpanKind.PRODUCER);
      expect(span!.name).toBe(`send ${CT_QUEUE}`);
      expect(span!.parentSpanContext).toBeUndefined(); // a root: a new trace per change
      expect(span!.status.code).not.toBe(SpanStatusCode.ERROR);
      const kind = m.applicationProperties?.[ChangeTrackingProperties.changeKind];
      expect(span!.attributes).toMatchObject({
        'messaging.system': 'servicebus',
        'messaging.operation.type': 'send',
        'messaging.destination.name': CT_QUEUE,
        'messaging.message.id': m.messageId,
        [ChangeSpanAttributes.source]: 'opportunities',
        [ChangeSpanAttributes.table]: 'opportunity',
        [ChangeSpanAttributes.rowId]: m.sessionId,
        [ChangeSpanAttributes.kind]: kind,
      });
      if (kind === 'deleted') expect(span!.attributes).not.toHaveProperty(ChangeSpanAttributes.version);
      else expect(span!.attributes[ChangeSpanAttributes.version]).toBe(m.applicationProperties?.[ChangeTrackingProperties.changeVersion]);
    }
    expect(messages.filter((m) => m.applicationProperties?.[ChangeTrackingProperties.changeKind] === 'deleted')).toHaveLength(1);
  });

  it("a row too large for a message: the refused send's span has error status, the id-only stand-in continues its trace", async () => {
    const scratch = await startCtEnv({ [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([{ ...OPPORTUNITIES, columns: ['name', 'description'] }]) }, { maxMessageSizeInBytes: 2048 });
    try {
      const big = (await scratch.crm.create('opportunities', { name: 'Big', description: 'x'.repeat(2000) })).id;
      exporter.reset();
      expect((await scratch.newPublisher().runOnce())[0]).toMatchObject({ outcome: 'ran', read: 1, published: 1, omitted: 1 });
      const [message] = await drainSessions(scratch.serviceBus, CT_QUEUE);
      expect(message!.body).toMatchObject({ '@omitted': { reason: 'MessageSizeExceeded' } });
      const sent = messageContext(message!);
      const spans = publisherSpans();
      expect(spans).toHaveLength(2);
      const refused = spans.find((s) => s.status.code === SpanStatusCode.ERROR);
      const standIn = spans.find((s) => s.spanContext().spanId === sent.spanId);
      expect(refused?.status.message).toBe('MessageSizeExceeded');
      expect(refused!.parentSpanContext).toBeUndefined();
      expect(standIn).toBeDefined();
      expect(standIn!.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(standIn!.spanContext().traceId).toBe(refused!.spanContext().traceId);
      expect(standIn!.parentSpanContext?.spanId).toBe(refused!.spanContext().spanId);
      expect(standIn!.attributes).toMatchObject({ [ChangeSpanAttributes.rowId]: big, [ChangeSpanAttributes.omitted]: 'MessageSizeExceeded' });
      expect(refused!.attributes).not.toHaveProperty(ChangeSpanAttributes.omitted);
    } finally {
      await scratch.close();
    }
  });

  it('a send Service Bus refuses ends its span with error status', async () => {
    // Allowed, but the entity does not exist in the emulator: Service Bus refuses the send.
    const missing = 'crm-missing';
    const scratch = await startCtEnv({
      [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([{ ...OPPORTUNITIES, target: missing }]),
      OUTBOX_ALLOWED_TARGETS: JSON.stringify([CT_QUEUE, OTHER_QUEUE, missing]),
    });
    try {
      await scratch.crm.create('opportunities', { name: 'F' });
      exporter.reset();
      const [report] = await scratch.newPublisher().runOnce();
      expect(report).toMatchObject({ outcome: 'error' });
      const failed = publisherSpans().filter((s) => s.attributes['messaging.destination.name'] === missing);
      expect(failed.length).toBeGreaterThanOrEqual(1);
      for (const s of failed) {
        expect(s.status.code).toBe(SpanStatusCode.ERROR);
        expect(s.attributes[ChangeSpanAttributes.table]).toBe('opportunity');
      }
      expect(await scratch.checkpoint('opportunities')).toBeUndefined();
    } finally {
      await scratch.close();
    }
  });
});

describe('without an OpenTelemetry SDK (the API alone)', () => {
  it('each change still gets a fresh, valid traceparent of its own, never shared', async () => {
    exporter.reset();
    await env.crm.createMultiple('opportunities', 'opportunity', Array.from({ length: 4 }, (_, i) => ({ name: `U${i}` })));
    const [report] = await publisher().runOnce();
    expect(report).toMatchObject({ outcome: 'ran', read: 4, published: 4 });
    const messages = await drainSessions(env.serviceBus, CT_QUEUE);
    expect(messages).toHaveLength(4);
    const contexts = messages.map(messageContext);
    expect(new Set(contexts.map((c) => c.traceId)).size).toBe(4);
    expect(new Set(contexts.map((c) => c.spanId)).size).toBe(4);
    expect(contexts.every((c) => c.flags === 1)).toBe(true); // a new trace, sampled (newTraceParent)
  });
});
