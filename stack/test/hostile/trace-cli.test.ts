// `npm run trace -- <id>` fed what an operator (or a script) may pass by mistake: every bad id or data folder gets a
// one-line answer and an exit code, never a stack trace, and nothing from the span files is taken for an id.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@dataverse-outbox/stack';

const dir = mkdtempSync(path.join(os.tmpdir(), 'trace-cli-'));
const dataDir = path.join(dir, 'data');
const span = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  name: 'send erp-sales',
  kind: 'PRODUCER',
  service: 'publisher',
  startMs: 1_000,
  durationMs: 5,
  status: 'unset',
  attributes: { 'outbox.row_id': '7f3c2a10-0b1e-4c3d-9e8f-0123456789ab', 'messaging.message.id': 'SalesOrderWon:1' },
  links: [],
};

beforeAll(() => {
  mkdirSync(path.join(dataDir, 'traces'), { recursive: true });
  writeFileSync(path.join(dataDir, 'traces', 'publisher.jsonl'), `${JSON.stringify(span)}\n{"torn":`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trace(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(repoRoot, 'stack', 'src', 'cli', 'trace.ts'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const noStack = (text: string): void => expect(text).not.toMatch(/\n\s+at /);

describe('hostile: trace CLI ids', () => {
  it.each([
    ['empty', ''],
    ['whitespace', ' \t '],
    ['script', '<script>alert(1)</script>'],
    ['huge', 'x'.repeat(100_000)],
    ['almost a GUID', '7f3c2a10-0b1e-4c3d-9e8f-0123456789a'],
    ['almost a trace id', '4bf92f3577b34da6a3ce929d0e0e473'],
    ['control characters', 'SalesOrderWon:1\u0007\u001b[2J'],
    ['a regular expression', '.*'],
  ])('%s: no span found, exit 1, the id quoted and cut to 100 characters', (_name, id) => {
    const r = trace([id, '--data-dir', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^No recorded span names ".*" \(as an outbox row id, a message id or a trace id\)\.\n$/s);
    expect(r.stderr.length).toBeLessThan(300);
    expect(r.stderr).not.toContain('\u001b');
    noStack(r.stderr);
  });

  it('the row id in any spelling finds the trace; the torn line is skipped', () => {
    const r = trace(['{7F3C2A10-0B1E-4C3D-9E8F-0123456789AB}', '--data-dir', dataDir]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('Trace 4bf92f3577b34da6a3ce929d0e0e4736 (1 spans)');
  });
});

describe('hostile: trace CLI options', () => {
  it('no id: the usage, exit 1', () => {
    const r = trace(['--data-dir', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("missing required argument 'id'");
    noStack(r.stderr);
  });

  it('a data folder with no spans: says how to get some, exit 2', () => {
    const r = trace(['SalesOrderWon:1', '--data-dir', path.join(dir, 'nothing-here')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^No spans in .*: start the stack with `npm start`/);
    noStack(r.stderr);
  });

  it('an unknown option: refused, exit 1', () => {
    const r = trace(['SalesOrderWon:1', '--data-dir', dataDir, '--format', 'html']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown option '--format'");
    noStack(r.stderr);
  });
});
