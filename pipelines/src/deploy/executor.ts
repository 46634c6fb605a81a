// Runs a deployment plan step by step: commands through a runner, Web API calls through the product's Web API client
// (bearer token asked for once, Retry-After on throttling, Dataverse's errors typed). Values captured from one step fill
// the `{{placeholders}}` of the next. Progress goes to `report` as it happens.
import { spawn } from 'node:child_process';

import { DataverseClient, isDataverseError, type DataverseResponse } from '@dataverse-outbox/web-api';

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
  /** The fetch the Web API client sends with (tests pass a double). */
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
  // The token is asked for lazily (plans without Web API steps need no sign-in) and once: it outlives a deployment.
  let token: Promise<string> | undefined;
  const client = new DataverseClient(
    plan.dataverseUrl,
    { getToken: async () => ({ token: await (token ??= options.getToken()), expiresOnTimestamp: Number.MAX_SAFE_INTEGER }) },
    {
      // A command reports an unreachable environment at once; throttling (429) and 503 still wait as Dataverse asks.
      retryOptions: { retryUnreachable: false },
      ...(options.fetch ? { fetch: options.fetch } : {}),
    },
  );
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
      captured = await runWebApiStep(plan, step, vars, client, options.abortSignal);
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
  client: DataverseClient,
  abortSignal: AbortSignal | undefined,
) {
  const url = new URL(fillPlaceholders(step.path, vars), plan.webApiBase);
  const body = step.body === undefined ? undefined : fillPlaceholders(JSON.stringify(step.body), vars);
  const what = `${step.method} ${url.pathname}${url.search}`;
  let response: DataverseResponse;
  try {
    response = await client.request(step.method, url.href, {
      ...(body === undefined ? {} : { rawBody: body }),
      headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }), ...step.headers },
      abortSignal,
      what,
    });
  } catch (error) {
    if (!isDataverseError(error)) throw error;
    const status = error.statusCode;
    throw new DeployError('WebApiFailed', error.message, {
      status,
      stepId: step.id,
      hint: status === 401 || status === 403 ? 'sign in as a System Administrator of the environment (az login)' : undefined,
    });
  }
  const json: unknown = response.text ? safeJson(response.text) : undefined;
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
