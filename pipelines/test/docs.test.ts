// docs/deployment.md is tried as a new admin would: every command in it exists and its flags match the code
// (our CLI's options, npm scripts, files) or Microsoft's documented pac/az flags.
import { rmSync } from 'node:fs';

import { Settings } from '@dataverse-outbox/solution';

import { buildDeployPlan, createProgram, stepGroups, type DeployPlan } from '../src/index';

import { externalCommandProblems, otherCommands, shellWords } from './support/externalClis';
import { tempSettingsFile } from './support/cli';
import { exists, npmCommandProblems, npmCommandsIn, packageJson, readText, repoRoot } from './support/repo';

const doc = readText('docs/deployment.md');
const shellLines = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] as string).split('\n').map((l) => l.trim()).filter(Boolean));

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
