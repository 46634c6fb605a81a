#!/usr/bin/env node
// Long-running worker for container hosts: the same engine as the Functions app, continuously. Reads only the spec's
// app settings, wired by the one bootstrap. SIGTERM/SIGINT: finish the batch in hand, wait for its bulk write, release
// the lease, exit 0 (runHostProcess).
import { createPublisherFromAppSettings, type PublisherHost } from './bootstrap';
import { describeError, isOutboxError } from './core/errors';
import { redactSecrets } from './core/redact';
import { runHostProcess } from './hostProcess';
import { createJsonLogger, createOtelMetrics, startAzureMonitor } from './telemetry';

/** Exit code for configuration errors that need a redeploy (sysexits EX_CONFIG). */
const EX_CONFIG = 78;
const SETTINGS_RETRY_MS = 60_000;

async function main(): Promise<void> {
  const logger = createJsonLogger({ level: 'info', base: { service: 'outbox-worker' } });
  let host: PublisherHost;
  try {
    host = createPublisherFromAppSettings(process.env, {
      logger,
      metrics: createOtelMetrics(),
      dataverseOptions: {
        // Visible progress while Dataverse cannot be reached or fails: each retry with its cause, at once. Throttling
        // (429) is normal flow control under load and is not logged per request.
        onRetry: (r) => {
          if (r.error.code === 'Throttled') return;
          logger.warn(`Dataverse request failed; retry ${r.retry} of ${r.maxRetries} in ${(r.waitInMs / 1000).toFixed(1)} s`, { error: redactSecrets(r.error.message), code: r.error.networkCode ?? r.error.code });
        },
      },
    });
  } catch (e) {
    // App settings are fixed only by a redeploy: say what is wrong and exit (no restart loop can fix it).
    process.stderr.write(`${redactSecrets(isOutboxError(e) ? e.message : describeError(e))}\n`);
    process.exit(EX_CONFIG);
  }
  await startAzureMonitor(host.app.appInsightsConnectionString).catch((e: unknown) => logger.warn('Application Insights export not started', { error: String(e) }));

  // Outbox settings live in Dataverse: when they are invalid, report every problem and look again later rather than
  // crash (an admin fixes them in the solution without touching this host).
  await runHostProcess(host, {
    logger,
    retryStartEveryInMs: SETTINGS_RETRY_MS,
    reportStartFailure: (e, retryInMs) => {
      const every = `${Math.round(retryInMs / 1000)} s`;
      if (isOutboxError(e) && e.code === 'InvalidSettings') process.stderr.write(`Outbox publisher not started. ${redactSecrets(e.message)}\nChecking again in ${every}.\n`);
      else logger.error(`could not start; retrying in ${every}`, { error: redactSecrets(describeError(e)) });
    },
  });
}

void main();
