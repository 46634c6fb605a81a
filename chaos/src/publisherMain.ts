// The publisher worker as the chaos run starts it: the same engine and app settings as publisher-function's worker
// (createPublisherFromAppSettings), lease duration and standby polling included (OUTBOX_LEASE_DURATION_SECONDS,
// OUTBOX_STANDBY_POLL_SECONDS: the run sets a short lease, so the second publisher takes over within seconds of a
// SIGKILL and lease fights are frequent), plus a configurable dead-letter monitor interval.
//   CHAOS_DLQ_MONITOR_MS (default 60000), CHAOS_INSTANCE (name in logs),
//   CHAOS_LOG_LEVEL=debug (log every send with its rows' sequences, to trace order per key)
import { createJsonLogger, createPublisherFromAppSettings, isOutboxError, processOwnerName, runHostProcess, type PublisherHost } from '@dataverse-outbox/publisher-function';

const EX_CONFIG = 78;

function numberSetting(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1000) {
    process.stderr.write(`${name} must be a whole number of milliseconds >= 1000, got "${v}"\n`);
    process.exit(EX_CONFIG);
  }
  return n;
}

async function main(): Promise<void> {
  const instance = process.env.CHAOS_INSTANCE ?? 'publisher';
  const logger = createJsonLogger({ level: process.env.CHAOS_LOG_LEVEL === 'debug' ? 'debug' : 'info', base: { service: 'outbox-worker', instance } });
  let host: PublisherHost;
  try {
    host = createPublisherFromAppSettings(process.env, {
      logger,
      // A new owner per process, as a replacement instance would have.
      owner: processOwnerName(instance),
      deadLetterMonitorIntervalInMs: numberSetting('CHAOS_DLQ_MONITOR_MS', 60_000),
    });
  } catch (e) {
    process.stderr.write(`${isOutboxError(e) ? e.message : String(e)}\n`);
    process.exit(EX_CONFIG);
  }
  await runHostProcess(host, { logger, retryStartEveryInMs: 1000 });
}

void main();
