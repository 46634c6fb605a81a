// Replay of rows the consumer rejected, from each place an operator can start it, through each one's real code path:
// the PCF monitor's runAction over its Web API adapter, the command bar's runCommand with the Web API row store, and the
// `outbox replay` CLI as a child process. Around them everything is real: the Dataverse and Service Bus emulators over
// sockets, the publisher engine with its ack listener, and the consumer toolkit's ERP sample on SQLite.
//
// Each row is first rejected by a broken release of the ERP consumer: DeadLettered, obx_ackedon set, obx_lasterror
// "Rejected by consumer: ...". Once the fixed ERP sample runs, each replayed row must end Acked with exactly one sales
// order. Before the contract's replay cleared obx_ackedon and obx_lasterror, the re-sent row was marked DeadLettered
// again at once by the publisher (statusWhenSent reads both columns of the row it just sent), and the fixed consumer's
// acknowledgement could not move it on: DeadLettered for good, with its effect in the ERP.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { createOutboxConsumer, createSqliteInbox, PermanentError, type OutboxConsumer } from '@dataverse-outbox/consumer';
import { checkErpSalesInvariants, createErpSalesService, type ErpSalesService } from '@dataverse-outbox/consumer/examples/erp-sales';
import { OutboxMessage, OutboxStatus, describeStatus } from '@dataverse-outbox/contract';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { buildEmulatorConfig, startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { createPublisher, DataverseClient, type OutboxPublisher } from '@dataverse-outbox/publisher-function';
import { repoRoot } from '@dataverse-outbox/stack';
import { runCommand, WebApiRowStore, type CommandEnvironment } from '@dataverse-outbox/webresources';
import { runAction } from '../../pcf-outbox-monitor/OutboxMonitor/core/runAction';
import { createWebApiRows } from '../../pcf-outbox-monitor/OutboxMonitor/webApiRows';
import { pollUntil } from './helpers/cli';

jest.setTimeout(240_000);

const c = OutboxMessage.columns;
const S = OutboxStatus;
const QUEUE = 'erp-sales';
const ACKS = 'outbox-acks';
const TOKEN = 'replay-from-everywhere';
const origins = ['monitor', 'command-bar', 'cli'] as const;
type Origin = (typeof origins)[number];

let dataverse: DataverseEmulator;
let broker: ServiceBusEmulator;
let client: DataverseClient;
let serviceBus: ServiceBusClient;
let publisher: OutboxPublisher;
let brokenConsumer: { consumer: OutboxConsumer; close(): Promise<void> } | undefined;
let erp: ErpSalesService | undefined;
let dir: string;

/** The page's fetch: in the app the session cookie authenticates the monitor and the command bar; here the token does. */
const pageFetch: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${TOKEN}` } });

async function api(method: string, url: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await pageFetch(`${dataverse.apiUrl}${url}`, {
    method,
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', Prefer: 'return=representation' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** A SalesOrderWon outbox row as a producer commits it (Pending, keyed by the opportunity). */
async function commitOrder(origin: Origin): Promise<{ id: string; messageId: string }> {
  const opportunityId = `opp-${origin}`;
  const messageId = `SalesOrderWon:${opportunityId}`;
  const row = await api('POST', OutboxMessage.entitySetName, {
    [c.name]: `Order won ${opportunityId}`,
    [c.messageId]: messageId,
    [c.target]: QUEUE,
    [c.eventType]: 'SalesOrderWon',
    [c.contentType]: 'application/json',
    [c.sessionKey]: opportunityId,
    [c.status]: S.Pending,
    [c.payload]: JSON.stringify({ schemaVersion: 1, opportunityId, customer: { id: `acc-${origin}`, name: 'Contoso Ltd' }, amount: 1250, currency: 'EUR' }),
  });
  return { id: String(row[OutboxMessage.primaryIdAttribute]), messageId };
}

async function stored(id: string): Promise<Record<string, unknown>> {
  return api('GET', `${OutboxMessage.entitySetName}(${id})?$select=${[c.status, c.ackedOn, c.lastError, c.replayCount, c.attempts].join(',')}`);
}

/** The consumer's earlier release: its validation refused every customer given as { id, name }. */
async function startBrokenConsumer(file: string): Promise<void> {
  const inbox = createSqliteInbox({ filename: file });
  const consumer = createOutboxConsumer({
    serviceBus,
    entity: QUEUE,
    sessions: true,
    inbox,
    acknowledge: { queue: ACKS },
    handler: {
      SalesOrderWon: {
        handle: () => {
          throw new PermanentError('SalesOrderWon payload: customer must be a name', { reason: 'ValidationFailed' });
        },
      },
    },
  });
  brokenConsumer = {
    consumer,
    async close() {
      await consumer.close();
      await inbox.close();
    },
  };
  await consumer.start();
}

/** `outbox replay <id> --json`, run as an operator runs it (npm run outbox -w publisher-function). */
function cliReplay(id: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(repoRoot, 'publisher-function', 'src', 'cli.ts'), 'replay', id, '--json'], {
    cwd: path.join(repoRoot, 'publisher-function'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), DATAVERSE_URL: dataverse.url, DATAVERSE_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function commandBar(): CommandEnvironment {
  return {
    store: new WebApiRowStore({ baseUrl: dataverse.apiUrl, fetch: pageFetch }),
    confirm: async () => true,
    alert: async () => undefined,
    showProgress: () => undefined,
    closeProgress: () => undefined,
    progressThreshold: 5,
    concurrency: 4,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'replay-everywhere-'));
  dataverse = await startDataverseEmulator({ port: 0 });
  broker = await startServiceBusEmulator({
    port: 0,
    config: buildEmulatorConfig({
      queues: [
        { name: QUEUE, requiresSession: true, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 600_000, lockDurationInMs: 5000 },
        { name: ACKS, lockDurationInMs: 10_000 },
      ],
    }),
  });
  client = new DataverseClient(dataverse.url, { token: TOKEN }, { retryOptions: { retryDelayInMs: 50, maxRetries: 8 } });
  serviceBus = new ServiceBusClient(broker.connectionString);
  publisher = createPublisher({
    dataverse: client,
    serviceBus,
    appSettings: { OUTBOX_ALLOWED_TARGETS: JSON.stringify([QUEUE]), OUTBOX_ACK_QUEUE: ACKS },
    leaseDurationInMs: 10_000,
    polling: { minIntervalInMs: 20, maxIntervalInMs: 200 },
    ackListener: true,
    deadLetterMonitorIntervalInMs: 0,
  });
  await publisher.start();
});

afterAll(async () => {
  await brokenConsumer?.close().catch(() => undefined);
  await erp?.close().catch(() => undefined);
  await publisher?.close().catch(() => undefined);
  await serviceBus?.close();
  await client?.close();
  await broker?.close();
  await dataverse?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('rows the consumer rejected, replayed from the monitor, the command bar and the CLI, end Acked with one sales order each once the consumer is fixed', async () => {
  const erpDatabase = path.join(dir, 'erp-sales.sqlite');
  await startBrokenConsumer(erpDatabase);
  const rows = new Map<Origin, { id: string; messageId: string }>();
  for (const origin of origins) rows.set(origin, await commitOrder(origin));
  const ids = origins.map((o) => rows.get(o)!.id);

  // The broken consumer rejects each: the ack listener records the answer on the row.
  await pollUntil('every row rejected by the consumer', async () => ((await Promise.all(ids.map(stored))).every((r) => r[c.status] === S.DeadLettered) ? true : undefined), 60_000, 100);
  for (const id of ids) {
    const row = await stored(id);
    expect(row[c.ackedOn]).toEqual(expect.any(String));
    expect(row[c.lastError]).toMatch(/^Rejected by consumer: ValidationFailed: SalesOrderWon payload: customer must be a name/);
  }
  await brokenConsumer!.close();
  brokenConsumer = undefined;

  // The fixed consumer: the ERP sample itself, on the same database.
  erp = createErpSalesService({ serviceBus: { connectionString: broker.connectionString }, queue: QUEUE, database: { kind: 'sqlite', file: erpDatabase }, ackQueue: ACKS });
  await erp.start();
  expect((await erp.state()).salesOrders).toBe(0);

  // (a) The monitor's Replay button: runAction over the monitor's Web API adapter.
  const monitorRow = rows.get('monitor')!;
  const monitor = await runAction(createWebApiRows({ apiBase: dataverse.apiUrl, fetch: pageFetch }), 'replay', [{ id: monitorRow.id, name: 'Order won opp-monitor', seenStatus: S.DeadLettered }]);
  expect(monitor).toEqual([expect.objectContaining({ ok: true, outcome: 'done' })]);

  // (b) The command bar's Replay: runCommand with the Web API row store, the status the grid showed as seen.
  const barRow = rows.get('command-bar')!;
  const bar = await runCommand('replay', [barRow.id], commandBar(), new Map([[barRow.id, S.DeadLettered]]));
  expect(bar.results).toEqual([{ id: barRow.id, outcome: 'done' }]);

  // (c) `outbox replay <id>`.
  const cliRow = rows.get('cli')!;
  const cli = await cliReplay(cliRow.id);
  expect([cli.code, cli.stderr]).toEqual([0, '']);
  expect(JSON.parse(cli.stdout)).toMatchObject({ action: 'replay', changed: [cliRow.id], skipped: [], failed: [] });

  // Sent again as <messageId>#r1, marked Published (not DeadLettered from the old answer), processed, acknowledged.
  const statuses = async (): Promise<string[]> => (await Promise.all(ids.map(stored))).map((r) => describeStatus(r[c.status]));
  let final = await statuses();
  for (const deadline = Date.now() + 60_000; !final.every((s) => s === 'Acked'); final = await statuses()) {
    // DeadLettered after the replay is final (the fixed consumer's ack cannot move it): say so now, not at the deadline.
    if (final.includes('DeadLettered') || Date.now() > deadline) throw new Error(`replayed rows (monitor, command bar, CLI) are ${final.join(', ')}, not Acked`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(final).toEqual(['Acked', 'Acked', 'Acked']);
  for (const id of ids) {
    const row = await stored(id);
    expect(row).toEqual(expect.objectContaining({ [c.replayCount]: 1, [c.attempts]: 1, [c.ackedOn]: expect.any(String) }));
    expect(row[c.lastError] ?? null).toBeNull();
  }

  // Exactly one effect per row in the ERP.
  const messageIds = origins.map((o) => rows.get(o)!.messageId);
  await pollUntil('three sales orders', async () => ((await erp!.state()).salesOrders >= 3 ? true : undefined), 10_000, 100);
  const state = await erp.state();
  expect(checkErpSalesInvariants(state, messageIds)).toEqual({ ok: true, missing: [], duplicated: [], unexpected: [], outOfOrder: [] });
  expect(state.salesOrders).toBe(3);
});
