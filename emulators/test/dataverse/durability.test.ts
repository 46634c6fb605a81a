// The kill-and-restart test: rows written through the CLI process survive a SIGKILL; an in-flight CreateMultiple is
// all there or not at all (SQLite WAL + one transaction per request).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OutboxMessage } from '@dataverse-outbox/contract';
import { outboxRow } from './support';

const SET = OutboxMessage.entitySetName;
const TYPE = `Microsoft.Dynamics.CRM.${OutboxMessage.logicalName}`;
const MAIN = path.resolve(__dirname, '../../src/dataverse/main.ts');
const children: ChildProcess[] = [];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'dv-emulator-'));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function startCli(dataFile: string): Promise<{ child: ChildProcess; apiUrl: string }> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, '--port', '0', '--data-file', dataFile], {
    cwd: path.resolve(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${out} ${err}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\(Web API (\S+),/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, apiUrl: m[1] as string });
      }
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`emulator exited with ${String(code)}: ${err}`)));
  });
}

function call(apiUrl: string, method: string, p: string, body?: unknown): Promise<Response> {
  return fetch(`${apiUrl}${p}`, {
    method,
    headers: { Authorization: 'Bearer durable', 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

test('committed rows survive kill -9; an interrupted bulk write leaves nothing half-written', async () => {
  const dataFile = path.join(dir, 'dataverse.sqlite');
  const first = await startCli(dataFile);
  const written: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await call(first.apiUrl, 'POST', SET, outboxRow(`durable-${i}`));
    expect(res.status).toBe(204);
    written.push(`durable-${i}`);
  }
  const bulk = await call(first.apiUrl, 'POST', `${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, {
    Targets: Array.from({ length: 300 }, (_, i) => ({ ...outboxRow(`bulk-${i}`), '@odata.type': TYPE })),
  });
  expect(bulk.status).toBe(200);
  const seqBefore = (await (await call(first.apiUrl, 'GET', `${SET}?$select=obx_sequence&$orderby=obx_sequence desc&$top=1`)).json()) as { value: { obx_sequence: string }[] };

  // A large CreateMultiple in flight when the process is killed.
  const inFlight = call(first.apiUrl, 'POST', `${SET}/Microsoft.Dynamics.CRM.CreateMultiple`, {
    Targets: Array.from({ length: 3000 }, (_, i) => ({ ...outboxRow(`inflight-${i}`), '@odata.type': TYPE })),
  }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 30));
  await killed(first.child);
  await inFlight;

  const second = await startCli(dataFile);
  try {
    for (const id of written) {
      const res = await call(second.apiUrl, 'GET', `${SET}(obx_messageid='${id}')?$select=obx_messageid`);
      expect(res.status).toBe(200);
    }
    const bulkCount = await (await call(second.apiUrl, 'GET', `${SET}/$count?$filter=${encodeURIComponent("startswith(obx_messageid,'bulk-')")}`)).text();
    expect(bulkCount).toBe('300');
    const inflightCount = Number(await (await call(second.apiUrl, 'GET', `${SET}/$count?$filter=${encodeURIComponent("startswith(obx_messageid,'inflight-')")}`)).text());
    // $count is capped at 5,000, above 3,000: the count is exact.
    expect([0, 3000]).toContain(inflightCount);
    // The sequence continues after the restart; it never repeats a value.
    const after = await call(second.apiUrl, 'POST', `${SET}?$select=obx_sequence`, outboxRow('after-restart'));
    expect(after.status).toBe(204);
    const latest = (await (await call(second.apiUrl, 'GET', `${SET}(obx_messageid='after-restart')?$select=obx_sequence`)).json()) as { obx_sequence: string };
    expect(latest.obx_sequence > (seqBefore.value[0]?.obx_sequence ?? '')).toBe(true);
  } finally {
    await killed(second.child);
  }
});

test('SIGTERM stops the CLI cleanly (exit code 0) and the data file reopens', async () => {
  const dataFile = path.join(dir, 'clean.sqlite');
  const first = await startCli(dataFile);
  expect((await call(first.apiUrl, 'POST', 'accounts', { name: 'Clean Stop' })).status).toBe(204);
  const exit = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));
  first.child.kill('SIGTERM');
  expect(await exit).toBe(0);
  const second = await startCli(dataFile);
  try {
    const rows = (await (await call(second.apiUrl, 'GET', "accounts?$select=name&$filter=name eq 'Clean Stop'")).json()) as { value: unknown[] };
    expect(rows.value).toHaveLength(1);
  } finally {
    await killed(second.child);
  }
});
