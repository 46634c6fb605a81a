// The change-tracking flow's consumer: OpportunityChanged messages (published by the change-tracking source from
// opportunity deltas) -> rows of its own `ct_change` table, exactly once through a SQLite inbox. Run as a child process so
// the chaos run can SIGKILL it. Acknowledgements are off: change-tracking messages have no outbox row to acknowledge.
//   SERVICEBUS_CONNECTION_STRING, CT_QUEUE (erp-sales-ct), CT_SQLITE_FILE, CT_CONCURRENCY (8), CT_SESSION_IDLE_MS (300)
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { applySqliteMigrations, createOutboxConsumer, createSqliteInbox, PermanentError, type ConsumerLogger } from '@dataverse-outbox/consumer';
import { CT_EVENT_TYPE, ctMigrations, versionOfMessageId } from './ctStore';

const log =
  (level: string) =>
  (msg: string, data?: Record<string, unknown>): void => {
    process.stdout.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...data })}\n`);
  };
const logger: ConsumerLogger = { info: log('info'), warn: log('warn'), error: log('error') };

function required(name: string): string {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`${name} is not set\n`);
    process.exit(78);
  }
  return v;
}

async function main(): Promise<void> {
  const file = required('CT_SQLITE_FILE');
  mkdirSync(path.dirname(file), { recursive: true });
  const inbox = createSqliteInbox({ filename: file });
  await applySqliteMigrations(inbox.database, 'ct_orders', ctMigrations);
  const consumer = createOutboxConsumer({
    serviceBus: { connectionString: required('SERVICEBUS_CONNECTION_STRING') },
    entity: process.env.CT_QUEUE || 'erp-sales-ct',
    // sessionId = the opportunity id: one record's versions arrive in order. Sessions hold one or two messages, so a short
    // idle timeout lets a worker move on quickly.
    sessions: { sessionIdleTimeoutInMs: Number(process.env.CT_SESSION_IDLE_MS || 300), acceptRetryDelayInMs: 250 },
    concurrency: Number(process.env.CT_CONCURRENCY || 8),
    acknowledge: false,
    inbox,
    readSchemaVersion: () => 1,
    logger,
    handler: {
      [CT_EVENT_TYPE]: {
        schemaVersions: [1],
        handle: (event, { transaction }) => {
          const body = event.payload as Record<string, unknown> | null;
          const id = body && typeof body.opportunityid === 'string' ? body.opportunityid : undefined;
          const version = versionOfMessageId(event.outboxMessageId);
          if (!id || version === undefined) throw new PermanentError(`not an opportunity change: ${event.outboxMessageId}`, { reason: 'ValidationFailed' });
          transaction
            .prepare('INSERT INTO ct_change (message_id, opportunity_id, version, statecode, applied_at) VALUES (?, ?, ?, ?, ?)')
            .run(event.outboxMessageId, id.toLowerCase(), version, typeof body!.statecode === 'number' ? body!.statecode : null, new Date().toISOString());
        },
      },
    },
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    consumer
      .close()
      .then(() => inbox.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await consumer.start();
  logger.info('ct-consumer ready', { file });
}

main().catch((e: unknown) => {
  logger.error('ct-consumer failed to start', { error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
