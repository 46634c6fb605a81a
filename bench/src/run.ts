// `npm run bench` : runs the whole benchmark suite with progress bars, writes bench/results/*.json and regenerates
// docs/benchmarks.md + docs/images/bench-*.svg from every results file.
//
//   npm run bench                       full sizes (about 12 minutes on 2 cores), results in bench/results, docs regenerated
//   npm run bench -- --quick            small sizes (under 2 minutes); results in a temp folder unless --out is given
//   npm run bench -- --only growth,budget
//   npm run bench -- --docs-only        regenerate docs/benchmarks.md from bench/results
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { generateDocs, type SuiteRunRecord } from './report/docs';
import { componentAvailable, defaultResultsDir, runComponent, type ComponentBenchmark } from './suite/component';
import { componentBenchmarks, suiteBenchmarks } from './suite/registry';
import { createSuiteProgress } from './suite/progress';
import type { BenchContext, BenchMode, BenchResult, Benchmark, MachineInfo } from './suite/types';
import { repoRoot } from './support/processes';

/** What a whole run should take on the 2-core machine (quick: the acceptance of issue #10). Reported, not enforced. */
const targetSeconds: Record<BenchMode, number> = { quick: 120, full: 900 };

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return { cpus: cpus.length, model: cpus[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}`, totalMemoryGiB: Math.round(os.totalmem() / 2 ** 30) };
}

type Entry = { kind: 'suite'; b: Benchmark } | { kind: 'component'; c: ComponentBenchmark };

function allEntries(): Entry[] {
  return [...suiteBenchmarks.map((b): Entry => ({ kind: 'suite', b })), ...componentBenchmarks.map((c): Entry => ({ kind: 'component', c }))];
}
const entryName = (e: Entry): string => (e.kind === 'suite' ? e.b.name : e.c.name);
const expected = (e: Entry, mode: BenchMode): number => (e.kind === 'suite' ? e.b.expectedSeconds[mode] : e.c.expectedSeconds[mode]);

function names(value: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set(allEntries().map(entryName));
  for (const n of list) if (!known.has(n)) throw new InvalidArgumentError(`unknown benchmark '${n}' (known: ${[...known].join(', ')})`);
  return list;
}

interface Options {
  quick?: boolean;
  only?: string[];
  skip?: string[];
  out?: string;
  docs?: string | false;
  docsOnly?: boolean;
  list?: boolean;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('npm run bench --')
    .description('Dataverse Outbox benchmark suite: results in bench/results, report in docs/benchmarks.md')
    .option('--quick', 'small sizes, same code paths (under 2 minutes); results go to a temp folder unless --out is given')
    .option('--only <names>', 'comma-separated benchmarks to run', names)
    .option('--skip <names>', 'comma-separated benchmarks to leave out', names)
    .option('--out <dir>', 'results folder (default bench/results; quick runs: a temp folder)')
    .option('--docs <file>', 'markdown report to regenerate (default docs/benchmarks.md for full runs into bench/results)')
    .option('--no-docs', 'do not regenerate the report')
    .option('--docs-only', 'only regenerate the report from the results folder')
    .option('--list', 'list the benchmarks and exit')
    .showHelpAfterError();
  program.parse(argv, { from: 'user' });
  const opts = program.opts<Options>();
  const mode: BenchMode = opts.quick ? 'quick' : 'full';
  const entries = allEntries();

  if (opts.list) {
    for (const e of entries) {
      const title = e.kind === 'suite' ? e.b.title : e.c.title;
      const avail = e.kind === 'component' && !componentAvailable(e.c) ? ' (script not written yet)' : '';
      process.stdout.write(`${entryName(e).padEnd(22)} ~${expected(e, 'quick')} s quick, ~${expected(e, 'full')} s full  ${title}${avail}\n`);
    }
    return;
  }

  const outDir = path.resolve(opts.out ?? (mode === 'quick' ? mkdtempSync(path.join(os.tmpdir(), 'dataverse-outbox-bench-quick-')) : defaultResultsDir));
  const writesCommitted = outDir === path.resolve(defaultResultsDir);
  const docsFile = opts.docs === false ? undefined : opts.docs ? path.resolve(opts.docs) : writesCommitted ? path.join(repoRoot, 'docs', 'benchmarks.md') : undefined;
  const regenerate = (): void => {
    if (!docsFile) return;
    const r = generateDocs({ resultsDir: outDir, docsFile, suite: suiteBenchmarks, components: componentBenchmarks });
    process.stderr.write(`report: ${path.relative(process.cwd(), r.file) || r.file} (${r.images.length} plots)\n`);
  };
  if (opts.docsOnly) {
    regenerate();
    return;
  }

  const selected = entries.filter((e) => (!opts.only || opts.only.includes(entryName(e))) && !opts.skip?.includes(entryName(e)));
  const command = ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' ');
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'dataverse-outbox-bench-'));
  mkdirSync(outDir, { recursive: true });
  const shared = new Map<string, unknown>();
  const totalExpected = selected.reduce((s, e) => s + expected(e, mode), 0);
  const progress = createSuiteProgress(selected.length);
  progress.suite(0, `${mode} run of ${selected.length} benchmarks, about ${Math.max(1, Math.round(totalExpected / 60))} min`);
  const runRecord: SuiteRunRecord = { command, mode, startedAt: new Date().toISOString(), durationSeconds: 0, targetSeconds: targetSeconds[mode], machine: machineInfo(), benchmarks: [] };
  const suiteStarted = performance.now();
  const abort = new AbortController();
  const onSignal = (): void => {
    abort.abort();
    progress.stop();
    process.stderr.write('\ninterrupted\n');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let failures = 0;
  progress.log(`results: ${outDir}${docsFile ? `, report: ${docsFile}` : ''}`);
  try {
    for (const [i, e] of selected.entries()) {
      const name = entryName(e);
      progress.suite(i, `${name} (about ${expected(e, mode)} s)`);
      const started = performance.now();
      const ctx: BenchContext = { mode, tmpDir: mkdtempSync(path.join(tmpDir, `${name}-`)), runDir: tmpDir, shared, outDir, progress, abortSignal: abort.signal };
      try {
        if (e.kind === 'component') {
          if (!componentAvailable(e.c)) {
            progress.log(`${name}: skipped, bench/src/${e.c.script} is not written yet`);
            continue;
          }
          await runComponent(e.c, ctx);
        } else {
          const sizes = e.b.sizes[mode];
          const startedAt = new Date().toISOString();
          const data = await e.b.run(ctx, sizes);
          const result: BenchResult = {
            name,
            title: e.b.title,
            command,
            mode,
            sizes,
            startedAt,
            durationSeconds: Math.round((performance.now() - started) / 100) / 10,
            machine: machineInfo(),
            data,
          };
          writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
        }
        const seconds = (performance.now() - started) / 1000;
        runRecord.benchmarks.push({ name, seconds: Math.round(seconds), ok: true });
        progress.log(`${name}: done in ${Math.round(seconds)} s`);
      } catch (err) {
        failures++;
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        runRecord.benchmarks.push({ name, seconds: Math.round((performance.now() - started) / 1000), ok: false, error: message });
        progress.log(`${name}: FAILED\n${message}`);
      } finally {
        progress.endPhase();
        rmSync(ctx.tmpDir, { recursive: true, force: true });
      }
    }
    progress.suite(selected.length, 'done');
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(tmpDir, { recursive: true, force: true });
  }
  runRecord.durationSeconds = Math.round((performance.now() - suiteStarted) / 1000);
  // A partial run (--only) keeps the full run's record: the report's summary table describes whole-suite runs.
  if (!opts.only && !opts.skip) writeFileSync(path.join(outDir, 'suite-run.json'), `${JSON.stringify(runRecord, null, 2)}\n`);
  regenerate();
  process.stderr.write(
    `suite finished in ${runRecord.durationSeconds} s (${mode} run, target under ${targetSeconds[mode]} s: ${runRecord.durationSeconds < targetSeconds[mode] ? 'met' : 'NOT met'}), ${failures} failed; results in ${outDir}\n`,
  );
  if (failures > 0) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
