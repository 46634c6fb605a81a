// The publisher host shared by the Functions handlers' invocations in one worker process (connections are reused),
// built by the one bootstrap. What it is built with is fixed in production; only the package's tests change it,
// through src/testing.ts, which no package entry point exports.
import { createPublisherFromAppSettings, type PublisherHost } from '../bootstrap';
import type { PublisherOptions } from '../publisher';
import type { DataverseClientOptions } from '@dataverse-outbox/web-api';
import { createOtelMetrics, startAzureMonitor } from '../telemetry';

export interface FunctionsHostConfig {
  /**
   * The publish timer fires every minute and polls adaptively for this long of it, so commit-to-publish latency does
   * not wait for the next tick, and the invocation ends well within any plan's function timeout. Default 50 s.
   */
  publishBudgetInMs: number;
  /** Options for the shared publisher (tests shorten polling and lease times). */
  publisherOptions: Partial<Omit<PublisherOptions, 'dataverse' | 'serviceBus'>>;
  dataverseOptions: DataverseClientOptions;
}

const defaults: FunctionsHostConfig = { publishBudgetInMs: 50_000, publisherOptions: {}, dataverseOptions: {} };
let config: FunctionsHostConfig = defaults;
let host: PublisherHost | undefined;

export function functionsHostConfig(): Readonly<FunctionsHostConfig> {
  return config;
}

/** Test hook (through src/testing.ts): the next host is built with these; the defaults again when called with nothing. */
export function setFunctionsHostConfig(next: Partial<FunctionsHostConfig> = {}): void {
  config = { ...defaults, ...next };
}

/** The publisher shared by invocations of this worker process. */
export function getHost(env: Readonly<Record<string, string | undefined>> = process.env): PublisherHost {
  if (!host) {
    // The Functions app has its own triggers for acknowledgements and the dead-letter monitor: the worker's are off.
    host = createPublisherFromAppSettings(env, { metrics: createOtelMetrics(), ...config.publisherOptions, dataverseOptions: config.dataverseOptions, ackListener: false, deadLetterMonitorIntervalInMs: 0 });
    void startAzureMonitor(host.app.appInsightsConnectionString).catch(() => undefined);
  }
  return host;
}

/** Closes the shared publisher; the next invocation builds a new one. */
export async function closeHost(): Promise<void> {
  const h = host;
  host = undefined;
  await h?.close();
}
