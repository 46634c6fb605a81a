// docs/deployment.md is tried as a new admin would: every command in it exists and its flags match the code
// (our CLI's options, npm scripts, files) or Microsoft's documented pac/az flags.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';

import { Settings } from '@dataverse-outbox/contract';

import { buildDeployPlan, createProgram, stepGroups, type DeployPlan } from '../src/index';

import { externalCommandProblems, otherCommands, shellWords } from './support/externalClis';
import { tempSettingsFile } from './support/cli';
import { exists, npmCommandProblems, npmCommandsIn, packageJson, readText, repoRoot } from './support/repo';

const doc = readText('docs/deployment.md');
const shellLines = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)]
  .flatMap((m) => (m[1] as string).split('\n').map((l) => l.trim()).filter(Boolean))
  // `export NAME="$(command)"`: the command inside is what must exist.
  .map((l) => /^export [A-Z_]+="\$\((.*)\)"$/.exec(l)?.[1] ?? l);

/** Long flags a workspace script's CLI prints in its --help (run the way npm runs it, with node + tsx). */
function helpFlags(workspace: string, script: string): string[] {
  const command = packageJson(workspace).scripts?.[script] as string;
  const words = command.split(/\s+/);
  expect(words[0]).toBe('node');
  const result = spawnSync(process.execPath, [...words.slice(1), '--help'], { cwd: path.join(repoRoot, workspace), encoding: 'utf8' });
  expect(result.status).toBe(0);
  return [...result.stdout.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
}

/** `npm run deploy -- <args>` lines, with the args. */
const deployCommands = shellLines.filter((l) => l.startsWith('npm run deploy')).map((l) => shellWords(l.slice(l.indexOf(' -- ') + 4)));

function parseDeployArgs(args: readonly string[]): Record<string, unknown> {
  const program = createProgram({ stdout: () => {}, stderr: (t) => { throw new Error(t); }, env: {}, cwd: repoRoot });
  program.parse(args, { from: 'user' });
  return program.opts();
}

describe('docs/deployment.md', () => {
  it('has shell commands to check', () => {
    expect(shellLines.length).toBeGreaterThan(10);
    expect(deployCommands.length).toBeGreaterThanOrEqual(4);
  });

  it('shows only commands that exist: npm scripts, our deploy CLI, documented pac/az commands and flags', () => {
    const problems: string[] = [];
    for (const line of shellLines) {
      const words = shellWords(line);
      if (words[0] === 'npm') {
        const commands = npmCommandsIn(line);
        if (words[1] !== 'ci' && commands.length === 0) problems.push(`not understood: ${line}`);
        problems.push(...npmCommandProblems(commands.filter((c) => !(c.script === 'deploy' && !c.workspace))));
      } else if (words[0] === 'pac' || words[0] === 'az') problems.push(...externalCommandProblems(words));
      else if (!otherCommands.includes(line)) problems.push(`unexpected command: ${line}`);
    }
    expect(problems).toEqual([]);
  });

  it('passes other workspaces\' CLIs only flags their --help lists', () => {
    const calls = shellLines.filter((l) => /^npm run \S+ -w \S+ -- /.test(l));
    expect(calls.length).toBeGreaterThan(0);
    for (const line of calls) {
      const [, script, workspace, rest] = /^npm run (\S+) -w (\S+) -- (.*)$/.exec(line) as RegExpExecArray;
      if (script === 'deploy') continue;
      const known = helpFlags(workspace as string, script as string);
      for (const flag of shellWords(rest as string).filter((w) => w.startsWith('--'))) expect({ line, flag, known: known.includes(flag) }).toEqual({ line, flag, known: true });
    }
  });

  it('`npm run deploy` resolves to the deploy CLI', () => {
    // The root script is added by the repository's maintainers; until then the workspace script is the same CLI.
    const root = packageJson().scripts?.deploy;
    const script = root ?? packageJson('pipelines').scripts?.deploy;
    expect(script).toMatch(/src\/deploy\/main\.ts/);
    if (root) expect(root).toContain('pipelines/src/deploy/main.ts');
  });

  it('uses only flags the deploy CLI accepts, with values it accepts, and each plans without error', () => {
    const { file, dir } = tempSettingsFile({ [Settings.RetentionDays.schemaName]: '7' });
    try {
      for (const args of deployCommands) {
        const opts = parseDeployArgs(args) as {
          environment: string; url: string; appId?: string; package: 'managed' | 'unmanaged'; upgrade: boolean;
          resourceGroup?: string; skip: (typeof stepGroups)[number][];
        };
        const plan: DeployPlan = buildDeployPlan({
          environment: opts.environment,
          dataverseUrl: opts.url,
          repoRoot,
          settingsFile: file,
          packageType: opts.package,
          upgrade: opts.upgrade,
          appId: opts.appId,
          skip: opts.skip,
          resourceGroup: opts.resourceGroup,
          cleanupStart: new Date(),
        });
        expect(plan.steps.length).toBeGreaterThan(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('documents every option of the deploy CLI, and no option it does not have', () => {
    const program = createProgram({ stdout: () => {}, stderr: () => {}, env: {}, cwd: repoRoot });
    const real = program.options.map((o) => o.long as string).sort();
    const table = doc.slice(doc.indexOf('### All options of `npm run deploy`'), doc.indexOf('## Upgrading the solution'));
    const documented = [...table.matchAll(/^\| `(--[a-z-]+)/gm)].map((m) => m[1] as string).sort();
    expect(documented).toEqual(real);
    for (const group of stepGroups) expect(table).toContain(`\`${group}\``);
  });

  it('names only repository files and folders that exist', () => {
    const paths = [...doc.matchAll(/`((?:pipelines|solution|publisher-function|docs|\.github)\/[A-Za-z0-9_./-]+)`/g)].map((m) => m[1] as string);
    expect(paths.length).toBeGreaterThan(10);
    const missing = paths.filter((p) => !p.includes('/out/') && !p.includes('<') && !exists(p.replace(/\/$/, '')));
    expect(missing).toEqual([]);
  });

  it('mentions inline npm commands that exist', () => {
    const inline = [...doc.matchAll(/`(npm run [^`]+)`/g)].map((m) => m[1] as string);
    expect(npmCommandProblems(inline.flatMap(npmCommandsIn).filter((c) => !(c.script === 'deploy' && !c.workspace)))).toEqual([]);
  });
});
