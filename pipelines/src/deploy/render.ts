// Human-readable rendering of a plan (dry run) and of progress (real run).
import type { DeployPlan, DeployStep } from './plan';
import type { StepEvent } from './executor';
import type { ToolCheck } from './tools';

/** Quotes an argument for a POSIX shell only when it needs it, so printed commands can be copied and run. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(step: DeployStep): string {
  return step.kind === 'command' ? [step.program, ...step.args].map(shellQuote).join(' ') : `${step.method} ${step.url}`;
}

export function renderPlan(plan: DeployPlan, checks: readonly ToolCheck[]): string {
  const lines = [
    `Deployment plan for environment "${plan.environment}" (${plan.dataverseUrl}); nothing was run (--dry-run).`,
    `Web API: ${plan.webApiBase}`,
    '',
  ];
  for (const [i, step] of plan.steps.entries()) {
    lines.push(`${String(i + 1).padStart(2)}. [${step.group}] ${step.title}`);
    if (step.skipIfSet?.length) lines.push(`    (skipped when ${step.skipIfSet.map((v) => `{{${v}}}`).join(', ')} is already known)`);
    if (step.kind === 'command') lines.push(`    $ ${commandLine(step)}`);
    else {
      lines.push(`    ${step.method} ${step.url}`);
      if (step.body !== undefined) lines.push(...JSON.stringify(step.body, null, 2).split('\n').map((l) => `    ${l}`));
    }
    for (const c of step.capture ?? []) {
      const source = c.from === 'json' ? `response ${c.path}` : c.from === 'entityId' ? 'OData-EntityId header' : 'standard output';
      lines.push(`    -> {{${c.var}}} from ${source}${c.required ? '' : ' (if any)'}`);
    }
  }
  const missing = checks.filter((c) => !c.found);
  lines.push('');
  if (missing.length === 0) lines.push(`Tools: ${checks.map((c) => `${c.name} (${c.path})`).join(', ') || 'none needed'}`);
  else for (const c of missing) lines.push(`Warning: '${c.name}' is not on PATH; a real run needs it (${c.purpose}).`, ...c.install.map((l) => `  ${l}`));
  return lines.join('\n');
}

export function renderEvent(event: StepEvent): string {
  const prefix = `[${event.index}/${event.total}] ${event.step.title}`;
  switch (event.phase) {
    case 'start':
      return `${prefix} ...\n      ${commandLine(event.step)}`;
    case 'skipped':
      return `${prefix}: skipped, ${event.reason ?? ''}`;
    case 'done': {
      const captured = Object.entries(event.captured ?? {}).map(([k, v]) => `${k}=${v}`);
      return `${prefix}: done${captured.length ? ` (${captured.join(', ')})` : ''}`;
    }
  }
}
