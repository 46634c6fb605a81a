// Runs a deployment plan step by step: commands through a runner, Web API calls through fetch with a bearer token.
// Values captured from one step fill the `{{placeholders}}` of the next. Progress goes to `report` as it happens.
import { spawn } from 'node:child_process';

import { checkCaptured } from './arguments';
import { spawnSpec } from './childProcess';
import { DeployError } from './errors';
import type { CommandStep, DeployPlan, DeployStep, WebApiStep } from './plan';
import { fillPlaceholders, idFromEntityIdHeader, readPath } from './plan';

export interface CommandResult {
  exitCode: number;
  stdout: string;
}

export type CommandRunner = (program: string, args: readonly string[], options: { cwd: string; capture: boolean }) => Promise<CommandResult>;

export interface ExecuteOptions {
  cwd: string;
  /** Bearer token for the Dataverse Web API; asked for lazily, once, before the first Web API call. */
  getToken: () => Promise<string>;
  runCommand?: CommandRunner;
  fetch?: typeof fetch;
  report?: (event: StepEvent) => void;
  abortSignal?: AbortSignal;
}

export type StepOutcome = 'done' | 'skipped';

export interface StepEvent {
  index: number;
  total: number;
  step: DeployStep;
  phase: 'start' | StepOutcome;
  /** Values this step captured (ids, names: never tokens). */
  captured?: Record<string, string>;
  reason?: string;
}

export interface ExecuteResult {
  variables: Record<string, string>;
  steps: { id: string; outcome: StepOutcome; captured: Record<string, string> }[];
}

/**
 * Runs a command with inherited output (or captured stdout), resolving with its exit code. Never through a shell:
 * childProcess.ts resolves Windows .cmd shims and escapes for cmd.exe, or refuses an argument it cannot carry.
 */
export const spawnCommand: CommandRunner = (program, args, { cwd, capture }) =>
  new Promise((resolve, reject) => {
    const spec = spawnSpec(program, args);
    const child = spawn(spec.file, spec.args, {
      cwd,
      stdio: capture ? ['ignore', 'pipe', 'inherit'] : 'inherit',
      shell: false,
      windowsVerbatimArguments: spec.windowsVerbatimArguments,
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code ?? 1, stdout }));
  });

export async function executePlan(plan: DeployPlan, options: ExecuteOptions): Promise<ExecuteResult> {
  const vars: Record<string, string> = { ...plan.variables };
  const results: ExecuteResult['steps'] = [];
  const runCommand = options.runCommand ?? spawnCommand;
  const doFetch = options.fetch ?? fetch;
  let token: string | undefined;
  const total = plan.steps.length;

  for (const [i, step] of plan.steps.entries()) {
    options.abortSignal?.throwIfAborted();
    const index = i + 1;
    const already = (step.skipIfSet ?? []).find((name) => vars[name] !== undefined);
    if (already !== undefined) {
      const reason = `${already} is already known (${vars[already]})`;
      options.report?.({ index, total, step, phase: 'skipped', reason });
      results.push({ id: step.id, outcome: 'skipped', captured: {} });
      continue;
    }
    options.report?.({ index, total, step, phase: 'start' });
    let captured: Record<string, string>;
    if (step.kind === 'command') {
      captured = await runCommandStep(step, vars, runCommand, options.cwd);
    } else {
      token ??= await options.getToken();
      captured = await runWebApiStep(plan, step, vars, token, doFetch, options.abortSignal);
    }
    Object.assign(vars, captured);
    options.report?.({ index, total, step, phase: 'done', captured });
    results.push({ id: step.id, outcome: 'done', captured });
  }
  return { variables: vars, steps: results };
}

async function runCommandStep(step: CommandStep, vars: Record<string, string>, run: CommandRunner, cwd: string) {
  const args = step.args.map((arg) => fillPlaceholders(arg, vars));
  const capture = (step.capture ?? []).length > 0;
  const result = await run(step.program, args, { cwd, capture });
  if (result.exitCode !== 0) {
    throw new DeployError('CommandFailed', `${step.program} ${args.join(' ')} exited with code ${result.exitCode}`, { stepId: step.id });
  }
  const captured: Record<string, string> = {};
  for (const c of step.capture ?? []) {
    const value = c.from === 'stdout' ? result.stdout.trim() : '';
    if (value) captured[c.var] = c.format ? checkCaptured(c.format, c.var, value, step.id) : value;
    else if (c.required) throw new DeployError('CaptureMissing', `${step.id}: the command printed no ${c.var}`, { stepId: step.id });
  }
  return captured;
}

async function runWebApiStep(
  plan: DeployPlan,
  step: WebApiStep,
  vars: Record<string, string>,
  token: string,
  doFetch: typeof fetch,
  abortSignal: AbortSignal | undefined,
) {
  const url = new URL(fillPlaceholders(step.path, vars), plan.webApiBase);
  const body = step.body === undefined ? undefined : fillPlaceholders(JSON.stringify(step.body), vars);
  const response = await doFetch(url, {
    method: step.method,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      'OData-MaxVersion': '4.0',
      'OData-Version': '4.0',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
      ...step.headers,
    },
    body,
    signal: abortSignal,
  });
  const text = await response.text();
  if (!response.ok) {
    throw new DeployError('WebApiFailed', `${step.method} ${url.pathname}${url.search} failed: HTTP ${response.status} ${dataverseMessage(text)}`, {
      status: response.status,
      stepId: step.id,
      hint: response.status === 401 || response.status === 403 ? 'sign in as a System Administrator of the environment (az login)' : undefined,
    });
  }
  const json: unknown = text ? safeJson(text) : undefined;
  const captured: Record<string, string> = {};
  for (const c of step.capture ?? []) {
    const raw = c.from === 'entityId' ? idFromEntityIdHeader(response.headers.get('OData-EntityId')) : c.from === 'json' ? readPath(json, c.path) : undefined;
    if (raw !== undefined && raw !== null && raw !== '') captured[c.var] = c.format ? checkCaptured(c.format, c.var, String(raw), step.id) : String(raw);
    else if (c.required) {
      throw new DeployError('CaptureMissing', `${step.id}: the response has no ${c.from === 'json' ? c.path : 'OData-EntityId'} (needed as ${c.var})`, {
        stepId: step.id,
        hint: step.id === 'find-publisher-role' || step.id === 'find-publisher-profile' ? 'import the solution first: the role and the column security profile ship with it' : undefined,
      });
    }
  }
  return captured;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function dataverseMessage(text: string): string {
  const json = safeJson(text) as { error?: { code?: string; message?: string } } | undefined;
  if (json?.error?.message) return `${json.error.code ?? ''} ${json.error.message}`.trim();
  return text.slice(0, 300);
}
