// Registers an OpenTelemetry SDK in this process that records every span to the local stack's trace files, the way an
// application registers one (the product's libraries use @opentelemetry/api only). In Azure the same spans go to
// Application Insights through @azure/monitor-opentelemetry instead (docs/operations.md, "Tracing").
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FileSpanExporter } from './fileSpanExporter';

export interface TraceRecorder {
  /** Ends recording (spans still open are not written). */
  close(): Promise<void>;
}

export function registerTraceRecorder(options: { file: string; serviceName: string }): TraceRecorder {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    // Simple (not batch) with a synchronous file write: a span is on disk when it ends, even if the process is killed next.
    spanProcessors: [new SimpleSpanProcessor(new FileSpanExporter(options.file, options.serviceName))],
  });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return {
    async close() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
