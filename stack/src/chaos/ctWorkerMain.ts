// The change-tracking worker as the chaos run starts it: publisher-function's change-tracking publisher built from the
// same app settings as its own main.ts, plus a configurable lease (the stock worker keeps 60 s, so a SIGKILLed instance's
// replacement would wait up to a minute for its predecessor's lease) and an owner name per process.
//   CHAOS_LEASE_DURATION_MS (default 60000), CHAOS_INSTANCE, OUTBOX_CHANGE_TRACKING_POLL_MS (default 5000)
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { createChangeTrackingPublisherFromAppSettings, createJsonLogger, describeError } from '@dataverse-outbox/publisher-function';

async function main(): Promise<void> {
  const instance = process.env.CHAOS_INSTANCE ?? 'ct-worker';
  const logger = createJsonLogger({ level: 'info', base: { component: 'change-tracking', instance } });
  const lease = Number(process.env.CHAOS_LEASE_DURATION_MS || 60_000);
  const poll = Number(process.env.OUTBOX_CHANGE_TRACKING_POLL_MS || 5000);
  if (!Number.isInteger(lease) || lease < 1000 || !Number.isInteger(poll) || poll < 1) {
    process.stderr.write('CHAOS_LEASE_DURATION_MS must be >= 1000 and OUTBOX_CHANGE_TRACKING_POLL_MS >= 1 (whole milliseconds)\n');
    process.exit(78);
  }
  const host = createChangeTrackingPublisherFromAppSettings(process.env, {
    logger,
    owner: `${hostname()}:${instance}:${process.pid}:${randomUUID().slice(0, 8)}`,
    leaseDurationInMs: lease,
    pollIntervalInMs: poll,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    host.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Dataverse may be down or throttled while this instance starts: keep trying.
  for (;;) {
    try {
      await host.publisher.start();
      return;
    } catch (e) {
      if (stopping) return;
      logger.error('could not start; retrying', { error: describeError(e) });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

void main();
