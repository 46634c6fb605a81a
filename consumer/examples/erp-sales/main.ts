// erp-sales service entry point: parse the environment, start, stop gracefully on SIGTERM/SIGINT.
//   node --conditions=development --import tsx consumer/examples/erp-sales/main.ts
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { DefaultAzureCredential } from '@azure/identity';
import { ServiceBusClient } from '@azure/service-bus';
import { createCanaryResponder, type CanaryResponder, type ConsumerLogger, type OutboxEvent } from '@dataverse-outbox/consumer';
import type { ConsumerFaultInjection } from '@dataverse-outbox/consumer/testing';

import { readErpSalesConfig, type ErpCrashPoint } from './config';
import { createErpSalesService } from './service';

/** One JSON object per line on stdout: easy to read, easy for tests to wait on. */
const logger: ConsumerLogger = {
  info: (msg, data) => process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), msg, ...data })}\n`),
  warn: (msg, data) => process.stdout.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg, ...data })}\n`),
  error: (msg, data) => process.stdout.write(`${JSON.stringify({ level: 'error', time: new Date().toISOString(), msg, ...data })}\n`),
};

function crashHooks(crashAt: ErpCrashPoint | undefined, crashOn: string | undefined): ConsumerFaultInjection {
  if (!crashAt) return {};
  const crash = (event: OutboxEvent): void => {
    if (crashOn && event.outboxMessageId !== crashOn) return;
    logger.warn('fault injection: SIGKILL', { at: crashAt, outboxMessageId: event.outboxMessageId });
    process.kill(process.pid, 'SIGKILL');
  };
  if (crashAt === 'before-commit') return { beforeCommit: crash };
  if (crashAt === 'after-commit') return { afterCommit: crash };
  return { afterComplete: crash };
}

async function main(): Promise<void> {
  const config = readErpSalesConfig();
  if (config.database.kind === 'sqlite') mkdirSync(path.dirname(config.database.file), { recursive: true });
  const serviceBus =
    'connectionString' in config.serviceBus
      ? { connectionString: config.serviceBus.connectionString }
      : new ServiceBusClient(config.serviceBus.namespace, new DefaultAzureCredential());
  const faultInjection: ConsumerFaultInjection = {
    ...crashHooks(config.crashAt, config.crashOn),
    ...(config.unsafeCompleteBeforeCommit ? { completeBeforeCommit: true } : {}),
  };
  if (config.unsafeCompleteBeforeCommit) logger.warn('BROKEN VARIANT: messages are completed before the inbox transaction commits');
  const service = createErpSalesService({
    serviceBus,
    queue: config.queue,
    sessions: config.sessions,
    concurrency: config.concurrency,
    database: config.database,
    ackQueue: config.ackQueue,
    handlerDelayInMs: config.handlerDelayInMs,
    ...(config.transientErrorDelayInMs === undefined ? {} : { transientErrorDelayInMs: config.transientErrorDelayInMs }),
    acknowledgementSweep: { intervalInMs: config.ackSweepInMs, graceInMs: config.ackSweepInMs },
    logger,
    faultInjection,
  });

  // The canary responder (issue 21) runs beside the service when OUTBOX_CANARY_QUEUE names a queue: a canary then
  // proves this consumer's process, its Service Bus connection and the ack queue, with the rest of the path.
  const canaryQueue = process.env.OUTBOX_CANARY_QUEUE?.trim();
  let canary: { responder: CanaryResponder; client: ServiceBusClient } | undefined;

  let stopping: Promise<void> | undefined;
  const stop = (signal: string): void => {
    if (stopping) return;
    logger.info('stopping', { signal });
    stopping = (canary ? canary.responder.close().then(() => (canary!.client === serviceBus ? undefined : canary!.client.close())) : Promise.resolve())
      .then(() => service.close())
      .then(async () => {
        if (serviceBus instanceof ServiceBusClient) await serviceBus.close();
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('stop failed', { error: String(error) });
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  await service.start();
  if (canaryQueue && config.ackQueue !== false) {
    const client = serviceBus instanceof ServiceBusClient ? serviceBus : new ServiceBusClient(serviceBus.connectionString);
    const responder = createCanaryResponder({
      client,
      queue: canaryQueue,
      ackQueue: config.ackQueue,
      onAcknowledged: (outboxMessageId) => logger.info('canary acknowledged', { outboxMessageId }),
      onError: (why) => logger.warn(why),
    });
    canary = { responder, client };
  }
  logger.info('erp-sales ready', {
    queue: config.queue,
    sessions: config.sessions,
    concurrency: config.concurrency,
    database: config.database.kind,
    ackQueue: config.ackQueue,
    canaryQueue: canary ? canaryQueue : undefined,
  });
}

main().catch((error: unknown) => {
  logger.error('erp-sales failed to start', { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
