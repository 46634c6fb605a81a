import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embedComponentMarkdown, generateDocs, slug } from '../src/report/docs';
import { defineBenchmark, type BenchResult } from '../src/suite/types';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-docs-'));
  mkdirSync(path.join(dir, 'results'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const toy = defineBenchmark<{ value: number }, { n: number }>({
  name: 'toy',
  title: 'Toy benchmark',
  summary: 'A toy.',
  sizes: { quick: { n: 1 }, full: { n: 10 } },
  expectedSeconds: { quick: 1, full: 1 },
  run: () => Promise.resolve({ value: 1 }),
  render: (r, assets) => `value ${r.data.value} ![plot](${assets.svg('plot', '<svg xmlns="http://www.w3.org/2000/svg"/>')})`,
});

function result(): BenchResult<{ value: number }> {
  return { name: 'toy', title: 'Toy benchmark', command: 'npm run bench', mode: 'full', sizes: { n: 10 }, startedAt: '2026-11-27T10:00:00.000Z', durationSeconds: 3, machine: { cpus: 2, model: 'x', node: 'v20', platform: 'linux', totalMemoryGiB: 8 }, data: { value: 42 } };
}

it('renders suite results, component markdown, unknown results and missing ones, each under its own heading', () => {
  writeFileSync(path.join(dir, 'results', 'toy.json'), JSON.stringify(result()));
  writeFileSync(path.join(dir, 'results', 'comp.json'), '{}');
  writeFileSync(path.join(dir, 'results', 'comp.md'), '# Comp title\n\nCommand: `node comp.ts`\n\n## Details\n\n| a |\n|---|\n| 1 |\n');
  writeFileSync(path.join(dir, 'results', 'stray.json'), '{"x":1}');
  const docsFile = path.join(dir, 'docs', 'benchmarks.md');
  const { images } = generateDocs({
    resultsDir: path.join(dir, 'results'),
    docsFile,
    suite: [toy as never],
    components: [
      { name: 'comp', title: 'Component', summary: 'Its summary.', script: 'comp.bench.ts', args: { quick: [], full: [] }, expectedSeconds: { quick: 1, full: 1 } },
      { name: 'later', title: 'Later component', summary: 'Not yet.', script: 'later.bench.ts', args: { quick: [], full: [] }, expectedSeconds: { quick: 1, full: 1 } },
    ],
  });
  const md = readFileSync(docsFile, 'utf8');
  expect(md).toContain('## Toy benchmark');
  expect(md).toContain('Command: `npm run bench`');
  expect(md).toContain('value 42 ![plot](images/bench-toy-plot.svg)');
  expect(images).toHaveLength(1);
  expect(existsSync(path.join(dir, 'docs', 'images', 'bench-toy-plot.svg'))).toBe(true);
  expect(md).toContain('## Component');
  expect(md).toContain('Command: `node comp.ts`');
  expect(md).toContain('### Details');
  expect(md).not.toContain('# Comp title');
  expect(md).toContain('## Later component');
  expect(md).toContain('No results yet');
  expect(md).toContain('## Other results: stray');
  expect(md).toContain(`- [Toy benchmark](#${slug('Toy benchmark')})`);
});

it('embedComponentMarkdown drops the first heading and demotes the others below ##', () => {
  expect(embedComponentMarkdown('## Title\n\ntext\n# Big\n#### Small\n')).toBe('text\n### Big\n##### Small');
});

it("states the run's time target beside the measured time when the suite record has one", () => {
  const record = { command: 'npm run bench -- --quick', mode: 'quick', startedAt: '2026-11-27T10:00:00.000Z', durationSeconds: 95, machine: result().machine, benchmarks: [{ name: 'toy', seconds: 3, ok: true }] };
  const docsFile = path.join(dir, 'docs', 'benchmarks.md');
  const render = (r: object): string => {
    writeFileSync(path.join(dir, 'results', 'suite-run.json'), JSON.stringify(r));
    generateDocs({ resultsDir: path.join(dir, 'results'), docsFile, suite: [toy as never], components: [] });
    return readFileSync(docsFile, 'utf8');
  };
  expect(render({ ...record, targetSeconds: 120 })).toContain('95 s in total (target: under 120 s) on 2 CPUs');
  // Records written before the target existed render as before.
  expect(render(record)).toContain('95 s in total on 2 CPUs');
});
