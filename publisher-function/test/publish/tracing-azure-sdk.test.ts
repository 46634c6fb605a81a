// Issue #21: an unmodified @azure/service-bus receiver with the Azure SDK's OpenTelemetry instrumentation enabled sees
// the publisher's context. The publisher (here, in Jest, with an OpenTelemetry SDK recording its send span) publishes a
// row written with a known traceparent through both emulators over real sockets; a receiver application in a separate
// Node process enables tracing as an application does (tracer provider + in-memory exporter, W3C propagator, async
// context, then registerInstrumentations([createAzureSdkInstrumentation()]), and only then requires @azure/service-bus)
// and receives the message. The SDK's own consumer span must link to the publisher's send span in the row's trace.
//
// Why a child process and not this Jest module registry: createAzureSdkInstrumentation() does not patch anything by
// itself; it registers a require-in-the-middle hook for "@azure/core-tracing" (dist/commonjs/instrumentation.js, init():
// InstrumentationNodeModuleDefinition whose patch calls core-tracing's useInstrumenter(new OpenTelemetryInstrumenter())).
// That hook replaces Node's Module.prototype.require (require-in-the-middle/index.js), but Jest loads every module
// through its own require (jest-runtime build/index.js, moduleRequire -> requireModuleOrMock), which never calls
// Module.prototype.require. Measured with Jest 30 and a registered tracer provider: registerInstrumentations, then
// require @azure/service-bus and @azure/core-tracing (inside jest.isolateModules or not), and core-tracing's spans are
// still non-recording; the same lines under plain `node -e` give recording spans. No require order inside Jest enables
// the instrumentation, so the receiver runs in a plain Node process (the application's real loading path) with the same
// packages from node_modules.
//
// What @azure/service-bus 7.9.5 records (dist/index.js, toProcessingSpanOptions): receiveMessages() one
// "BatchingReceiverLite.process" span per call, subscribe() one "StreamReceiver.process" span per message, both
// CONSUMER spans with a link (not a parent) per message whose Diagnostic-Id it parses; the span itself starts from the
// receiver's active context, here a new trace. So the publisher's context reaches the receiver as that link.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { parseTraceParent, TraceProperties } from '@dataverse-outbox/contract';

import { PUBLISHER_TRACER } from '../../src/core/tracing';
import { rowByMessageId, type Harness, useHarness } from '../support/harness';

let h: Harness;
useHarness((started) => (h = started));
let running: ReturnType<Harness['newPublisher']> | undefined;
const publisher = (): ReturnType<Harness['newPublisher']> => (running ??= h.newPublisher());

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

/** How the receiver application takes messages: both of @azure/service-bus's ways that record a consumer span. */
type ReceiveMode = 'receiveMessages' | 'subscribe';

/** A span the receiver application recorded, as it prints it. */
interface RecordedSpan {
  name: string;
  kind: SpanKind;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  links: { traceId: string; spanId: string }[];
}

interface ReceiverOutput {
  messages: { messageId: string; applicationProperties: Record<string, unknown> }[];
  spans: RecordedSpan[];
}

// The receiver application (CommonJS, run with `node -e` from publisher-function/ so it resolves the same node_modules).
// Nothing in it knows about the outbox: tracing set-up first, then the SDK, then an ordinary receive.
const RECEIVER_APP = `
const { context, propagation, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { createAzureSdkInstrumentation } = require('@azure/opentelemetry-instrumentation-azure-sdk');
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
registerInstrumentations({ instrumentations: [createAzureSdkInstrumentation()] });
// Required after the hook is in place, so @azure/core-tracing is patched as @azure/service-bus loads it.
const { ServiceBusClient } = require('@azure/service-bus');

const { SB_CONNECTION, SB_QUEUE, RECEIVE_MODE, EXPECTED_MESSAGE_ID } = process.env;
async function main() {
  const client = new ServiceBusClient(SB_CONNECTION, { retryOptions: { maxRetries: 1, retryDelayInMs: 200, timeoutInMs: 10000 } });
  const receiver = client.createReceiver(SB_QUEUE, { receiveMode: 'receiveAndDelete' });
  const messages = [];
  const deadline = Date.now() + 20000;
  try {
    if (RECEIVE_MODE === 'subscribe') {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message ' + EXPECTED_MESSAGE_ID)), deadline - Date.now());
        receiver.subscribe({
          async processMessage(m) {
            // The application's own work, inside the SDK's process span.
            trace.getTracer('receiver-app').startSpan('handle ' + m.messageId).end();
            messages.push(m);
            if (m.messageId === EXPECTED_MESSAGE_ID) { clearTimeout(timer); resolve(); }
          },
          async processError(args) { clearTimeout(timer); reject(args.error); },
        });
      });
    } else {
      while (!messages.some((m) => m.messageId === EXPECTED_MESSAGE_ID)) {
        if (Date.now() > deadline) throw new Error('no message ' + EXPECTED_MESSAGE_ID);
        messages.push(...(await receiver.receiveMessages(10, { maxWaitTimeInMs: 1000 })));
      }
    }
  } finally {
    await receiver.close();
    await client.close();
  }
  const spans = exporter.getFinishedSpans().map((s) => ({
    name: s.name,
    kind: s.kind,
    scope: s.instrumentationScope.name,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext && s.parentSpanContext.spanId,
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  }));
  process.stdout.write(JSON.stringify({ messages: messages.map((m) => ({ messageId: m.messageId, applicationProperties: m.applicationProperties || {} })), spans }));
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

async function receiveInApplication(queue: string, mode: ReceiveMode, messageId: string): Promise<ReceiverOutput> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', RECEIVER_APP], {
    cwd: path.resolve(__dirname, '../..'),
    env: { ...process.env, SB_CONNECTION: h.sb.connectionString, SB_QUEUE: queue, RECEIVE_MODE: mode, EXPECTED_MESSAGE_ID: messageId },
    timeout: 45_000,
  });
  return JSON.parse(stdout) as ReceiverOutput;
}

/** The publisher's send span for a message id, as this process's SDK recorded it. */
function sendSpanOf(messageId: string): ReadableSpan {
  const spans = exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === PUBLISHER_TRACER && s.attributes['messaging.message.id'] === messageId);
  expect(spans).toHaveLength(1);
  expect(spans[0]!.kind).toBe(SpanKind.PRODUCER);
  return spans[0]!;
}

beforeAll(() => {
  // The publisher's side, as tracing.test.ts registers it: its send span is recorded, so its span id is known here.
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

describe.each<[ReceiveMode, string, string]>([
  // receiveMessages: one "BatchingReceiverLite.process" consumer span per call, linked to each received message's Diagnostic-Id.
  ['receiveMessages', 'BatchingReceiverLite.process', '4bf92f3577b34da6a3ce929d0e0e4736'],
  // subscribe: one "StreamReceiver.process" consumer span per message, around the application's processMessage.
  ['subscribe', 'StreamReceiver.process', '0af7651916cd43dd8448eb211c80319c'],
])('an unmodified receiver using %s with the Azure SDK instrumentation enabled', (mode, processSpanName, traceId) => {
  it("records a consumer span linked to the publisher's send span, in the row's trace", async () => {
    const messageId = `trace-azure-sdk-${mode}`;
    const given = `00-${traceId}-00f067aa0ba902b7-01`;
    await h.writer.transaction((tx) => void tx.enqueue({ target: 'orders', payload: { mode }, messageId, traceParent: given }));
    expect((await rowByMessageId(h, messageId)).traceContext).toBe(given);
    exporter.reset();
    expect(await publisher().runOnce()).toMatchObject({ published: 1 });
    const sendSpan = sendSpanOf(messageId).spanContext();
    expect(sendSpan.traceId).toBe(traceId);

    const received = await receiveInApplication('orders', mode, messageId);
    const message = received.messages.find((m) => m.messageId === messageId);
    expect(message).toBeDefined();
    // What the SDK reads (service-bus dist/index.js extractSpanContextFromServiceBusMessage: Diagnostic-Id only).
    const diagnosticId = message!.applicationProperties[TraceProperties.diagnosticId];
    expect(parseTraceParent(diagnosticId)).toMatchObject({ traceId, spanId: sendSpan.spanId });

    const processSpans = received.spans.filter((s) => s.name === processSpanName && s.links.some((l) => l.spanId === sendSpan.spanId));
    expect(processSpans).toHaveLength(1);
    const processSpan = processSpans[0]!;
    expect(processSpan.scope).toBe('@azure/service-bus');
    expect(processSpan.kind).toBe(SpanKind.CONSUMER);
    // The link is the message's context: the row's trace id and the publisher's send span, not a span the SDK made.
    expect(processSpan.links).toEqual([{ traceId, spanId: sendSpan.spanId }]);

    if (mode === 'subscribe') {
      // The application's work runs inside the process span, so its spans join the receiver's trace under it.
      const handled = received.spans.find((s) => s.scope === 'receiver-app' && s.name === `handle ${messageId}`);
      expect(handled).toBeDefined();
      expect(handled!.parentSpanId).toBe(processSpan.spanId);
      expect(handled!.traceId).toBe(processSpan.traceId);
    }
  });
});
