// Child processes that run TypeScript sources (emulator hosts, the per-component benchmark scripts), so the emulators
// get a core of their own on a 2-core machine. Every child is killed when the benchmark ends or the runner exits.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const benchRoot = path.resolve(__dirname, '..', '..');
export const repoRoot = path.resolve(benchRoot, '..');

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** `node --conditions=development --import tsx <script> ...args`, from the repository root. */
export function spawnTs(script: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; onStderr?: (line: string) => void; onStdout?: (line: string) => void } = {}): ChildProcess {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (options.onStdout) createInterface({ input: child.stdout! }).on('line', options.onStdout);
  createInterface({ input: child.stderr! }).on('line', (line) => options.onStderr?.(line));
  return child;
}

/** Waits for the child to exit; rejects with its last stderr lines when the exit code is not 0. */
export function waitForExit(child: ChildProcess, what: string, stderrTail: () => string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) {
      if (child.exitCode === 0) resolve();
      else reject(new Error(`${what} exited with code ${child.exitCode}:\n${stderrTail().join('\n')}`));
      return;
    }
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${what} exited with ${signal ?? `code ${code}`}:\n${stderrTail().join('\n')}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Keeps the last `n` lines of a stream, for error messages. */
export function tail(n: number): { push(line: string): void; lines(): string[] } {
  const buf: string[] = [];
  return {
    push(line) {
      buf.push(line);
      if (buf.length > n) buf.shift();
    },
    lines: () => [...buf],
  };
}
