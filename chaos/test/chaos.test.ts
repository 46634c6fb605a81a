// The short chaos run (about a minute of chaos, fixed seed) as part of `npm test`: real processes (both emulators, two
// publishers sharing two partitions, the ERP consumer, the change-tracking worker and its consumer) under SIGKILLs,
// pauses, Dataverse and Service Bus faults and poison rows; it fails if any invariant breaks.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChaos } from '../src/run';
import { formatConsole, formatMarkdown, type ChaosReport } from '../src/report';
import { SHORT_RUN } from './helpers/chaos';

// A one-minute run plus process start-up, quiescence and the audit: seen near 400 s on a loaded 2-core machine.
jest.setTimeout(600_000);

let dir: string;
let report: ChaosReport;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chaos-test-'));
  report = await runChaos({ ...SHORT_RUN, dataDir: path.join(dir, 'data') });
  writeFileSync(path.join(dir, 'chaos-report.json'), JSON.stringify(report, null, 2));
  writeFileSync(path.join(dir, 'chaos-report.md'), formatMarkdown(report));
  // On failure the seed and the violations are in the message; the data folder is kept for a look.
  if (!report.ok) process.stderr.write(`${formatConsole(report)}\ndata: ${dir}\n`);
});

afterAll(() => {
  if (report?.ok) rmSync(dir, { recursive: true, force: true });
});

test('every invariant holds under the short chaos run', () => {
  expect({ ok: report.ok, error: report.error, violations: report.violations }).toEqual({ ok: true, error: undefined, violations: [] });
  expect(report.timings.quiesced).toBe(true);
  expect(report.lost).toBe(0);
  expect(report.duplicateEffects).toBe(0);
});

test('the run really broke things and really carried traffic', () => {
  // Kills across the components that do the work, lease fights, faults of both emulators.
  expect(report.killsTotal).toBeGreaterThanOrEqual(10);
  for (const c of ['consumer', 'ct-consumer'] as const) expect(report.kills[c] ?? 0).toBeGreaterThan(0);
  expect(report.options).toMatchObject({ partitions: 2, publishers: 2 });
  expect((report.kills['publisher-a'] ?? 0) + (report.kills['publisher-b'] ?? 0)).toBeGreaterThan(0);
  expect(Object.keys(report.faults).length).toBeGreaterThanOrEqual(10);
  const f = report.figures!;
  expect(f.outbox.goodOrders).toBeGreaterThan(SHORT_RUN.orders / 2);
  expect(f.outbox.effects).toBeGreaterThan(f.outbox.goodOrders * 0.9);
  expect(f.outbox.deliberateRollbacks).toBeGreaterThan(0);
  expect(f.outbox.poisonRows).toBeGreaterThan(0);
  expect(f.changeTracking.committed).toBeGreaterThan(0);
  expect(f.changeTracking.changesApplied).toBeGreaterThanOrEqual(f.changeTracking.opportunities);
  expect(report.audit!.transitionsObserved).toBeGreaterThan(f.outbox.goodOrders / 2);
});

test('every fault kind was dealt, and the poison and blocking faults of issue 17 really struck', () => {
  expect(new Set(report.actions.map((a) => a.kind))).toEqual(new Set(report.options.kinds));
  const i = report.figures!.injected;
  expect(i.poisonAcks.sent).toBeGreaterThan(0);
  expect(i.poisonAcks.deadLetteredAsExpected).toBe(i.poisonAcks.sent);
  expect(i.goodAcksSent).toBeGreaterThan(0);
  expect(i.poisonDeadLetters.sent).toBeGreaterThan(0);
  expect(i.deepNesting.failedWithDepthReason).toBeGreaterThan(0);
  expect(i.whitespaceTargets.rows).toBeGreaterThan(0);
  expect(i.blockedKeys.length).toBeGreaterThan(0);
  // The head row really failed while its target refused attaches, and then went through.
  for (const b of i.blockedKeys) expect(b).toMatchObject({ headStatus: 'Acked', headAttempts: expect.any(Number) });
  expect(Math.max(...i.blockedKeys.map((b) => b.headAttempts))).toBeGreaterThan(1);
});

test("a killed partition holder's partitions moved to the other publisher in time, and every duplicate send was explained", () => {
  const moves = report.figures!.injected.partitionMoves!;
  expect(moves.kills).toBeGreaterThan(0);
  expect(moves.inTime + moves.lateDuringDataverseFault).toBe(moves.kills);
  expect(moves.maxMs).toBeLessThanOrEqual(moves.boundMs! * 3);
  // The audit read every deduplicated queue (the change-tracking worker's resends after its kills land in erp-sales-ct).
  const resends = report.figures!.resends!;
  expect(Object.keys(resends.droppedPerEntity).sort()).toEqual(['chaos-blocked', 'erp-sales', 'erp-sales-ct']);
  expect(resends.byCause.unexplained ?? 0).toBe(0);
});

test('the report names the seed and how to reproduce it', () => {
  const md = readFileSync(path.join(dir, 'chaos-report.md'), 'utf8');
  expect(md).toContain(`seed ${SHORT_RUN.seed}`);
  expect(md).toContain(`--seed ${SHORT_RUN.seed}`);
  expect(md).toContain('--partitions 2');
  expect(md).toContain('## Duplicate sends');
  expect(md).toContain('## Partition holders killed');
  expect(md).toMatch(new RegExp(`\\| lost \\(committed order without its effect\\) \\| \\*\\*${report.lost}\\*\\* \\|`));
  expect(readFileSync(path.join(dir, 'data', 'logs', 'consumer.log'), 'utf8')).toContain('SIGKILL');
});
