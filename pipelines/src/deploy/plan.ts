// A deployment is planned as data first, then executed. The same plan is printed by `--dry-run` (text or JSON), so
// every command and Web API call can be reviewed or replayed by another tool before anything touches an environment.
import type { CapturedFormat } from './arguments';

/** Where a step reads a value that later steps use as `{{name}}`, and the form it must have (checked when captured). */
export type Capture = (
  /** JSON response body, dotted path (`value.0.roleid`). */
  | { var: string; from: 'json'; path: string; required: boolean }
  /** The record id in the `OData-EntityId` response header of a create. */
  | { var: string; from: 'entityId'; required: boolean }
  /** Trimmed standard output of a command. */
  | { var: string; from: 'stdout'; required: boolean }
) & { format?: CapturedFormat };

interface StepBase {
  /** Stable id (tests and `--skip` refer to steps by their group). */
  id: string;
  /** The group `--skip` acts on: pack, import, infra, function, app-user, cleanup, verify. */
  group: StepGroup;
  title: string;
  /** Run only when none of these variables has a value yet (find-or-create). */
  skipIfSet?: string[];
  capture?: Capture[];
}

export interface CommandStep extends StepBase {
  kind: 'command';
  program: 'npm' | 'pac' | 'az';
  args: string[];
}

export interface WebApiStep extends StepBase {
  kind: 'webapi';
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the Web API base (`<url>/api/data/v9.2/`); may contain `{{var}}` placeholders. */
  path: string;
  /** Absolute URL (base + path), printed for people and replaying tools. */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export type DeployStep = CommandStep | WebApiStep;

export const stepGroups = ['pack', 'import', 'infra', 'function', 'app-user', 'cleanup', 'verify'] as const;
export type StepGroup = (typeof stepGroups)[number];

export interface DeployPlan {
  /** Format version of this JSON, bumped on incompatible change. */
  formatVersion: 1;
  environment: string;
  dataverseUrl: string;
  webApiBase: string;
  /** Variables known before the run (`{{apiBase}}`, ...). */
  variables: Record<string, string>;
  steps: DeployStep[];
}

const placeholder = /\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g;

/** Replaces `{{name}}` placeholders; unknown names are an error, never left in a request. */
export function fillPlaceholders(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(placeholder, (_match, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for {{${name}}}`);
    return value;
  });
}

/** Placeholders a text refers to, in order of first use. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(placeholder)].map((m) => m[1] as string))];
}

/** Dotted path lookup used by JSON captures (`value.0.roleid`). */
export function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** `https://org/api/data/v9.2/systemusers(0000...)` -> the id. */
export function idFromEntityIdHeader(header: string | null): string | undefined {
  if (!header) return undefined;
  const match = /\(([0-9a-fA-F-]{36})\)\s*$/.exec(header);
  return match?.[1]?.toLowerCase();
}
