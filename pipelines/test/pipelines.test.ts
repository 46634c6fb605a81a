// Structural checks of the CI/CD definitions: Azure Pipelines (pipelines/azure-pipelines.yml + templates) and
// GitHub Actions (pipelines/github/*.yml, copied to .github/workflows/). They cannot run here (no cloud), so every
// reference they make is checked against the repository and against the real task/action contracts.
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { parse } from 'yaml';

import { loadAzurePipeline, resolveVariables, stepsOf } from './support/azdo';
import { azureDevOpsTasks, githubActions } from './support/catalog';
import { environments, exists, npmCommandProblems, npmCommandsIn, readText, repoRoot, secretLiterals } from './support/repo';

/** Every string scalar in a parsed YAML tree. */
function strings(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(strings);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** Repository paths mentioned in a text (build outputs under <workspace>/out/ are checked separately). */
function repoPathsIn(text: string): string[] {
  const found = text.match(/(?<![\w/.$-])(?:pipelines|solution|publisher-function|webresources|pcf-outbox-monitor|\.github)\/[A-Za-z0-9_./@-]*[A-Za-z0-9_]/g) ?? [];
  return [...new Set(found.map((p) => p.replace(/^@/, '')))];
}

function missingPaths(texts: readonly string[]): string[] {
  const missing: string[] = [];
  for (const text of texts) {
    for (const env of environments) {
      const concrete = text.replace(/\$TARGET|\$\{\{\s*inputs\.environment\s*\}\}/g, env);
      for (const p of repoPathsIn(concrete)) {
        if (/\/out(\/|$)/.test(p) || p.includes('*')) continue;
        if (!exists(p)) missing.push(p);
      }
    }
  }
  return [...new Set(missing)];
}

/** The app settings the Bicep owns (functionapp.bicep's `name: 'UPPER_CASE'` entries). */
const bicepAppSettings = [...readText('pipelines/infra/modules/functionapp.bicep').matchAll(/name:\s*'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] as string);

/** Bicep-owned app settings a pipeline text sets again (`-NAME value` in a task's appSettings, `NAME=` in az CLI):
 *  a second writer would override the Bicep's parameter (a hard-coded `OUTBOX_SCOPE default` did). */
function settingsOverridden(text: string): string[] {
  return bicepAppSettings.filter((name) => new RegExp(`(^|[\\s"'])-?${name}(\\s+\\S|=)`, 'm').test(text));
}

describe('Azure Pipelines definition', () => {
  const pipeline = loadAzurePipeline();
  const variables = (pipeline.root.variables ?? []) as { name: string; value: string }[];
  const steps = stepsOf(pipeline.stages);

  it('runs Build, then dev, test and prod, each depending on the previous one', () => {
    expect(pipeline.stages.map((s) => s.stage)).toEqual(['Build', 'Deploy_dev', 'Deploy_test', 'Deploy_prod']);
    expect(pipeline.stages.slice(1).map((s) => s.dependsOn)).toEqual(['Build', 'Deploy_dev', 'Deploy_test']);
  });

  it('gates every deploy stage: deployment job on an approvable environment, main branch only', () => {
    for (const [i, env] of environments.entries()) {
      const stage = pipeline.stages[i + 1] as { condition: string; jobs: Record<string, unknown>[] };
      expect(stage.condition).toContain("eq(variables['Build.SourceBranch'], 'refs/heads/main')");
      expect(stage.condition).toContain('succeeded()');
      expect(stage.jobs).toHaveLength(1);
      expect(stage.jobs[0]).toMatchObject({ deployment: 'Deploy', environment: `dataverse-outbox-${env}` });
    }
  });

  it('uses only real tasks with real inputs, and gives every required input', () => {
    const problems: string[] = [];
    for (const { stage, step } of steps) {
      if (typeof step.task !== 'string') continue;
      const contract = azureDevOpsTasks[step.task];
      if (!contract) {
        problems.push(`${stage}: unknown task ${step.task}`);
        continue;
      }
      const inputs = (step.inputs ?? {}) as Record<string, unknown>;
      for (const name of Object.keys(inputs)) if (!contract.inputs.includes(name)) problems.push(`${stage}: ${step.task} has no input ${name}`);
      for (const name of contract.required) {
        const aliasGiven = name === 'azureSubscription' && 'connectedServiceNameARM' in inputs;
        if (!(name in inputs) && !aliasGiven) problems.push(`${stage}: ${step.task} needs ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('builds and tests with npm ci && npm test, builds PCF and web resources in production mode, packs, checks', () => {
    const build = steps.filter((s) => s.stage === 'Build');
    const scripts = build.map((s) => s.step.script).filter((s): s is string => typeof s === 'string');
    expect(scripts).toContain('npm ci && npm test');
    for (const ws of ['webresources', 'pcf-outbox-monitor']) {
      const step = build.find((s) => s.step.script === `npm run build -w ${ws}`);
      expect(step?.step.env).toEqual({ NODE_ENV: 'production' });
    }
    expect(scripts).toContain('npm run build -w solution');
    const checker = build.find((s) => s.step.task === 'PowerPlatformChecker@2')?.step.inputs as Record<string, string>;
    expect(checker.FilesToAnalyze).toMatch(/_managed\.zip$/);
    expect(checker.RuleSet).toBe('0ad12346-e108-40b8-a956-9a8f95ea18c9');
    const order = build.map((s) => s.step.task ?? s.step.script);
    expect(order.indexOf('PowerPlatformToolInstaller@2')).toBeLessThan(order.indexOf('PowerPlatformChecker@2'));
  });

  it('imports into each environment with that environment\'s deployment settings file', () => {
    for (const env of environments) {
      const imports = steps.filter((s) => s.stage === `Deploy_${env}` && s.step.task === 'PowerPlatformImportSolution@2');
      expect(imports).toHaveLength(1);
      const inputs = imports[0]?.step.inputs as Record<string, unknown>;
      expect(inputs.UseDeploymentSettingsFile).toBe(true);
      expect(inputs.DeploymentSettingsFile).toBe(`solution/deployment-settings/${env}.json`);
      expect(exists(inputs.DeploymentSettingsFile as string)).toBe(true);
      expect(inputs.PowerPlatformSPN).toBe(`dataverse-outbox-${env}`);
      // managed + upgrade downstream, unmanaged + publish in dev
      if (env === 'dev') expect(inputs).toMatchObject({ PublishCustomizationChanges: true });
      else expect(inputs).toMatchObject({ StageAndUpgrade: true });
    }
  });

  it('deploys in a safe order per stage: infra, import, app user + cleanup, then function code', () => {
    for (const env of environments) {
      const names = steps
        .filter((s) => s.stage === `Deploy_${env}`)
        .map((s) => String(s.step.task ?? '') + ' ' + String((s.step.inputs as Record<string, string> | undefined)?.inlineScript ?? s.step.script ?? ''));
      const at = (needle: string) => names.findIndex((n) => n.includes(needle));
      expect(at('az deployment group create')).toBeGreaterThanOrEqual(0);
      expect(at('az deployment group create')).toBeLessThan(at('PowerPlatformImportSolution@2'));
      expect(at('PowerPlatformImportSolution@2')).toBeLessThan(at('npm run deploy'));
      expect(at('npm run deploy')).toBeLessThan(at('AzureFunctionApp@2'));
    }
  });

  it('zip-deploys the function app code only: every app setting comes from the Bicep (outboxScope among them)', () => {
    for (const env of environments) {
      const fn = steps.find((s) => s.stage === `Deploy_${env}` && s.step.task === 'AzureFunctionApp@2')?.step.inputs as Record<string, unknown>;
      expect(fn).toMatchObject({ appType: 'functionAppLinux', isFlexConsumption: true });
      expect(settingsOverridden(String(fn.appSettings ?? ''))).toEqual([]);
    }
    for (const file of pipeline.files) expect({ file, overridden: settingsOverridden(readText(file)) }).toEqual({ file, overridden: [] });
  });

  it('downloads only artifacts the Build stage publishes', () => {
    const published = steps
      .filter((s) => s.step.task === 'PublishPipelineArtifact@1')
      .map((s) => resolveVariables(String((s.step.inputs as Record<string, string>).artifact), variables));
    expect(published.sort()).toEqual(['publisher-function', 'solution']);
    const downloaded = steps.filter((s) => typeof s.step.download === 'string').map((s) => String(s.step.artifact));
    expect(downloaded.length).toBeGreaterThan(0);
    for (const name of downloaded) expect(published).toContain(name);
  });

  it('refers only to npm scripts, files and folders that exist', () => {
    const texts = pipeline.files.map(readText).concat(strings(pipeline.stages).map((t) => resolveVariables(t, variables)));
    expect(npmCommandProblems(texts.flatMap(npmCommandsIn))).toEqual([]);
    expect(missingPaths(texts)).toEqual([]);
  });

  it('contains no secret literals', () => {
    for (const file of pipeline.files) expect({ file, findings: secretLiterals(readText(file)) }).toEqual({ file, findings: [] });
  });
});

describe('GitHub Actions workflows', () => {
  const dir = 'pipelines/github';
  const files = readdirSync(path.join(repoRoot, dir)).filter((f) => f.endsWith('.yml'));
  const workflows = Object.fromEntries(files.map((f) => [f, parse(readText(`${dir}/${f}`)) as Record<string, unknown>]));
  type Job = { needs?: string | string[]; uses?: string; environment?: string; steps?: Record<string, unknown>[]; if?: string; with?: Record<string, string> };
  const jobsOf = (f: string) => workflows[f]?.jobs as Record<string, Job>;
  const allSteps = files.flatMap((f) => Object.values(jobsOf(f)).flatMap((j) => j.steps ?? []));

  it('has identical copies in .github/workflows so GitHub runs them without moving files', () => {
    expect(files.sort()).toEqual(['dataverse-outbox.yml', 'deploy-environment.yml']);
    for (const f of files) expect(readText(`.github/workflows/${f}`)).toBe(readText(`${dir}/${f}`));
  });

  it('runs build, then dev, test and prod, each needing the previous one; deploys only from main', () => {
    const jobs = jobsOf('dataverse-outbox.yml');
    expect(Object.keys(jobs)).toEqual(['build', 'deploy-dev', 'deploy-test', 'deploy-prod']);
    expect([jobs['deploy-dev']?.needs, jobs['deploy-test']?.needs, jobs['deploy-prod']?.needs]).toEqual(['build', 'deploy-dev', 'deploy-test']);
    expect(jobs['deploy-dev']?.if).toContain("github.ref == 'refs/heads/main'");
    for (const env of environments) {
      const job = jobs[`deploy-${env}`] as Job;
      expect(job.uses).toBe('./.github/workflows/deploy-environment.yml');
      expect(job.with?.environment).toBe(env);
      expect(job.with?.['package-type']).toBe(env === 'dev' ? 'unmanaged' : 'managed');
    }
  });

  it('gates each deployment with the GitHub environment of the same name', () => {
    const deploy = jobsOf('deploy-environment.yml').deploy as Job;
    expect(deploy.environment).toBe('${{ inputs.environment }}');
    const on = workflows['deploy-environment.yml']?.on as { workflow_call: { inputs: Record<string, unknown> } };
    expect(Object.keys(on.workflow_call.inputs).sort()).toEqual(['environment', 'package-type']);
  });

  it('uses only real actions with real inputs, and gives every required input', () => {
    const problems: string[] = [];
    for (const step of allSteps) {
      if (typeof step.uses !== 'string') continue;
      const contract = githubActions[step.uses];
      if (!contract) {
        problems.push(`unknown action ${step.uses}`);
        continue;
      }
      const inputs = (step.with ?? {}) as Record<string, unknown>;
      for (const name of Object.keys(inputs)) if (!contract.inputs.includes(name)) problems.push(`${step.uses} has no input ${name}`);
      for (const name of contract.required) if (!(name in inputs)) problems.push(`${step.uses} needs ${name}`);
    }
    expect(problems).toEqual([]);
  });

  it('builds, tests, packs and checks in the build job', () => {
    const runs = (jobsOf('dataverse-outbox.yml').build?.steps ?? []).map((s) => String(s.run ?? s.uses));
    for (const expected of [
      'npm ci && npm test',
      'npm run build -w webresources',
      'npm run build -w pcf-outbox-monitor',
      'npm run build -w solution',
      'microsoft/powerplatform-actions/check-solution@v1',
    ]) {
      expect(runs).toContain(expected);
    }
  });

  it('imports with the deployment settings file of the environment being deployed', () => {
    const step = allSteps.find((s) => s.uses === 'microsoft/powerplatform-actions/import-solution@v1');
    expect(step?.with).toMatchObject({
      'use-deployment-settings-file': true,
      'deployment-settings-file': 'solution/deployment-settings/${{ inputs.environment }}.json',
    });
    for (const env of environments) expect(exists(`solution/deployment-settings/${env}.json`)).toBe(true);
  });

  it('passes secrets only through the secrets context', () => {
    for (const step of allSteps) {
      for (const [name, value] of Object.entries((step.with ?? {}) as Record<string, unknown>)) {
        if (/secret|password/i.test(name) && !/artifact/.test(name)) expect(String(value)).toMatch(/^\$\{\{\s*secrets\.[A-Z_]+\s*\}\}$/);
      }
    }
    for (const f of files) expect(secretLiterals(readText(`${dir}/${f}`))).toEqual([]);
  });

  it('downloads only artifacts the build job uploads', () => {
    const uploaded = allSteps.filter((s) => s.uses === 'actions/upload-artifact@v4').map((s) => (s.with as Record<string, string>).name);
    const downloaded = allSteps.filter((s) => s.uses === 'actions/download-artifact@v4').map((s) => (s.with as Record<string, string>).name);
    expect(downloaded.sort()).toEqual(uploaded.sort());
  });

  it('never sets an app setting the Bicep owns (the lease scope comes from outboxScope alone)', () => {
    for (const f of files) expect({ f, overridden: settingsOverridden(readText(`${dir}/${f}`)) }).toEqual({ f, overridden: [] });
  });

  it('refers only to npm scripts, files and folders that exist', () => {
    const texts = files.map((f) => readText(`${dir}/${f}`));
    expect(npmCommandProblems(texts.flatMap(npmCommandsIn))).toEqual([]);
    expect(missingPaths(texts)).toEqual([]);
  });
});
