// The publisher's application user in no column security profile: Dataverse returns the secured columns (obx_status,
// obx_target, obx_payload, ...) as null. The publisher must not take such rows for malformed ones and fail them: every
// cycle fails with one error saying what to do, in the worker's log and on the health check, and no row is touched.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { DataverseClient, isOutboxError } from '../../src';
import type { LogFields } from '../../src/core/ports';
import { drainQueue, startHarness, type Harness } from '../support/harness';

const FIX = 'add the application user to the Outbox Publisher column security profile';
const C = OutboxMessage.columns;
let h: Harness;
let auditor: DataverseClient;

beforeAll(async () => {
  // 'publisher-app' is the harness publisher's token; the producer and the auditor are in a profile.
  h = await startHarness({ dataverse: { columnSecurity: { withoutProfile: ['publisher-app'] } } });
  auditor = new DataverseClient(h.dv.url, { token: 'auditor' });
});
afterAll(async () => {
  await auditor?.close();
  await h?.close();
});

async function rowsAsStored(): Promise<Record<string, unknown>[]> {
  const page = await auditor.retrieveMultiple(OutboxMessage.entitySetName, { select: [C.messageId, C.status, C.attempts, C.lastError, C.nextAttemptOn], orderBy: `${C.sequence} asc` });
  return page.value.map((r) => ({ id: r[C.messageId], status: r[C.status], attempts: r[C.attempts] ?? 0, lastError: r[C.lastError], next: r[C.nextAttemptOn] }));
}

describe('secured columns hidden from the publisher', () => {
  beforeAll(async () => {
    await h.writer.transaction((tx) => {
      for (let i = 0; i < 3; i++) tx.enqueue({ target: 'orders', payload: { i }, messageId: `cs-${i}` });
    });
  });

  it('a cycle fails with the ColumnSecurity error naming the fix; no row is failed, retried or sent', async () => {
    const before = await rowsAsStored();
    const lines: { message: string; fields?: LogFields }[] = [];
    const log = (message: string, fields?: LogFields): void => void lines.push({ message, fields });
    const p = h.newPublisher({ logger: { debug: log, info: log, warn: log, error: log } });
    let caught: unknown;
    await p.runOnce().catch((e: unknown) => (caught = e));
    expect(isOutboxError(caught) && caught.code).toBe('ColumnSecurity');
    expect((caught as Error).message).toContain(FIX);
    expect((caught as Error).message).toContain('3 Pending outbox row(s)');

    // The continuous loop logs it on every cycle and keeps going (the fix needs no restart).
    await p.start();
    const deadline = Date.now() + 10_000;
    while (lines.filter((l) => l.message === 'publish cycle failed').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await p.stop();
    const failures = lines.filter((l) => l.message === 'publish cycle failed');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(String(failures[0]?.fields?.error)).toContain(FIX);

    expect(await rowsAsStored()).toEqual(before);
    expect(before.every((r) => r.status === OutboxStatus.Pending && r.attempts === 0 && !r.lastError)).toBe(true);
    expect(await drainQueue(h, 'orders', 0)).toHaveLength(0);
  });

  it('health fails with the same error (the Functions health endpoint answers 503 with it)', async () => {
    const p = h.newPublisher();
    let caught: unknown;
    await p.health().catch((e: unknown) => (caught = e));
    expect(isOutboxError(caught) && caught.code).toBe('ColumnSecurity');
    expect((caught as Error).message).toContain(FIX);
  });

  it("the worker process logs it as an error line with the fix, and leaves the rows Pending", async () => {
    const root = path.resolve(__dirname, '../..');
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(root, 'src', 'worker.ts')], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATAVERSE_URL: h.dv.url, DATAVERSE_TOKEN: 'publisher-app', SERVICEBUS_CONNECTION_STRING: h.sb.connectionString, OUTBOX_SCOPE: 'column-security', ...h.appSettings },
    });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const errorLine = (): string | undefined => stdout.split('\n').find((l) => l.includes(FIX) && l.includes('"level":"error"'));
    try {
      const deadline = Date.now() + 30_000;
      while (!errorLine() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const line = errorLine();
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', message: expect.stringMatching(/publish (cycle|run) failed/) });
    expect((await rowsAsStored()).every((r) => r.status === OutboxStatus.Pending && r.attempts === 0 && !r.lastError)).toBe(true);
  });
});
