// A small Azure Pipelines template expander for the tests: enough of the compile-time syntax this repository uses
// (`- template:` stages with parameters, `${{ parameters.x }}`, `${{ if eq(parameters.x, 'v') }}:` mapping keys).
import path from 'node:path';

import { parse } from 'yaml';

import { readText } from './repo';

type Yaml = unknown;
type Params = Record<string, string>;

const conditional = /^\$\{\{\s*if\s+eq\(\s*parameters\.(\w+)\s*,\s*'([^']*)'\s*\)\s*\}\}$/;

function expand(node: Yaml, params: Params): Yaml {
  if (typeof node === 'string') {
    return node.replace(/\$\{\{\s*parameters\.(\w+)\s*\}\}/g, (_m, name: string) => {
      if (!(name in params)) throw new Error(`template uses undeclared parameter ${name}`);
      return params[name] as string;
    });
  }
  if (Array.isArray(node)) return node.map((item) => expand(item, params));
  if (node && typeof node === 'object') {
    const out: Record<string, Yaml> = {};
    for (const [key, value] of Object.entries(node)) {
      const cond = conditional.exec(key);
      if (cond) {
        if (!(cond[1] as string in params)) throw new Error(`condition uses undeclared parameter ${cond[1]}`);
        if (params[cond[1] as string] === cond[2]) Object.assign(out, expand(value, params));
        continue;
      }
      out[expand(key, params) as string] = expand(value, params);
    }
    return out;
  }
  return node;
}

export interface ExpandedPipeline {
  root: Record<string, unknown>;
  stages: Record<string, unknown>[];
  /** Files the pipeline reads at compile time (itself and its templates). */
  files: string[];
}

/** Parses pipelines/azure-pipelines.yml and inlines its stage templates. */
export function loadAzurePipeline(file = 'pipelines/azure-pipelines.yml'): ExpandedPipeline {
  const root = parse(readText(file)) as Record<string, unknown>;
  const files = [file];
  const stages: Record<string, unknown>[] = [];
  for (const stage of root.stages as Record<string, unknown>[]) {
    if (typeof stage.template !== 'string') {
      stages.push(stage);
      continue;
    }
    const templateFile = path.posix.join(path.posix.dirname(file), stage.template);
    files.push(templateFile);
    const template = parse(readText(templateFile)) as { parameters: { name: string; values?: string[] }[]; stages: unknown[] };
    const given = (stage.parameters ?? {}) as Params;
    for (const p of template.parameters) {
      if (!(p.name in given)) throw new Error(`${templateFile}: parameter ${p.name} not given`);
      if (p.values && !p.values.includes(given[p.name] as string)) throw new Error(`${templateFile}: ${p.name}=${given[p.name]} not allowed`);
    }
    for (const name of Object.keys(given)) {
      if (!template.parameters.some((p) => p.name === name)) throw new Error(`${templateFile}: unknown parameter ${name}`);
    }
    stages.push(...(expand(template.stages, given) as Record<string, unknown>[]));
  }
  return { root, stages, files };
}

export interface StepRef {
  stage: string;
  job: string;
  step: Record<string, unknown>;
}

/** Every step of every job, including deployment jobs' runOnce.deploy steps. */
export function stepsOf(stages: readonly Record<string, unknown>[]): StepRef[] {
  const refs: StepRef[] = [];
  for (const stage of stages) {
    for (const job of (stage.jobs ?? []) as Record<string, unknown>[]) {
      const name = (job.job ?? job.deployment) as string;
      const strategy = job.strategy as { runOnce?: { deploy?: { steps?: unknown[] } } } | undefined;
      const steps = (job.steps ?? strategy?.runOnce?.deploy?.steps ?? []) as Record<string, unknown>[];
      for (const step of steps) refs.push({ stage: stage.stage as string, job: name, step });
    }
  }
  return refs;
}

/** Replaces `$(name)` with pipeline variables declared in the YAML (as a list of name/value). */
export function resolveVariables(text: string, variables: readonly { name: string; value: string }[]): string {
  return text.replace(/\$\((\w+)\)/g, (m, name: string) => variables.find((v) => v.name === name)?.value ?? m);
}
