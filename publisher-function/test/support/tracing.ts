// An OpenTelemetry SDK for the tracing tests, registered as an application registers one (one tracer provider, the W3C
// propagator, async context) through the same @opentelemetry/api copy the publisher uses; spans kept in memory.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { parseTraceParent, TraceProperties, type TraceParent } from '@dataverse-outbox/contract';

export class TestTracing {
  readonly exporter = new InMemorySpanExporter();
  private readonly provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.exporter)] });

  /** Registers the SDK globally (use in beforeAll of the tests that want spans recorded). */
  readonly register = (): void => {
    trace.setGlobalTracerProvider(this.provider);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  };

  /** Shuts the SDK down and leaves the API without one again (afterAll). */
  readonly unregister = async (): Promise<void> => {
    await this.provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  };

  /** Finished spans of one tracer (instrumentation scope). */
  spansOf(tracer: string): ReadableSpan[] {
    return this.exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === tracer);
  }
}

/** The message's traceparent as the Azure SDK reads it (Diagnostic-Id), checked equal to the W3C property and valid. */
export function messageTraceContext(m: ServiceBusReceivedMessage): TraceParent {
  const diagnosticId = m.applicationProperties?.[TraceProperties.diagnosticId];
  expect(m.applicationProperties?.[TraceProperties.traceParent]).toBe(diagnosticId);
  const parsed = parseTraceParent(diagnosticId);
  expect(parsed).toBeDefined();
  return parsed!;
}
