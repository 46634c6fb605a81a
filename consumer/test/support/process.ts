// Spawning the erp-sales service as a real process (node --conditions=development --import tsx), reading its JSON log
// lines, and making sure no child outlives the test.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '../../..');
const children = new Set<ChildProcess>();

export interface ServiceProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  /** Resolves with the first log line matching, or rejects after the timeout. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutInMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export function spawnTs(file: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', file], {
    cwd: repoRoot,
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  let pending = '';
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    exited,
    output: () => raw,
    waitForLog(match, timeoutInMs = 60_000) {
      const found = lines.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`No matching log line within ${timeoutInMs} ms. Output:\n${raw}`)), timeoutInMs);
        const onExit = exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`Process exited (code ${code}, signal ${signal}) before the expected log line. Output:\n${raw}`));
        });
        void onExit;
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

/** Kills every child still running (call in afterAll). */
export async function killAllChildren(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
