// Runs the stack's CLIs exactly as `npm start` / `npm run reset` do (node --conditions=development --import tsx <cli>),
// as child processes the test can signal and must clean up.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { checkRunning, dataLayout, readState, repoRoot, type StackState } from '@dataverse-outbox/stack';

export const cliPath = (name: 'start' | 'demo' | 'reset'): string => path.join(repoRoot, 'stack', 'src', 'cli', `${name}.ts`);

export interface CliRun {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function runCli(name: 'start' | 'demo' | 'reset', args: readonly string[], env: Record<string, string | undefined> = {}): CliRun {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', cliPath(name), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Starts `npm start`'s CLI on a data folder and waits until the state file says running. */
export async function startCli(dataDir: string, env: Record<string, string | undefined> = {}, timeoutMs = 150_000): Promise<{ run: CliRun; state: StackState }> {
  const run = runCli('start', ['--data-dir', dataDir], env);
  let code: number | null | undefined;
  void run.exited.then((c) => (code = c));
  const state = await pollUntil(
    'the stack to be running',
    () => {
      if (code !== undefined) throw new Error(`npm start exited with ${code}:\n${run.output()}`);
      const s = readState(dataLayout(dataDir));
      return s?.status === 'running' && s.pid === run.child.pid && run.output().includes('Dataverse Outbox is running') ? s : undefined;
    },
    timeoutMs,
  ).catch((e: unknown) => {
    run.child.kill('SIGKILL');
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- npm start output ---\n${run.output()}`);
  });
  return { run, state };
}

/** Ctrl+C: SIGINT to the CLI, then waits for it to exit (the stack stops in order). */
export async function stopCli(run: CliRun, timeoutMs = 90_000): Promise<number | null> {
  run.child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([run.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
  clearTimeout(timer);
  if (code === 'timeout') {
    run.child.kill('SIGKILL');
    throw new Error(`npm start did not stop within ${timeoutMs} ms:\n${run.output()}`);
  }
  return code;
}

/** Last resort in afterAll: kill the orchestrator and any component it left. */
export function killStack(dataDir: string, run?: CliRun): void {
  run?.child.kill('SIGKILL');
  const check = checkRunning(dataLayout(dataDir));
  for (const c of check.livingComponents) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
