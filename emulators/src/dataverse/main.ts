#!/usr/bin/env node
// Command line: parses arguments, starts the emulator, stops it on SIGINT/SIGTERM. Nothing else lives here.
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { scaledDataverseLimits, startDataverseEmulator, type DataverseEmulatorOptions } from './index';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('Not a non-negative whole number.');
  return n;
}

function factor(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('Not a positive number.');
  return n;
}

const program = new Command()
  .name('dataverse-emulator')
  .description('Local Dataverse Web API emulator (OData v4, /api/data/v9.2/) backed by SQLite.')
  .option('-p, --port <port>', 'port on 127.0.0.1 (0 = any free port)', integer, 0)
  .option('-d, --data-file <file>', 'SQLite file (omit for in-memory data)')
  .option('--solution-dir <dir>', 'unpacked solution folder to build tables from')
  .option('--latency <profile>', "latency model: 'off' or 'realistic'", 'off')
  .option('--limits <mode>', "service protection limits: 'off' or 'dataverse'", 'off')
  .option('--limits-window-factor <factor>', 'scale the limits window and amounts (e.g. 0.01 = 3 s window)', factor)
  .option('--cert <file>', 'PEM certificate for HTTPS')
  .option('--key <file>', 'PEM private key for HTTPS')
  .option('--https', 'serve HTTPS with a generated self-signed certificate')
  .option('--cert-out <file>', 'write the certificate in use (PEM) to this file')
  .option('--token <token...>', 'accept only these bearer tokens (default: any)')
  .option('--change-tracking-ttl-ms <ms>', 'change tracking token lifetime', integer)
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  port: number;
  dataFile?: string;
  solutionDir?: string;
  latency: string;
  limits: string;
  limitsWindowFactor?: number;
  cert?: string;
  key?: string;
  https?: boolean;
  certOut?: string;
  token?: string[];
  changeTrackingTtlMs?: number;
}>();

if (opts.latency !== 'off' && opts.latency !== 'realistic') program.error("--latency must be 'off' or 'realistic'");
if (opts.limits !== 'off' && opts.limits !== 'dataverse') program.error("--limits must be 'off' or 'dataverse'");
if ((opts.cert === undefined) !== (opts.key === undefined)) program.error('--cert and --key go together');

const options: DataverseEmulatorOptions = {
  port: opts.port,
  dataFile: opts.dataFile,
  solutionDir: opts.solutionDir,
  latency: opts.latency === 'realistic' ? 'realistic' : 'off',
  limits: opts.limits === 'dataverse' ? (opts.limitsWindowFactor !== undefined ? scaledDataverseLimits(opts.limitsWindowFactor) : 'dataverse') : 'off',
  https: opts.cert && opts.key ? { cert: readFileSync(opts.cert, 'utf8'), key: readFileSync(opts.key, 'utf8') } : opts.https ? 'generate' : undefined,
  tokens: opts.token ? { accept: opts.token } : undefined,
  changeTrackingTokenTtlMs: opts.changeTrackingTtlMs,
  log: (line) => process.stderr.write(`${line}\n`),
};
async function main(): Promise<void> {
  const emulator = await startDataverseEmulator(options);
  if (opts.certOut && emulator.certificate) writeFileSync(opts.certOut, emulator.certificate);
  process.stdout.write(`Dataverse emulator listening on ${emulator.url} (Web API ${emulator.apiUrl}, admin ${emulator.url}/_admin/)\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    emulator.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`dataverse-emulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
