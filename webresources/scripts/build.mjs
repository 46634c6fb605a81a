// `npm run build -w webresources`: type-check (tsc --noEmit), lint (ESLint with the Power Apps checker rules), then
// bundle each entry with esbuild (IIFE, ES2017, minified, no runtime dependencies) into the solution's WebResources
// folder, where the solution packer picks the files up. Each step fails the build on any problem.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ESLint } from 'eslint';

const require = createRequire(import.meta.url);
const workspace = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--out <dir>` builds elsewhere (tests compare a fresh build with what the solution folder holds).
const outArg = process.argv.indexOf('--out');
export const outDir = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.resolve(workspace, '../solution/src/WebResources/obx_/outbox');

// Mirrors src/web-resource-files.ts (kept in sync by test/build-output.test.ts).
export const entries = [
  { entry: 'src/entries/client.ts', file: 'client.js' },
  { entry: 'src/entries/outboxmessage.form.ts', file: 'outboxmessage.form.js' },
  { entry: 'src/entries/commands.ts', file: 'commands.js' },
];

function step(label, command, args) {
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: workspace, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`webresources: ${label} failed\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`webresources: ${label} ok (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

async function lint() {
  const started = Date.now();
  const eslint = new ESLint({ cwd: workspace });
  const results = await eslint.lintFiles(['.']);
  const problems = results.reduce((n, r) => n + r.errorCount + r.warningCount, 0);
  if (problems > 0) {
    process.stderr.write((await eslint.loadFormatter('stylish')).format(results));
    process.stderr.write(`webresources: lint failed (${problems} problems)\n`);
    process.exit(1);
  }
  process.stdout.write(`webresources: lint ok, ${results.length} files (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

async function bundle() {
  mkdirSync(outDir, { recursive: true });
  for (const { entry, file } of entries) {
    const outfile = path.join(outDir, file);
    await build({
      entryPoints: [path.join(workspace, entry)],
      outfile,
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2017',
      minify: true,
      legalComments: 'none',
      charset: 'utf8',
      sourcemap: false,
      conditions: ['development'],
      tsconfig: path.join(workspace, 'tsconfig.json'),
      banner: { js: `/* Dataverse Outbox ${file}: generated from webresources/${entry}; do not edit. */` },
      logLevel: 'warning',
    });
    const size = statSync(outfile).size;
    const text = readFileSync(outfile, 'utf8');
    if (/\beval\s*\(|\bnew\s+Function\s*\(/.test(text)) throw new Error(`${file} contains eval or new Function`);
    process.stdout.write(`webresources: ${path.relative(path.resolve(workspace, '..'), outfile)} ${size} bytes\n`);
  }
}

if (!process.argv.includes('--bundle-only')) {
  step('type-check', process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
  await lint();
}
await bundle();
