// The orchestrator as the chaos run uses it: kill (SIGKILL) and restart a component on the same port with its data,
// a start that fails says why, and components never outlive an orchestrator that was killed.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ComponentStartError, dataLayout, readState, startStack, type LocalStack } from '@dataverse-outbox/stack';
import { isProcessAlive } from '../src/state';
import { killStack, pollUntil, runCli, startCli, type CliRun } from './helpers/cli';

jest.setTimeout(180_000);

const dirs: string[] = [];
const stacks: LocalStack[] = [];
const runs: { dir: string; run: CliRun }[] = [];
function tempDataDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'stack-orch-'));
  dirs.push(d);
  return path.join(d, 'data');
}

afterAll(async () => {
  for (const s of stacks) await s.stop().catch(() => undefined);
  for (const { dir, run } of runs) killStack(dir, run);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('kill and restart a component: same port, data kept, exits reported as expected', async () => {
  const dataDir = tempDataDir();
  const stack = await startStack({ dataDir, components: ['dataverse', 'servicebus'] });
  stacks.push(stack);
  const client = stack.dataverseClient();
  const { id } = await client.create('accounts', { name: 'kept across a kill' });
  await client.close();

  const dataverse = stack.component('dataverse');
  const exits: { signal: NodeJS.Signals | null; expected: boolean }[] = [];
  dataverse.on('exit', (i) => exits.push({ signal: i.signal, expected: i.expected }));
  const pid = dataverse.pid;
  const info = await stack.kill('dataverse');
  expect(info).toMatchObject({ signal: 'SIGKILL', expected: true });
  expect(isProcessAlive(pid)).toBe(false);
  expect(dataverse.state).toBe('stopped');

  await stack.restart('dataverse');
  expect(dataverse.starts).toBe(2);
  expect(dataverse.pid).not.toBe(pid);
  expect(readState(dataLayout(dataDir))?.components.dataverse?.pid).toBe(dataverse.pid);
  const again = stack.dataverseClient();
  expect(await again.retrieve('accounts', id, { select: ['name'] })).toMatchObject({ name: 'kept across a kill' });
  await again.close();

  // A graceful restart of the Service Bus emulator keeps its port too (clients reconnect to the same address).
  const port = stack.ports.servicebus;
  await stack.restart('servicebus');
  expect(stack.ports.servicebus).toBe(port);
  expect(stack.serviceBusConnectionString).toContain(`127.0.0.1:${port}`);

  await stack.stop();
  // The kill, then the graceful stop (SIGTERM handled: exit code 0): both asked for, neither reported as a crash.
  expect(exits).toEqual([
    { signal: 'SIGKILL', expected: true },
    { signal: null, expected: true },
  ]);
  expect(readState(dataLayout(dataDir))?.status).toBe('stopped');
});

test('a component that cannot start fails the start with its own words, and nothing is left running', async () => {
  const dataDir = tempDataDir();
  const error = await startStack({
    dataDir,
    components: ['dataverse', 'publisher'],
    extraEnv: { publisher: { DATAVERSE_URL: 'not-a-url' } },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ComponentStartError);
  expect((error as ComponentStartError).component).toBe('publisher');
  expect((error as Error).message).toMatch(/Publisher worker exited during start \(code 78\)/);
  expect((error as Error).message).toMatch(/DATAVERSE_URL is not a valid Dataverse URL: it does not start with https:\/\//);
  const state = readState(dataLayout(dataDir))!;
  expect(state.status).toBe('stopped');
  await expect(fetch(`http://127.0.0.1:${state.ports.dataverse}/_admin/health`)).rejects.toThrow();
});

test('components stop by themselves when npm start is killed with SIGKILL; reset then works', async () => {
  const dataDir = tempDataDir();
  const { run, state } = await startCli(dataDir);
  runs.push({ dir: dataDir, run });
  const pids = Object.values(state.components).map((c) => c!.pid!);
  expect(pids).toHaveLength(5);
  run.child.kill('SIGKILL');
  await pollUntil('every component to stop', () => (pids.some(isProcessAlive) ? undefined : true), 60_000);
  const reset = runCli('reset', ['--data-dir', dataDir]);
  expect(await reset.exited).toBe(0);
  expect(reset.output()).toMatch(/Reset: deleted/);
});
