// Spawning the real CLI and worker (tsx, from source) for the operator tests, and a port nothing listens on.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface Spawned {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exit: Promise<number | null>;
  /** Milliseconds from spawn to exit. */
  elapsed: () => number;
}

const children: ChildProcess[] = [];

/** Runs src/<file> with exactly `env` (plus PATH and HOME). */
export function runSource(file: string, args: string[], env: Record<string, string>): Spawned {
  const started = Date.now();
  let ended: number | undefined;
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(ROOT, 'src', file), ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    cwd: ROOT,
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      ended = Date.now();
      resolve(code);
    }),
  );
  return { child, output: () => ({ stdout, stderr }), exit, elapsed: () => (ended ?? Date.now()) - started };
}

/** Kills every process this file spawned that is still running. */
export function killSpawned(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A local port that was just free: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitFor(check: () => boolean, what: string, timeoutInMs = 30_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutInMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}
