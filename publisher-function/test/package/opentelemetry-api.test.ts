// The publisher's spans and metrics go through @opentelemetry/api's global providers, which @azure/monitor-opentelemetry
// registers in Azure. Two copies of the API of different versions do not share them (a newer copy refuses what an older
// one registered), so the publisher's spans and metrics would be dropped silently: there must be one copy.
import path from 'node:path';
import type * as OpenTelemetryApi from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startSendSpan } from '../../src/core/tracing';

it('resolves the same @opentelemetry/api as @azure/monitor-opentelemetry (one global tracer and meter provider)', () => {
  const fromPublisher = require.resolve('@opentelemetry/api', { paths: [path.join(__dirname, '..', '..', 'src')] });
  const monitor = require.resolve('@azure/monitor-opentelemetry', { paths: [path.join(__dirname, '..', '..', 'src')] });
  const fromMonitor = require.resolve('@opentelemetry/api', { paths: [path.dirname(monitor)] });
  expect(fromPublisher).toBe(fromMonitor);
});

it('a tracer provider registered through the monitor\'s copy records the publisher\'s send spans', () => {
  const monitor = require.resolve('@azure/monitor-opentelemetry', { paths: [path.join(__dirname, '..', '..', 'src')] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the copy a given package resolves, by path
  const api = require(require.resolve('@opentelemetry/api', { paths: [path.dirname(monitor)] })) as typeof OpenTelemetryApi;
  const exporter = new InMemorySpanExporter();
  api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  try {
    const span = startSendSpan({ id: '00000000-0000-4000-8000-000000000001', messageId: 'm1', target: 'orders', replayCount: 0, traceContext: undefined });
    span.end({ ok: true });
    expect(exporter.getFinishedSpans().length).toBe(1);
  } finally {
    api.trace.disable();
  }
});
