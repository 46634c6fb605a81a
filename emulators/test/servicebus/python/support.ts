// The Python suite's harness: one emulator per test file with its TLS listener (self-signed certificate written to a
// temp file the SDK trusts), and a runner for the suite's Python scripts under Debian's /usr/bin/python3, where
// python3-azure (azure-servicebus 7.8 on uamqp) lives. Each script runs several cases in one process and prints one
// JSON line; the Jest tests assert on what each case observed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildEmulatorConfig,
  startServiceBusEmulator,
  type ServiceBusEmulator,
  type ShortEmulatorConfig,
} from '@dataverse-outbox/emulators/servicebus';

const python = '/usr/bin/python3';

/** Whether Debian's azure-servicebus can be imported; with CI=true its absence fails the suite instead of skipping. */
function sdkInstalled(): boolean {
  const probe = spawnSync(python, ['-c', 'import azure.servicebus, uamqp'], { encoding: 'utf8' });
  return probe.status === 0;
}

const installed = sdkInstalled();
if (!installed && process.env.CI === 'true') {
  throw new Error(`${python} cannot import azure.servicebus: install Debian's python3-azure (.ci/run does) — with CI=true the Python suite never skips.`);
}

/** `describe`, or `describe.skip` on a developer machine without python3-azure (never with CI=true, see above). */
export const describeWithPython: jest.Describe = installed ? describe : describe.skip;

export type CaseResult<T = unknown> = { ok: true; value: T } | { ok: false; error: string; message: string };
export type CaseResults = Record<string, CaseResult>;

export interface PythonHarness {
  emulator: ServiceBusEmulator;
  /** Runs one of the suite's scripts (file name in this folder) against the emulator; `env` adds to its environment. */
  run(script: string, env?: Record<string, string>): Promise<CaseResults>;
  close(): Promise<void>;
}

export async function startPythonHarness(entities: ShortEmulatorConfig): Promise<PythonHarness> {
  const emulator = await startServiceBusEmulator({ port: 0, tls: 'generate', config: buildEmulatorConfig(entities) });
  const dir = mkdtempSync(join(tmpdir(), 'sb-python-'));
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, emulator.certificate!);
  const keys = /SharedAccessKeyName=([^;]+);SharedAccessKey=([^;]+)/.exec(emulator.connectionString)!;
  const baseEnv = {
    SB_TLS_PORT: String(emulator.tlsPort),
    SB_CA_FILE: caFile,
    SB_KEY_NAME: keys[1]!,
    SB_KEY: keys[2]!,
  };
  return {
    emulator,
    run: (script, env = {}) => runScript(script, { ...baseEnv, ...env }),
    async close() {
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Asynchronous on purpose: the emulator answering the script runs in this same process. */
function runScript(script: string, env: Record<string, string>): Promise<CaseResults> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(__dirname, script)], {
      cwd: __dirname,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as CaseResults);
      } catch {
        reject(new Error(`${script} exited with ${String(code)} without results.\nstdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`));
      }
    });
  });
}

/** The value a case observed; a case that raised fails the test with the SDK's exception type and text. */
export function observed<T>(results: CaseResults, name: string): T {
  const result = results[name];
  if (!result) throw new Error(`case ${name} did not run`);
  if (!result.ok) throw new Error(`case ${name} raised ${result.error}: ${result.message}`);
  return result.value as T;
}
