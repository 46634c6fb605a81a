// Builds what the stack needs and a fresh clone lacks: the production PCF bundle the monitor page hosts. Everything else
// runs from TypeScript sources (tsx), so no other build is needed. Rebuilt only when missing or older than its sources.
// pcf-scripts resolves @dataverse-outbox/solution through its built output (dist/, the default export condition), which a
// fresh clone does not have yet, so the solution workspace is compiled first (tsc -b: a no-op when up to date).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths';

export const pcfWorkspace = path.join(repoRoot, 'pcf-outbox-monitor');
export const pcfBundle = path.join(pcfWorkspace, 'out', 'controls', 'OutboxMonitor', 'bundle.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated' || entry.name === 'node_modules') continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export type BundleStatus = 'missing' | 'stale' | 'fresh';

export function monitorBundleStatus(): BundleStatus {
  if (!existsSync(pcfBundle)) return 'missing';
  // The control bundles the contract's and the Web API client's browser copies: a change there makes it stale too.
  const sources = Math.max(
    newestMtime(path.join(pcfWorkspace, 'OutboxMonitor')),
    statSync(path.join(pcfWorkspace, 'package.json')).mtimeMs,
    newestMtime(path.join(repoRoot, 'contract', 'src')),
    newestMtime(path.join(repoRoot, 'web-api', 'src')),
  );
  return statSync(pcfBundle).mtimeMs >= sources ? 'fresh' : 'stale';
}

/**
 * `npm run build -w pcf-outbox-monitor` when the bundle is missing or stale; output goes to `logFile`.
 * Resolves with the status found before building.
 */
export async function ensureMonitorBundle(logFile: string, onTick?: (elapsedMs: number) => void): Promise<BundleStatus> {
  const status = monitorBundleStatus();
  if (status === 'fresh') return status;
  mkdirSync(path.dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const t0 = Date.now();
  const timer = onTick ? setInterval(() => onTick(Date.now() - t0), 1000) : undefined;
  const run = (what: string, command: string, args: readonly string[], check: () => boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      log.write(`\n$ ${command} ${args.join(' ')}\n`);
      const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pipe(log, { end: false });
      child.stderr.pipe(log, { end: false });
      child.once('error', reject);
      child.once('close', (code) => (code === 0 && check() ? resolve() : reject(new Error(`${what} failed (exit code ${code}); see ${logFile}.`))));
    });
  try {
    await run('Compiling the solution workspace (needed by the monitor control build)', process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'solution'], () => true);
    // The browser copies (ES modules in dist/esm) the control's webpack build resolves; tsc -b does not write them.
    await run('Building the contract and Web API browser copies', process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '-w', 'contract', '-w', 'web-api'], () => true);
    await run('Building the monitor control', process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '-w', 'pcf-outbox-monitor'], () => existsSync(pcfBundle));
  } finally {
    if (timer) clearInterval(timer);
    await new Promise<void>((r) => log.end(() => r()));
  }
  return status;
}
