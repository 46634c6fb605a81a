// Regenerates docs/benchmarks.md (and docs/images/bench-*.svg) from every results file: the suite's own benchmarks
// render their JSON; per-component scripts contribute the markdown they wrote; unknown JSON files are listed too.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { componentAvailable, type ComponentBenchmark } from '../suite/component';
import type { AssetSink, Benchmark, BenchResult } from '../suite/types';

export interface SuiteRunRecord {
  command: string;
  mode: 'quick' | 'full';
  startedAt: string;
  /** Wall time of the whole run, from the first benchmark's start to the last one's end. */
  durationSeconds: number;
  /** The run's time target (quick: under 2 minutes, issue #10; full: 15 minutes), reported beside the measured time, never enforced. */
  targetSeconds?: number;
  machine: BenchResult['machine'];
  benchmarks: { name: string; seconds: number; ok: boolean; error?: string }[];
}

export interface DocsInput {
  resultsDir: string;
  docsFile: string;
  suite: readonly Benchmark<never, Record<string, number>>[] | readonly Benchmark[];
  components: readonly ComponentBenchmark[];
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Their markdown without its first heading; remaining headings pushed below our "##". */
export function embedComponentMarkdown(md: string): string {
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  const first = lines.findIndex((l) => /^#{1,6}\s/.test(l));
  if (first >= 0 && lines.slice(0, first).every((l) => l.trim() === '')) lines.splice(0, first + 1);
  return lines
    .map((l) => {
      const m = /^(#{1,6})\s(.*)$/.exec(l);
      if (!m) return l;
      return `${'#'.repeat(Math.min(6, Math.max(3, m[1]!.length + 1)))} ${m[2]}`;
    })
    .join('\n')
    .trim();
}

export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .trim()
    .replace(/\s+/g, '-');
}

export function generateDocs(input: DocsInput): { file: string; images: string[] } {
  const docsDir = path.dirname(input.docsFile);
  const imagesDir = path.join(docsDir, 'images');
  const images: string[] = [];
  const assets = (prefix: string): AssetSink => ({
    svg(name, content) {
      mkdirSync(imagesDir, { recursive: true });
      const file = path.join(imagesDir, `bench-${prefix}-${name}.svg`);
      writeFileSync(file, content);
      images.push(file);
      return path.relative(docsDir, file).split(path.sep).join('/');
    },
  });
  const run = readJson<SuiteRunRecord>(path.join(input.resultsDir, 'suite-run.json'));
  const sections: { title: string; body: string }[] = [];
  const known = new Set<string>(['suite-run']);

  for (const b of input.suite as readonly Benchmark[]) {
    known.add(b.name);
    const result = readJson<BenchResult>(path.join(input.resultsDir, `${b.name}.json`));
    if (!result) {
      sections.push({ title: b.title, body: `${b.summary}\n\nNo results yet: run \`npm run bench -- --only ${b.name}\`.` });
      continue;
    }
    const head = [
      `${b.summary}`,
      '',
      `Command: \`${result.command}\` (${result.mode} sizes: ${Object.entries(result.sizes).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')}); ` +
        `run ${result.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, took ${Math.round(result.durationSeconds)} s on ${result.machine.cpus} CPUs (${result.machine.model}), Node ${result.machine.node}.`,
      '',
    ].join('\n');
    let body: string;
    try {
      body = b.render(result, assets(b.name));
    } catch (e) {
      body = `Could not render this result: ${e instanceof Error ? e.message : String(e)}`;
    }
    sections.push({ title: b.title, body: `${head}\n${body.trim()}` });
  }

  for (const c of input.components) {
    known.add(c.name);
    const md = path.join(input.resultsDir, `${c.name}.md`);
    const json = path.join(input.resultsDir, `${c.name}.json`);
    const note = `${c.summary}\n\nRun by \`npm run bench\` (script \`bench/src/${c.script}\`, owned by its component); the command below is the one that wrote the figures.`;
    if (existsSync(md)) sections.push({ title: c.title, body: `${note}\n\n${embedComponentMarkdown(readFileSync(md, 'utf8'))}` });
    else if (existsSync(json)) sections.push({ title: c.title, body: `${note}\n\n\`\`\`json\n${readFileSync(json, 'utf8').trim()}\n\`\`\`` });
    else sections.push({ title: c.title, body: `${c.summary}\n\nNo results yet (script \`bench/src/${c.script}\`${componentAvailable(c) ? `: run \`npm run bench -- --only ${c.name}\`` : ' not written yet'}).` });
  }

  if (existsSync(input.resultsDir)) {
    for (const f of readdirSync(input.resultsDir).filter((f) => f.endsWith('.json')).sort()) {
      const name = f.replace(/\.json$/, '');
      if (known.has(name)) continue;
      const md = path.join(input.resultsDir, `${name}.md`);
      const body = existsSync(md) ? embedComponentMarkdown(readFileSync(md, 'utf8')) : `\`\`\`json\n${readFileSync(path.join(input.resultsDir, f), 'utf8').trim()}\n\`\`\``;
      sections.push({ title: `Other results: ${name}`, body: `From \`bench/results/${f}\`.\n\n${body}` });
    }
  }

  const out: string[] = [
    '# Benchmarks',
    '',
    'Generated by `npm run bench` (bench/src/run.ts) from every file in `bench/results/`; do not edit by hand.',
    'Every figure names the command that produced it. Comparisons are ratios against a baseline measured in the same run',
    "on the same machine; absolute numbers depend on the machine (a 2-core VM shared with other work), the ratios much less.",
    'The Dataverse emulator runs with the fixed "realistic" latency profile (50 ms per HTTP request + 5 ms per record written +',
    '0.2 ms per record read, counted as execution time) wherever a figure stands for Dataverse, and with Dataverse\'s service',
    'protection limits (6,000 requests and 1,200 s of execution time per user per 5 minutes, 52 concurrent) where stated.',
    '',
  ];
  if (run) {
    out.push(
      `Last suite run: \`${run.command}\` (${run.mode}), ${run.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, ` +
        `${Math.round(run.durationSeconds)} s in total${run.targetSeconds ? ` (target: under ${run.targetSeconds} s)` : ''} on ${run.machine.cpus} CPUs (${run.machine.model}), Node ${run.machine.node}.`,
      '',
      '| benchmark | seconds | outcome |',
      '|---|---:|---|',
      ...run.benchmarks.map((b) => `| ${b.name} | ${Math.round(b.seconds)} | ${b.ok ? 'ok' : `failed: ${(b.error ?? '').split('\n')[0]!.replace(/\|/g, '\\|').slice(0, 200)}`} |`),
      '',
    );
  }
  out.push('Contents:', '', ...sections.map((s) => `- [${s.title}](#${slug(s.title)})`), '- [Running the suite](#running-the-suite)', '');
  for (const s of sections) out.push(`## ${s.title}`, '', s.body, '');
  out.push(
    '## Running the suite',
    '',
    '| command | does |',
    '|---|---|',
    '| `npm run bench` | every benchmark at full size (the budget is 15 minutes on 2 cores); writes `bench/results/*.json` and regenerates this page and `docs/images/bench-*.svg` |',
    '| `npm run bench -- --quick` | the same code paths with small sizes (target under 2 minutes: 100-106 s measured on the 2-core machine, 161 s before issue #10; each run records its own time in `suite-run.json`); results go to a temp folder (or `--out <dir>`), this page is only written with `--docs <file>`; `bench/test/quick.test.ts` runs it in Jest so the benchmarks cannot rot |',
    '| `npm run bench -- --only growth,budget` / `--skip consumer` | a subset (the suite summary above keeps the last whole run) |',
    '| `npm run bench -- --docs-only` | regenerate this page from `bench/results` |',
    '| `npm run bench -- --list` | the benchmarks with their expected durations |',
    '',
    'Progress shows as bars on a terminal and as plain lines in logs. Each suite benchmark is a module in `bench/src/benchmarks/` built with',
    '`defineBenchmark({ name, title, summary, sizes: { quick, full }, expectedSeconds, run(ctx, sizes), render(result, assets) })` and listed in',
    '`bench/src/suite/registry.ts`; `run` returns plain JSON (the runner adds the command, sizes, machine and timings), `render` turns a stored result into',
    'its section. Per-component scripts (`bench/src/*.bench.ts`, owned by their components) write `<name>.json` and `<name>.md` into',
    '`BENCH_RESULTS_DIR` (default `bench/results`) and are listed in `componentBenchmarks`. The emulators run in child processes',
    '(`bench/src/support/emulator-host.ts`) so that they get a core of their own; Dataverse is driven through its admin endpoint',
    '(latency, limits, clock, counters, bulk-delete jobs).',
    '',
  );
  mkdirSync(docsDir, { recursive: true });
  writeFileSync(input.docsFile, `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`);
  return { file: input.docsFile, images };
}
