// Consumer throughput benchmark: messages/s through createOutboxConsumer with the PostgreSQL inbox (inbox row + handler
// write in the inbox transaction, complete, acknowledgement) at concurrency 1, 8 and 32 (the receiver's
// maxConcurrentCalls), against a baseline in the same run: a plain SDK receiver that only completes (no database, no ack)
// at the same concurrency. The consumer runs with its default batching (messages in flight share a transaction and a
// commit; savepoints only after a handler failed) and, for reference, with `batching: false` (one transaction per
// message). Each run also reports the process's CPU time per message: the emulator runs in this process, so consumer,
// SDK and broker share one event loop, and CPU per message is what bounds the throughput of both.
//
//   node --conditions=development --import tsx bench/src/consumer.bench.ts [--messages 2000] [--database-url postgres://...]
//
// Writes bench/results/consumer.json and bench/results/consumer.md (with the command that produced them).
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ServiceBusClient, type ServiceBusMessage } from '@azure/service-bus';
import { createPostgresInbox, createOutboxConsumer, type InboxStore, type PostgresInboxStore, type PostgresInboxTransaction } from '@dataverse-outbox/consumer';
import { buildEmulatorConfig, startServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { MessageProperties, Settings } from '@dataverse-outbox/contract';

const concurrencies = [1, 8, 32] as const;

interface Row {
  concurrency: number;
  messages: number;
  inboxSeconds: number;
  inboxMessagesPerSecond: number;
  /** Inbox transactions per message with the default batching (1 = one per message). */
  inboxTransactionsPerMessage: number;
  /** The same consumer with `batching: false`: one transaction per message. */
  unbatchedSeconds: number;
  unbatchedMessagesPerSecond: number;
  baselineSeconds: number;
  baselineMessagesPerSecond: number;
  /** Process CPU time (user + system) per message during the run, in microseconds. */
  inboxCpuMicrosPerMessage: number;
  baselineCpuMicrosPerMessage: number;
  /** inbox throughput / baseline throughput. */
  ratio: number;
}

function progress(text: string): void {
  process.stderr.write(`[consumer.bench] ${text}\n`);
}

function messagesFor(run: string, count: number): ServiceBusMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    messageId: `${run}-${i}`,
    contentType: 'application/json',
    subject: 'SalesOrderWon',
    body: { schemaVersion: 1, opportunityId: `opp-${i}`, customer: 'Contoso', amount: 100 + i },
    applicationProperties: {
      // A GUID, as the publisher sends it: the consumer acknowledges only GUID row ids.
      [MessageProperties.outboxId]: randomUUID(),
      [MessageProperties.outboxMessageId]: `${run}-${i}`,
      [MessageProperties.outboxSequence]: i,
    },
  }));
}

async function send(client: ServiceBusClient, queue: string, messages: ServiceBusMessage[]): Promise<void> {
  const sender = client.createSender(queue);
  for (let i = 0; i < messages.length; i += 100) await sender.sendMessages(messages.slice(i, i + 100));
  await sender.close();
}

async function waitUntil(check: () => boolean, timeoutInMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The store, counting the transactions the consumer opens (one per processOnce or processBatch call). */
function countingTransactions(inbox: PostgresInboxStore): { store: InboxStore<PostgresInboxTransaction>; transactions: () => number } {
  let transactions = 0;
  const processBatch = inbox.processBatch!.bind(inbox);
  return {
    transactions: () => transactions,
    store: {
      ...inbox,
      processOnce: (record, work, options) => {
        transactions += 1;
        return inbox.processOnce(record, work, options);
      },
      processBatch: (items, options) => {
        transactions += 1;
        return processBatch(items, options);
      },
    },
  };
}

async function runInbox(
  client: ServiceBusClient,
  inbox: PostgresInboxStore,
  schema: string,
  run: string,
  queue: string,
  concurrency: number,
  count: number,
  batching: boolean,
): Promise<{ seconds: number; transactions: number; cpuMicrosPerMessage: number }> {
  await send(client, queue, messagesFor(run, count));
  const counting = countingTransactions(inbox);
  let unexpected: string | undefined;
  let settled = 0;
  const consumer = createOutboxConsumer({
    serviceBus: client,
    entity: queue,
    inbox: counting.store,
    concurrency,
    ...(batching ? {} : { batching: false as const }),
    migrate: false,
    retention: false,
    handler: async (event, { transaction }) => {
      await transaction.query(`INSERT INTO "${schema}".bench_effect (outbox_message_id, payload) VALUES ($1, $2)`, [
        event.outboxMessageId,
        JSON.stringify(event.payload),
      ]);
    },
    onSettled: (s) => {
      if (s.outcome !== 'processed') unexpected ??= `unexpected outcome ${s.outcome} for ${s.messageId}: ${s.description ?? ''}`;
      settled += 1;
    },
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  await consumer.start();
  await waitUntil(() => settled >= count, 110_000, `${count} messages at concurrency ${concurrency}`);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await consumer.close();
  if (unexpected) throw new Error(unexpected);
  return { seconds, transactions: counting.transactions(), cpuMicrosPerMessage: Math.round((used.user + used.system) / count) };
}

async function runBaseline(client: ServiceBusClient, queue: string, concurrency: number, count: number, run = `base-c${concurrency}`): Promise<{ seconds: number; cpuMicrosPerMessage: number }> {
  await send(client, queue, messagesFor(run, count));
  let settled = 0;
  const receiver = client.createReceiver(queue, { receiveMode: 'peekLock', skipParsingBodyAsJson: true });
  const cpu = process.cpuUsage();
  const started = performance.now();
  const subscription = receiver.subscribe(
    {
      processMessage: async (message) => {
        await receiver.completeMessage(message);
        settled += 1;
      },
      processError: async (args) => progress(`baseline receive error: ${args.error.message}`),
    },
    { autoCompleteMessages: false, maxConcurrentCalls: concurrency },
  );
  await waitUntil(() => settled >= count, 110_000, `${count} baseline messages at concurrency ${concurrency}`);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await subscription.close();
  await receiver.close();
  return { seconds, cpuMicrosPerMessage: Math.round((used.user + used.system) / count) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '2000' },
      'database-url': { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    },
  });
  const count = Number(values.messages);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--messages must be a positive integer, got ${values.messages}`);
  const databaseUrl = values['database-url']!;
  const schema = `consumer_bench_${process.pid}`;
  const queues = [{ name: 'warmup' }, { name: 'warmup-base' }, ...concurrencies.flatMap((c) => [{ name: `inbox-c${c}` }, { name: `unbatched-c${c}` }, { name: `base-c${c}` }])];
  const emulator = await startServiceBusEmulator({
    port: 0,
    config: buildEmulatorConfig({ queues: [...queues, { name: Settings.AckQueue.defaultValue }] }),
  });
  const client = new ServiceBusClient(emulator.connectionString);
  const inbox = createPostgresInbox({ connectionString: databaseUrl, schema, maxConnections: 34 });
  const rows: Row[] = [];
  try {
    await inbox.migrate();
    await inbox.pool.query(`CREATE TABLE "${schema}".bench_effect (id bigserial PRIMARY KEY, outbox_message_id text NOT NULL, payload jsonb)`);
    // Warm-up of both sides (connections, JIT, SDK links), batched and not: the first measured run is not the cold one.
    await runInbox(client, inbox, schema, 'warmup', 'warmup', 8, 200, true);
    await runInbox(client, inbox, schema, 'warmup-1', 'warmup', 1, 50, false);
    await runBaseline(client, 'warmup-base', 8, 200, 'warmup-base');
    for (const concurrency of concurrencies) {
      progress(`concurrency ${concurrency}: ${count} messages through the PostgreSQL inbox ...`);
      const batched = await runInbox(client, inbox, schema, `inbox-c${concurrency}`, `inbox-c${concurrency}`, concurrency, count, true);
      const inboxSeconds = batched.seconds;
      progress(`concurrency ${concurrency}: ${count} messages through the PostgreSQL inbox, one transaction per message ...`);
      const unbatched = await runInbox(client, inbox, schema, `unbatched-c${concurrency}`, `unbatched-c${concurrency}`, concurrency, count, false);
      progress(`concurrency ${concurrency}: ${count} messages through the baseline receiver ...`);
      const baseline = await runBaseline(client, `base-c${concurrency}`, concurrency, count);
      const baselineSeconds = baseline.seconds;
      const row: Row = {
        concurrency,
        messages: count,
        inboxSeconds: Number(inboxSeconds.toFixed(3)),
        inboxMessagesPerSecond: Math.round(count / inboxSeconds),
        inboxTransactionsPerMessage: Number((batched.transactions / count).toFixed(3)),
        unbatchedSeconds: Number(unbatched.seconds.toFixed(3)),
        unbatchedMessagesPerSecond: Math.round(count / unbatched.seconds),
        baselineSeconds: Number(baselineSeconds.toFixed(3)),
        baselineMessagesPerSecond: Math.round(count / baselineSeconds),
        ratio: Number((baselineSeconds / inboxSeconds).toFixed(2)),
        inboxCpuMicrosPerMessage: batched.cpuMicrosPerMessage,
        baselineCpuMicrosPerMessage: baseline.cpuMicrosPerMessage,
      };
      rows.push(row);
      progress(`concurrency ${concurrency}: inbox ${row.inboxMessagesPerSecond} msg/s (${row.inboxTransactionsPerMessage} transactions/message), one transaction per message ${row.unbatchedMessagesPerSecond} msg/s, baseline ${row.baselineMessagesPerSecond} msg/s, ratio ${row.ratio}; CPU per message ${row.inboxCpuMicrosPerMessage} us inbox, ${row.baselineCpuMicrosPerMessage} us baseline`);
    }
    const effects = await inbox.pool.query<{ n: string; distinct_ids: string }>(
      `SELECT count(*) AS n, count(DISTINCT outbox_message_id) AS distinct_ids FROM "${schema}".bench_effect`,
    );
    if (effects.rows[0]?.n !== effects.rows[0]?.distinct_ids) throw new Error('duplicate effects during the benchmark');
  } finally {
    await inbox.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await inbox.close();
    await client.close();
    await emulator.close();
  }

  const command = `node --conditions=development --import tsx bench/src/consumer.bench.ts --messages ${count}`;
  const result = {
    benchmark: 'consumer',
    command,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
    setup:
      'Service Bus emulator (in process, AMQP over TCP) + official @azure/service-bus 7.9.5; PostgreSQL on 127.0.0.1; ' +
      'inbox (default batching): the messages in flight share a transaction {insert their inbox rows in one statement; per message: insert bench_effect row} ' +
      'and one commit (savepoints only in the second try of a batch whose handler failed: none here), then each is completed and acknowledged to outbox-acks ' +
      '(acknowledgements ready together go in one message: an acknowledgement batch, one JSON array of acks); ' +
      'one transaction per message: the same consumer with batching: false. ' +
      'Baseline: plain SDK receiver, complete only. CPU per message: this process (consumer or receiver, SDK, and the emulator) during the run.',
    rows,
  };
  const dir = process.env['BENCH_RESULTS_DIR'] ?? path.resolve(__dirname, '..', 'results'); // the suite runner may ask for another folder
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'consumer.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = [
    '# Consumer benchmark (PostgreSQL inbox)',
    '',
    `Command: \`${command}\``,
    '',
    `Date: ${result.date}; machine: ${result.machine.cpus} CPUs (${result.machine.cpuModel}), Node ${result.machine.node}, shared with other work.`,
    '',
    result.setup,
    '',
    '| concurrency | messages | inbox msg/s | transactions / message | one transaction per message, msg/s | baseline msg/s | inbox / baseline | CPU µs / message: inbox | CPU µs / message: baseline |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${r.messages} | ${r.inboxMessagesPerSecond} | ${r.inboxTransactionsPerMessage} | ${r.unbatchedMessagesPerSecond} | ${r.baselineMessagesPerSecond} | ${r.ratio} | ${r.inboxCpuMicrosPerMessage} | ${r.baselineCpuMicrosPerMessage} |`,
    ),
    '',
    'Absolute numbers depend on the machine; compare the ratio column across runs.',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'consumer.md'), md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  process.stderr.write(`consumer benchmark failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
