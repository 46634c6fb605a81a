// Helpers shared by the structural tests: the repository root, package.json scripts, and the checks every
// pipeline, workflow and doc command must pass (scripts exist, paths exist, no secret literals).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const environments = ['dev', 'test', 'prod'] as const;

export function readText(relative: string): string {
  return readFileSync(path.join(repoRoot, relative), 'utf8');
}

export function exists(relative: string): boolean {
  return existsSync(path.join(repoRoot, relative));
}

interface PackageJson {
  name: string;
  scripts?: Record<string, string>;
  workspaces?: string[];
}

export function packageJson(workspace?: string): PackageJson {
  return JSON.parse(readText(workspace ? `${workspace}/package.json` : 'package.json')) as PackageJson;
}

/** npm commands in a shell text, e.g. `npm run build -w solution`, `npm ci && npm test`. */
export interface NpmCommand {
  text: string;
  script: string;
  workspace?: string;
}

export function npmCommandsIn(shell: string): NpmCommand[] {
  const commands: NpmCommand[] = [];
  const pattern = /\bnpm\s+(run(?:-script)?\s+(?:--\S+\s+)*([A-Za-z0-9:_-]+)|test\b|start\b)((?:\s+(?:-w|--workspace)(?:\s+|=)[A-Za-z0-9@/_-]+)?)/g;
  for (const m of shell.matchAll(pattern)) {
    const script = m[2] ?? (m[1]?.startsWith('test') ? 'test' : 'start');
    const ws = /(?:-w|--workspace)(?:\s+|=)([A-Za-z0-9@/_-]+)/.exec(m[3] ?? '')?.[1];
    commands.push({ text: m[0].trim(), script, workspace: ws });
  }
  return commands;
}

/** Problems with npm commands: unknown workspace or missing script. */
export function npmCommandProblems(commands: readonly NpmCommand[]): string[] {
  const root = packageJson();
  const problems: string[] = [];
  for (const c of commands) {
    if (c.workspace && !root.workspaces?.includes(c.workspace)) {
      problems.push(`${c.text}: "${c.workspace}" is not a workspace`);
      continue;
    }
    const scripts = packageJson(c.workspace).scripts ?? {};
    if (!(c.script in scripts)) problems.push(`${c.text}: no "${c.script}" script in ${c.workspace ?? 'the root'} package.json`);
  }
  return problems;
}

/**
 * Secret-looking literals: key material, connection strings with keys, bearer tokens, passwords written inline.
 * Expressions that reference a secret store (`${{ secrets.X }}`, `$(Var)`, Bicep params) are fine.
 */
export function secretLiterals(text: string): string[] {
  const findings: string[] = [];
  const rules: [string, RegExp][] = [
    ['shared access key', /SharedAccessKey\s*=\s*[A-Za-z0-9+/=]{10,}/i],
    ['storage account key', /AccountKey\s*=\s*[A-Za-z0-9+/=]{10,}/i],
    ['instrumentation key', /InstrumentationKey\s*=\s*[0-9a-f-]{36}/i],
    ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
    ['bearer token', /Bearer\s+[A-Za-z0-9._-]{20,}/],
    ['JWT', /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./],
    ['client secret literal', /(client[-_]?secret|password(?:-secret)?|clientSecret)\s*[:=]\s*(?!\$\{\{\s*secrets\.|\$\(|'?\s*$)['"]?[^\s'"]{6,}/i],
    ['Entra client secret shape', /\b[A-Za-z0-9_~.-]{3}8Q~[A-Za-z0-9_~.-]{31,}\b/],
  ];
  for (const [name, pattern] of rules) {
    const match = pattern.exec(text);
    if (match) findings.push(`${name}: ${match[0].slice(0, 60)}`);
  }
  return findings;
}
