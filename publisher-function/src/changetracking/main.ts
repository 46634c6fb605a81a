// Long-running change-tracking worker: `node --conditions=development --import tsx src/changetracking/main.ts`.
// Reads only the app settings (DATAVERSE_URL, SERVICEBUS_*, OUTBOX_*); SIGTERM/SIGINT stop it gracefully.
import { describeError } from '../core/errors';
import { runHostProcess } from '../hostProcess';
import { createJsonLogger, startAzureMonitor } from '../telemetry';
import { createChangeTrackingPublisherFromAppSettings } from '../bootstrap';
import { createOtelChangeTrackingMetrics } from './telemetry';

async function main(): Promise<void> {
  const logger = createJsonLogger({ level: (process.env.OUTBOX_LOG_LEVEL as 'debug' | 'info' | 'warn' | 'error' | undefined) ?? 'info', base: { component: 'change-tracking' } });
  await startAzureMonitor(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING);
  const pollIntervalInMs = process.env.OUTBOX_CHANGE_TRACKING_POLL_MS ? Number(process.env.OUTBOX_CHANGE_TRACKING_POLL_MS) : undefined;
  const host = createChangeTrackingPublisherFromAppSettings(process.env, { logger, metrics: createOtelChangeTrackingMetrics(), pollIntervalInMs });
  await runHostProcess(host, { logger });
}

main().catch((e: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', message: 'change tracking worker failed to start', error: describeError(e) })}\n`);
  process.exit(1);
});
