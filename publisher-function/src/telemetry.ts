// Structured JSON logs (ids and counts, never payloads or secrets) and OpenTelemetry metrics, exported to
// Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set.
import { metrics as otelMetrics, type Meter } from '@opentelemetry/api';
import type { LogFields, Logger, PublisherMetrics } from './core/ports';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One JSON line per event on stderr (Functions and container hosts collect it). */
export function createJsonLogger(options: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {}): Logger {
  const min = order[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (level: LogLevel) => (message: string, fields: LogFields = {}) => {
    if (order[level] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...options.base, ...fields }));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Adapts the Functions InvocationContext (or any object with log/warn/error) to the engine's logger. */
export function loggerFromContext(ctx: { log(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void; debug?(...a: unknown[]): void }): Logger {
  const f = (fn: (...a: unknown[]) => void) => (message: string, fields?: LogFields) => fn(message, JSON.stringify(fields ?? {}));
  return { debug: f(ctx.debug?.bind(ctx) ?? (() => {})), info: f(ctx.log.bind(ctx)), warn: f(ctx.warn.bind(ctx)), error: f(ctx.error.bind(ctx)) };
}

/** OpenTelemetry instruments for the engine's metrics. Without a registered MeterProvider they cost nothing. */
export function createOtelMetrics(meter: Meter = otelMetrics.getMeter('dataverse-outbox-publisher')): PublisherMetrics {
  const published = meter.createCounter('outbox.messages.published', { description: 'Outbox rows published to Service Bus' });
  const failed = meter.createCounter('outbox.messages.failed', { description: 'Outbox rows that ended Failed' });
  const retried = meter.createCounter('outbox.messages.retried', { description: 'Transient publish failures (row will be retried)' });
  const latency = meter.createHistogram('outbox.publish.latency', { description: 'Commit (createdon) to publish', unit: 'ms' });
  const dvRequests = meter.createCounter('outbox.dataverse.requests', { description: 'Dataverse Web API requests' });
  const poison = meter.createCounter('outbox.notices.poison', { description: 'Acknowledgements and dead letters that can never be applied (dead-lettered or set aside alone)' });
  let backlogValue = 0;
  meter.createObservableGauge('outbox.backlog', { description: 'Due rows seen in the last cycle' }).addCallback((r) => r.observe(backlogValue));
  // Not observed until measured once: an alert must not read a made-up 0 before the first measurement.
  let pendingAgeValue: number | undefined;
  meter
    .createObservableGauge('outbox.pending.oldest_age', { description: 'Age of the oldest Pending outbox row (0 when none)', unit: 's' })
    .addCallback((r) => {
      if (pendingAgeValue !== undefined) r.observe(pendingAgeValue);
    });
  return {
    published: (n, target) => published.add(n, { target }),
    failed: (n, target, code) => failed.add(n, { target, code }),
    retried: (n, target) => retried.add(n, { target }),
    publishLatency: (ms, target) => latency.record(ms, { target }),
    backlog: (n) => {
      backlogValue = n;
    },
    pendingAge: (seconds) => {
      pendingAgeValue = seconds;
    },
    dataverseRequest: (kind) => dvRequests.add(1, { kind }),
    poisonNotice: (source, reason) => poison.add(1, { source, reason }),
  };
}

let azureMonitorStarted = false;

/** Starts the Azure Monitor exporter once when a connection string is given; returns whether it runs. */
export async function startAzureMonitor(connectionString: string | undefined): Promise<boolean> {
  if (!connectionString || azureMonitorStarted) return azureMonitorStarted;
  const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
  useAzureMonitor({ azureMonitorExporterOptions: { connectionString } });
  azureMonitorStarted = true;
  return true;
}
