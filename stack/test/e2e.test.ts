// End to end through the local stack, started exactly as `npm start` starts it (its CLI, as a child process, on a
// temporary data folder): the demo producer wins 200 opportunities including bad rows; then the stores are checked
// (ERP sales orders, outbox rows in the Dataverse emulator) and the monitor page is read in chromium.
// The second test stops and starts the stack again (data kept, PostgreSQL inbox), and shows reset refusing while the
// stack runs and wiping the data folder after.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { checkErpSalesInvariants, readErpSalesState } from '@dataverse-outbox/consumer/examples/erp-sales';
import { DataverseClient } from '@dataverse-outbox/publisher-function';
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { checkRunning, dataLayout, ensureMonitorBundle, NOT_ALLOWED_TARGET, type StackState } from '@dataverse-outbox/stack';
import { countAllByStatus } from '../src/demo/observe';
import { runDemo } from '../src/demo/run';
import { openBrowser, readMonitorCounts } from './helpers/browser';
import { killStack, pollUntil, runCli, startCli, stopCli, type CliRun } from './helpers/cli';

jest.setTimeout(300_000);

const c = OutboxMessage.columns;
const statusName = new Map<number, string>(Object.entries(OutboxStatus).map(([k, v]) => [v, k]));
const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Row {
  messageId: string;
  status: string;
  lastError: string;
  target: string;
}

async function allRows(state: StackState): Promise<Row[]> {
  const client = new DataverseClient(state.urls.dataverse, { token: state.dataverseToken });
  try {
    const rows: Row[] = [];
    for await (const r of client.listAll(OutboxMessage.entitySetName, { select: [c.messageId, c.status, c.lastError, c.target], maxPageSize: 5000 })) {
      rows.push({ messageId: String(r[c.messageId]), status: statusName.get(Number(r[c.status])) ?? String(r[c.status]), lastError: String(r[c.lastError] ?? ''), target: String(r[c.target] ?? '') });
    }
    return rows;
  } finally {
    await client.close();
  }
}

async function emulatorCounts(state: StackState): Promise<Awaited<ReturnType<typeof countAllByStatus>>> {
  const client = new DataverseClient(state.urls.dataverse, { token: state.dataverseToken });
  try {
    return await countAllByStatus(client);
  } finally {
    await client.close();
  }
}

async function postgresReachable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: testDatabaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const dirs: string[] = [];
const runs: { dir: string; run: CliRun }[] = [];
const schemas: string[] = [];

beforeAll(async () => {
  // What `npm start` does first; done here so the stack's own start is timed without it. Fresh bundles are left alone.
  await ensureMonitorBundle(path.join(os.tmpdir(), 'stack-e2e-build.log'));
}, 300_000);

afterAll(async () => {
  for (const { dir, run } of runs) killStack(dir, run);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length) {
    const client = new pg.Client({ connectionString: testDatabaseUrl });
    await client.connect().catch(() => undefined);
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
});

function tempDataDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stack-e2e-'));
  dirs.push(d);
  return path.join(d, '.outbox-data');
}

test('npm start + demo (200 orders, bad rows): one sales order per good order, every row Acked or Failed with a reason, the monitor shows the emulator counts', async () => {
  const dataDir = tempDataDir();
  const { run, state } = await startCli(dataDir);
  runs.push({ dir: dataDir, run });

  // Start-up output says what runs where and how to stop.
  const out = run.output();
  for (const text of [state.urls.monitor, state.urls.dataverseApi, state.serviceBusConnectionString, 'Ctrl+C', 'npm run demo']) expect(out).toContain(text);
  expect(state.erpDatabase.kind).toBe('sqlite');

  const { summary, run: demo } = await runDemo({
    target: { dataverseUrl: state.urls.dataverse, dataverseToken: state.dataverseToken, erpDatabase: state.erpDatabase },
    orders: 200,
    rate: 50,
    badPerKind: 2,
    progress: 'none',
    settleTimeoutMs: 150_000,
    resultsDir: dataLayout(dataDir).demoDir,
  });
  expect(summary.sent).toBe(200);
  expect(summary.byKind).toEqual({ good: 194, 'target-not-allowed': 2, 'malformed-payload': 2, 'oversize-payload': 2 });
  expect(summary.complete).toBe(true);

  // Every good order has exactly one sales order in the consumer's store; none for bad rows; per-customer order held.
  const good = demo.orders.filter((o) => o.kind === 'good').map((o) => o.messageId);
  const erp = await readErpSalesState(state.erpDatabase);
  const report = checkErpSalesInvariants(erp, good);
  expect(report).toEqual({ ok: true, missing: [], duplicated: [], unexpected: [], outOfOrder: [] });
  expect(erp.salesOrders).toBe(194);
  expect(summary.erp.outOfOrderKeys).toEqual([]);

  // Every outbox row ends Acked or Failed with a reason; the reason names what is wrong with each bad row.
  const rows = await allRows(state);
  expect(rows).toHaveLength(200);
  const byId = new Map(rows.map((r) => [r.messageId, r]));
  for (const o of demo.orders) {
    const row = byId.get(o.messageId)!;
    if (o.kind === 'good') {
      expect({ id: o.messageId, status: row.status }).toEqual({ id: o.messageId, status: 'Acked' });
    } else {
      expect({ id: o.messageId, kind: o.kind, status: row.status }).toEqual({ id: o.messageId, kind: o.kind, status: 'Failed' });
      const expected = { 'target-not-allowed': new RegExp(`"${NOT_ALLOWED_TARGET}" is not in obx_AllowedTargets`), 'malformed-payload': /Malformed JSON payload/, 'oversize-payload': /Payload too large/ }[o.kind];
      expect(row.lastError).toMatch(expected);
    }
  }

  // The monitor page (production PCF bundle, live data through the host's proxy) shows the emulator's counts.
  const counts = await emulatorCounts(state);
  expect(counts).toMatchObject({ Acked: 194, Failed: 6, Pending: 0, Published: 0, total: 200 });
  const browser = await openBrowser();
  try {
    const shown = await readMonitorCounts(browser.page, state.urls.monitor);
    // The monitor counts the statuses health judges (Pending, Failed, DeadLettered), not the finished rows.
    expect(shown).toEqual({ Pending: counts.Pending, Failed: counts.Failed, DeadLettered: counts.DeadLettered });
  } finally {
    await browser.close();
  }

  // Ctrl+C stops every component in order and exits 0.
  expect(await stopCli(run)).toBe(0);
  expect(run.output()).toMatch(/Stopped\. Data kept/);
  expect(checkRunning(dataLayout(dataDir)).running).toBe(false);
});

test('stop and start again keeps the data (PostgreSQL inbox via DATABASE_URL); reset refuses while the stack runs and wipes it after', async () => {
  const unreachable = await postgresReachable();
  if (unreachable && process.env.CI === 'true') throw new Error(`PostgreSQL unreachable at ${testDatabaseUrl} (CI=true: this test must run on it): ${unreachable}`);
  if (unreachable) process.stderr.write(`[stack e2e] PostgreSQL unreachable (${unreachable}): the restart test uses the SQLite inbox instead\n`);
  const schema = `stack_e2e_${process.pid}_${Date.now().toString(36)}`;
  schemas.push(schema);
  const env = unreachable ? { DATABASE_URL: undefined } : { DATABASE_URL: testDatabaseUrl, ERP_DB_SCHEMA: schema };
  const dataDir = tempDataDir();

  const first = await startCli(dataDir, env);
  runs.push({ dir: dataDir, run: first.run });
  expect(first.state.erpDatabase).toEqual(unreachable ? { kind: 'sqlite', file: dataLayout(dataDir).erpSalesFile } : { kind: 'postgres', url: testDatabaseUrl, schema });

  // The demo CLI finds the running stack through the state file.
  const demo = runCli('demo', ['--orders', '30', '--rate', '30', '--bad', '1', '--data-dir', dataDir]);
  expect(await demo.exited).toBe(0);
  expect(demo.output()).toMatch(/27\/27 good orders have exactly one sales order/);
  expect(demo.output()).toMatch(/Failed +3/);
  const before = { rows: await allRows(first.state), erp: await readErpSalesState(first.state.erpDatabase) };
  expect(before.rows).toHaveLength(30);
  expect(before.erp.salesOrders).toBe(27);

  // Reset refuses while the stack runs, and touches nothing.
  const refused = runCli('reset', ['--data-dir', dataDir]);
  expect(await refused.exited).toBe(2);
  expect(refused.output()).toMatch(/Not resetting: the local stack is running/);
  expect(existsSync(dataLayout(dataDir).dataverseFile)).toBe(true);

  expect(await stopCli(first.run)).toBe(0);

  // Start again: same data in Dataverse and in the ERP, same monitor URL (ports are reused when free).
  const second = await startCli(dataDir, env);
  runs.push({ dir: dataDir, run: second.run });
  expect(second.run.output()).toMatch(/Outbox settings: kept from the previous run/);
  const after = { rows: await allRows(second.state), erp: await readErpSalesState(second.state.erpDatabase) };
  expect(new Map(after.rows.map((r) => [r.messageId, r.status]))).toEqual(new Map(before.rows.map((r) => [r.messageId, r.status])));
  expect(after.erp.salesOrders).toBe(27);
  expect(after.erp.duplicateEffects).toEqual([]);
  // Nothing is redelivered or re-applied after the restart (everything was acknowledged before the stop).
  await new Promise((r) => setTimeout(r, 2000));
  expect((await readErpSalesState(second.state.erpDatabase)).salesOrders).toBe(27);
  expect(await stopCli(second.run)).toBe(0);

  // Reset wipes the data folder.
  const reset = runCli('reset', ['--data-dir', dataDir]);
  expect(await reset.exited).toBe(0);
  expect(reset.output()).toMatch(/Reset: deleted/);
  await pollUntil('the data folder to be gone', () => (existsSync(dataDir) ? undefined : true), 5_000);
});
