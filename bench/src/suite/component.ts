// The per-component benchmarks (emulators, consumer, publisher) are standalone scripts written by their components'
// owners: each writes bench/results/<name>.json and <name>.md itself and names its own command. The suite runs them as
// child processes with quick or full arguments and folds their markdown into docs/benchmarks.md.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
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
 * Runs the script. Scripts that honour BENCH_RESULTS_DIR write where the runner asks; for the others, when the runner
 * writes somewhere else than bench/results (quick runs, tests), the script runs from a scratch copy next to the
 * original so that committed results are never overwritten.
 */
export async function runComponent(c: ComponentBenchmark, ctx: BenchContext): Promise<{ json: string; md?: string }> {
  const original = scriptPath(c);
  const outDir = path.resolve(ctx.outDir);
  const honoursEnv = readFileSync(original, 'utf8').includes('BENCH_RESULTS_DIR');
  let script = original;
  let writesTo = outDir;
  let scratch: string | undefined;
  if (!honoursEnv && outDir !== path.resolve(defaultResultsDir)) {
    scratch = path.join(benchRoot, `.scratch-${process.pid}-${c.name}`);
    mkdirSync(path.join(scratch, 'src'), { recursive: true });
    script = path.join(scratch, 'src', path.basename(original));
    copyFileSync(original, script);
    writesTo = path.join(scratch, 'results');
  }
  const stderr = tail(40);
  const started = performance.now();
  ctx.progress.phase(`${c.name}: running ${path.relative(benchRoot, original)} ${c.args[ctx.mode].join(' ')}`, c.expectedSeconds[ctx.mode]);
  const timer = setInterval(() => ctx.progress.update(Math.min(c.expectedSeconds[ctx.mode], (performance.now() - started) / 1000)), 500);
  try {
    const child = spawnTs(script, c.args[ctx.mode], {
      env: { BENCH_RESULTS_DIR: outDir },
      onStderr: (line) => {
        stderr.push(line);
        ctx.progress.log(`  ${line}`);
      },
      onStdout: (line) => ctx.progress.log(`  ${line}`),
    });
    await waitForExit(child, c.script, () => stderr.lines());
    const json = path.join(writesTo, `${c.name}.json`);
    if (!existsSync(json)) throw new Error(`${c.script} finished but wrote no ${json}`);
    const md = path.join(writesTo, `${c.name}.md`);
    if (scratch) {
      mkdirSync(outDir, { recursive: true });
      renameSync(json, path.join(outDir, `${c.name}.json`));
      if (existsSync(md)) renameSync(md, path.join(outDir, `${c.name}.md`));
    }
    const finalMd = path.join(outDir, `${c.name}.md`);
    return { json: path.join(outDir, `${c.name}.json`), md: existsSync(finalMd) ? finalMd : undefined };
  } finally {
    clearInterval(timer);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
