// Runs the whole suite in quick mode, exactly as `npm run bench -- --quick` does, into a temp folder: every benchmark
// must still run end to end and render its section, so the benchmarks cannot silently rot. The committed results
// and docs/benchmarks.md must be left untouched.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';

const repo = path.resolve(__dirname, '..', '..');
const committedDocs = path.join(repo, 'docs', 'benchmarks.md');
const committedResults = path.join(repo, 'bench', 'results');

/** The suite's own committed files (other helpers may legitimately rewrite their components' results meanwhile). */
function snapshot(): Map<string, number> {
  const files = new Map<string, number>();
  const own = ['growth', 'cleanup', 'budget', 'latency', 'partitions', 'suite-run'].map((n) => path.join(committedResults, `${n}.json`));
  for (const f of [committedDocs, ...own]) if (existsSync(f)) files.set(f, statSync(f).mtimeMs);
  return files;
}

let out: string;
let result: { code: number | null; stderr: string; seconds: number };
const before = snapshot();

beforeAll(async () => {
  out = mkdtempSync(path.join(os.tmpdir(), 'bench-quick-test-'));
  const started = Date.now();
  result = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', 'bench/src/run.ts', '--quick', '--out', out, '--docs', path.join(out, 'benchmarks.md')], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', () => undefined);
    child.on('exit', (code) => resolve({ code, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}, 300_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

it('completes with every benchmark ok', () => {
  if (result.code !== 0) throw new Error(`npm run bench -- --quick failed (exit ${result.code}):\n${result.stderr.slice(-4000)}`);
  const run = JSON.parse(readFileSync(path.join(out, 'suite-run.json'), 'utf8')) as {
    mode: string;
    durationSeconds: number;
    targetSeconds?: number;
    benchmarks: { name: string; seconds: number; ok: boolean }[];
  };
  expect(run.mode).toBe('quick');
  expect(run.targetSeconds).toBe(120);
  // The time is reported, not asserted: it depends on the machine and on what else runs beside the test.
  process.stdout.write(
    `npm run bench -- --quick: ${run.durationSeconds} s in the runner (target under ${run.targetSeconds} s), ${result.seconds.toFixed(1)} s for the whole process; ` +
      `${run.benchmarks.map((b) => `${b.name} ${b.seconds} s`).join(', ')}\n`,
  );
  expect(run.benchmarks.filter((b) => !b.ok)).toEqual([]);
  expect(run.benchmarks.map((b) => b.name)).toEqual(expect.arrayContaining(['growth', 'cleanup', 'budget', 'latency', 'partitions']));
});

it('writes a results file per suite benchmark with the command that produced it', () => {
  for (const name of ['growth', 'cleanup', 'budget', 'latency', 'partitions']) {
    const r = JSON.parse(readFileSync(path.join(out, `${name}.json`), 'utf8')) as { name: string; mode: string; command: string; data: unknown };
    expect(r).toMatchObject({ name, mode: 'quick' });
    expect(r.command).toMatch(/^npm run bench -- --quick/);
  }
});

it('measures what each benchmark is about', () => {
  const growth = JSON.parse(readFileSync(path.join(out, 'growth.json'), 'utf8')) as { data: { points: { published: number; requestsPerMessage: number }[] } };
  expect(growth.data.points).toHaveLength(3);
  for (const p of growth.data.points) {
    expect(p.published).toBeGreaterThan(0);
    expect(p.requestsPerMessage).toBeGreaterThan(0);
  }
  const cleanup = JSON.parse(readFileSync(path.join(out, 'cleanup.json'), 'utf8')) as { data: { deleted: number; eligible: number; invariant: Record<string, boolean> } };
  expect(cleanup.data.deleted).toBe(cleanup.data.eligible);
  expect(cleanup.data.deleted).toBeGreaterThan(0);
  expect(Object.values(cleanup.data.invariant).every(Boolean)).toBe(true);
  const budget = JSON.parse(readFileSync(path.join(out, 'budget.json'), 'utf8')) as { data: { cases: { id: string; measured: { published: number } }[] } };
  expect(budget.data.cases.map((c) => c.id)).toEqual(['naive', 'default', 'default-acks', 'default-acks-2users', 'batch1000']);
  expect(budget.data.cases.find((c) => c.id === 'default')!.measured.published).toBeGreaterThan(0);
  const latency = JSON.parse(readFileSync(path.join(out, 'latency.json'), 'utf8')) as { data: { levels: { offeredPerSecond: number; committed: number; acked: number }[] } };
  expect(latency.data.levels.map((l) => l.offeredPerSecond)).toEqual([50, 200, 500]);
  for (const l of latency.data.levels) expect(l.acked).toBe(l.committed);
  const partitions = JSON.parse(readFileSync(path.join(out, 'partitions.json'), 'utf8')) as {
    data: { steps: { partitions: number; messagesPerSecond: number; rows: number; check: { ok: boolean; received: number } }[]; allChecked: { ok: boolean; messages: number } };
  };
  expect(partitions.data.steps.map((s) => s.partitions)).toEqual([1, 2, 4]);
  for (const s of partitions.data.steps) {
    expect(s.messagesPerSecond).toBeGreaterThan(0);
    expect(s.check).toMatchObject({ ok: true, received: s.rows });
  }
  expect(partitions.data.allChecked).toEqual({ ok: true, messages: partitions.data.steps.reduce((n, s) => n + s.rows, 0), keys: expect.any(Number) });
});

it('regenerates the report with a section per benchmark and valid SVG plots', () => {
  const md = readFileSync(path.join(out, 'benchmarks.md'), 'utf8');
  for (const heading of ['## Growth', '## Cleanup', '## Budget', '## Latency', '## Partitions', '## Consumer', '## Dataverse emulator throughput']) expect(md).toContain(heading);
  expect(md).toContain('Command: `npm run bench -- --quick');
  const images = [...md.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => path.join(out, m[1]!));
  expect(images.length).toBeGreaterThanOrEqual(5);
  for (const f of images) expect(XMLValidator.validate(readFileSync(f, 'utf8'))).toBe(true);
});

it('leaves the committed results and docs/benchmarks.md alone', () => {
  expect(snapshot()).toEqual(before);
});
