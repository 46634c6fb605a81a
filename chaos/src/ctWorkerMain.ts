// The change-tracking worker as the chaos run starts it: publisher-function's change-tracking publisher built from the
// same app settings as its own main.ts, plus a configurable lease (the stock worker keeps 60 s, so a SIGKILLed instance's
// replacement would wait up to a minute for its predecessor's lease) and an owner name per process.
//   CHAOS_LEASE_DURATION_MS (default 60000), CHAOS_INSTANCE, OUTBOX_CHANGE_TRACKING_POLL_MS (default 5000)
import { createChangeTrackingPublisherFromAppSettings, createJsonLogger, processOwnerName, runHostProcess } from '@dataverse-outbox/publisher-function';

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
    owner: processOwnerName(instance),
    leaseDurationInMs: lease,
    pollIntervalInMs: poll,
  });
  await runHostProcess(host, { logger, retryStartEveryInMs: 1000 });
}

void main();
