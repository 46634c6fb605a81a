// `npm run build`: builds every workspace in the order their outputs feed each other.
// tsc -b first (type-checks all TypeScript workspaces through project references), then the browser builds
// (web resources, PCF control) whose files the solution packer puts into the zips, then the solution itself.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const order = ['contract', 'web-api', 'producer', 'webresources', 'pcf-outbox-monitor', 'solution', 'emulators', 'publisher-function', 'consumer', 'bench', 'pipelines', 'stack', 'chaos'];
const { workspaces } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

function run(label, command, args) {
  const started = Date.now();
  process.stdout.write(`build: ${label} ...\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', shell: false });
  if (result.status !== 0) {
    process.stderr.write(`build: ${label} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`build: ${label} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

run('type-check and compile (tsc -b)', 'npx', ['tsc', '-b', 'tsconfig.json']);
// Tests are transpiled without type checks by ts-jest; type-check them here so a wrong test fails the build.
for (const ws of workspaces) {
  if (existsSync(new URL(`../${ws}/tsconfig.test.json`, import.meta.url))) {
    run(`type-check ${ws} tests`, 'npx', ['tsc', '-p', `${ws}/tsconfig.test.json`]);
  }
}
for (const ws of order.filter((w) => workspaces.includes(w))) {
  const pkg = JSON.parse(readFileSync(new URL(`../${ws}/package.json`, import.meta.url), 'utf8'));
  if (pkg.scripts && pkg.scripts.build) run(ws, 'npm', ['run', 'build', '--silent', '-w', ws]);
}
