// Issue 21, canary acceptance: against the local stack's real processes (both emulators, the publisher worker and the
// ERP consumer process, which runs the canary responder on `outbox-canary`), `outbox canary` reports each leg's time and
// exits 0; with the consumer stopped it exits non-zero within its timeout naming the "acked" leg.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canaryEventType, OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { repoRoot, startStack, type LocalStack } from '@dataverse-outbox/stack';

jest.setTimeout(180_000);

let stack: LocalStack | undefined;
const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-canary-'));

afterAll(async () => {
  await stack?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** `npm run outbox -w publisher-function -- canary ...` as the deploy tool's verify step runs it (from source). */
function outboxCanary(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(repoRoot, 'publisher-function', 'src', 'cli.ts'), 'canary', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATAVERSE_URL: stack!.urls.dataverse, DATAVERSE_TOKEN: stack!.dataverseToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started })));
}

test('the canary comes back through the real processes, then stalls at "acked" with the consumer stopped', async () => {
  stack = await startStack({ dataDir: path.join(dir, 'data'), components: ['dataverse', 'servicebus', 'publisher', 'consumer'] });

  const ok = await outboxCanary(['--timeout', '60', '--json']);
  expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
  const r = JSON.parse(ok.stdout) as { ok: boolean; rowId: string; target: string; legs: { leg: string; durationMs?: number }[]; totalMs: number };
  expect(r).toMatchObject({ ok: true, target: 'outbox-canary' });
  expect(r.legs.map((l) => [l.leg, typeof l.durationMs])).toEqual([['published', 'number'], ['acked', 'number']]);
  process.stdout.write(`canary through the local stack: ${JSON.stringify(r.legs)} total ${r.totalMs} ms\n`);
  const client = stack.dataverseClient();
  const row = await client.retrieve(OutboxMessage.entitySetName, r.rowId, { select: [OutboxMessage.columns.status, OutboxMessage.columns.eventType] });
  await client.close();
  expect(row).toMatchObject({ [OutboxMessage.columns.status]: OutboxStatus.Acked, [OutboxMessage.columns.eventType]: canaryEventType });

  await stack.kill('consumer');
  const stalled = await outboxCanary(['--timeout', '10']);
  expect(stalled.code).not.toBe(0);
  expect(stalled.stderr).toContain('stalled at "acked": no acked time within 10 s (row Published)');
  expect(stalled.stdout).toMatch(/acked\s+STALLED/);
  // Within its timeout (plus the CLI's start and one read).
  expect(stalled.ms).toBeLessThan(10_000 + 15_000);
});
