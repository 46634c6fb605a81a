// The per-component benchmarks (emulators, consumer, publisher) are standalone scripts written by their components'
// owners: each writes bench/results/<name>.json and <name>.md itself and names its own command. The suite runs them as
// child processes with quick or full arguments and folds their markdown into docs/benchmarks.md.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { benchRoot, spawnTs, tail, waitForExit } from '../support/processes';
import type { BenchContext, BenchMode } from './types';

export interface ComponentBenchmark {
  name: string;
  title: string;
  summary: string;
  /** Script under bench/src. */
  script: string;
  args: Record<BenchMode, string[]>;
  /** Extra environment per mode (scripts sized by environment variables). */
  env?: Record<BenchMode, Record<string, string>>;
  expectedSeconds: Record<BenchMode, number>;
}

export const defaultResultsDir = path.join(benchRoot, 'results');

export function scriptPath(c: ComponentBenchmark): string {
  return path.join(benchRoot, 'src', c.script);
}

export function componentAvailable(c: ComponentBenchmark): boolean {
  return existsSync(scriptPath(c));
}

/**
 * Runs the script. Scripts that honour BENCH_RESULTS_DIR write where the runner asks. For the others, when the runner
 * writes somewhere else than bench/results (quick runs, the test), the committed files are set aside while the script
 * runs in place, its new files are moved to the runner's folder, and the committed ones are put back.
 */
export async function runComponent(c: ComponentBenchmark, ctx: BenchContext): Promise<{ json: string; md?: string }> {
  const script = scriptPath(c);
  const outDir = path.resolve(ctx.outDir);
  const committedDir = path.resolve(defaultResultsDir);
  const honoursEnv = readFileSync(script, 'utf8').includes('BENCH_RESULTS_DIR');
  const redirect = !honoursEnv && outDir !== committedDir;
  const files = [`${c.name}.json`, `${c.name}.md`];
  const aside = path.join(ctx.tmpDir, 'committed');
  if (redirect) {
    mkdirSync(aside, { recursive: true });
    for (const f of files) if (existsSync(path.join(committedDir, f))) copyFileSync(path.join(committedDir, f), path.join(aside, f));
  }
  const writesTo = redirect ? committedDir : outDir;
  const stderr = tail(40);
  const started = performance.now();
  ctx.progress.phase(`${c.name}: running bench/src/${c.script} ${c.args[ctx.mode].join(' ')}`, c.expectedSeconds[ctx.mode]);
  const timer = setInterval(() => ctx.progress.update(Math.min(c.expectedSeconds[ctx.mode], (performance.now() - started) / 1000)), 500);
  try {
    const child = spawnTs(script, c.args[ctx.mode], {
      env: { BENCH_RESULTS_DIR: outDir, ...(c.env?.[ctx.mode] ?? {}) },
      onStderr: (line) => {
        stderr.push(line);
        ctx.progress.log(`  ${line}`);
      },
      onStdout: (line) => ctx.progress.log(`  ${line}`),
    });
    await waitForExit(child, c.script, () => stderr.lines());
    const json = path.join(writesTo, `${c.name}.json`);
    if (!existsSync(json)) throw new Error(`${c.script} finished but wrote no ${json}`);
    if (redirect) {
      mkdirSync(outDir, { recursive: true });
      for (const f of files) if (existsSync(path.join(committedDir, f))) copyFileSync(path.join(committedDir, f), path.join(outDir, f));
    }
    const md = path.join(outDir, `${c.name}.md`);
    return { json: path.join(outDir, `${c.name}.json`), md: existsSync(md) ? md : undefined };
  } finally {
    clearInterval(timer);
    if (redirect) {
      for (const f of files) {
        if (existsSync(path.join(aside, f))) copyFileSync(path.join(aside, f), path.join(committedDir, f));
        else rmSync(path.join(committedDir, f), { force: true });
      }
    }
  }
}
