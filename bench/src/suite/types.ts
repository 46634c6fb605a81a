// The common shape of every benchmark in the suite: a name, sizes for the quick and the full run, and a run that
// returns plain JSON data. The runner adds the envelope (command, machine, timings) and writes bench/results/<name>.json;
// the report renders each result into its section of docs/benchmarks.md.

export type BenchMode = 'quick' | 'full';

/** Progress of one benchmark, shown by the runner's progress bar. */
export interface BenchProgress {
  /** Starts a phase of `total` steps (rows, messages, seconds...). */
  phase(label: string, total: number): void;
  /** Moves the current phase to `value` steps done. */
  update(value: number): void;
  /** A line of text above the bars (kept in the log). */
  log(line: string): void;
}

export interface BenchContext {
  mode: BenchMode;
  /** Scratch folder of this benchmark (deleted when it ends). */
  tmpDir: string;
  /** Scratch folder of the whole run (deleted when the run ends), for fixtures benchmarks share. */
  runDir: string;
  /** Fixtures shared by benchmarks of one run (e.g. the million-row outbox the growth benchmark seeded). */
  shared: Map<string, unknown>;
  /** Where results are written (bench/results by default). */
  outDir: string;
  progress: BenchProgress;
  abortSignal?: AbortSignal;
}

export interface MachineInfo {
  cpus: number;
  model: string;
  node: string;
  platform: string;
  totalMemoryGiB: number;
}

/** What bench/results/<name>.json holds for the suite's own benchmarks. */
export interface BenchResult<Data = unknown> {
  name: string;
  title: string;
  /** The exact command that produced this file. */
  command: string;
  mode: BenchMode;
  sizes: Record<string, number>;
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  data: Data;
}

/** Files a section adds next to docs/benchmarks.md (SVG plots). */
export interface AssetSink {
  /** Writes docs/images/bench-<name>.svg and returns the markdown-relative path. */
  svg(name: string, content: string): string;
}

export interface Benchmark<Data = unknown, Sizes extends Record<string, number> = Record<string, number>> {
  name: string;
  title: string;
  /** One line: what it shows. */
  summary: string;
  sizes: { quick: Sizes; full: Sizes };
  /** Rough duration on a 2-core machine, for the progress display and the budget check. */
  expectedSeconds: { quick: number; full: number };
  run(ctx: BenchContext, sizes: Sizes): Promise<Data>;
  /** Markdown body of the section (without the heading), from the stored result. */
  render(result: BenchResult<Data>, assets: AssetSink): string;
}

export function defineBenchmark<Data, Sizes extends Record<string, number>>(b: Benchmark<Data, Sizes>): Benchmark<Data, Sizes> {
  return b;
}
