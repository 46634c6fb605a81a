// Runs the deploy CLI as a real process (node + tsx on the TypeScript sources), the way `npm run deploy` does.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { repoRoot } from './repo';

export const cliEntry = path.join(repoRoot, 'pipelines', 'src', 'deploy', 'main.ts');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env, cwd = repoRoot): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', cliEntry, ...args], {
      cwd,
      env: { ...env, INIT_CWD: cwd },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A deployment settings file in a fresh temporary folder. */
export function tempSettingsFile(values: Record<string, string>): { file: string; dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-deploy-'));
  const file = path.join(dir, 'settings.json');
  writeFileSync(
    file,
    JSON.stringify({ EnvironmentVariables: Object.entries(values).map(([SchemaName, Value]) => ({ SchemaName, Value })), ConnectionReferences: [] }, null, 2),
  );
  return { file, dir };
}
