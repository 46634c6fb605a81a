#!/usr/bin/env node
// Command line: parse arguments, start the emulator, print where it listens, stop on SIGINT/SIGTERM. Nothing else.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { isServiceBusEmulatorConfigError } from './configuration/EmulatorConfig';
import { defaultMaxMessageSizeInBytes, startServiceBusEmulator } from './ServiceBusEmulator';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

const program = new Command()
  .name('servicebus-emulator')
  .description('Local Azure Service Bus emulator (AMQP 1.0) for the official @azure/service-bus SDK.')
  .option('-c, --config <file>', 'Config.json in the format of Microsoft\'s Service Bus emulator')
  .option('-d, --data-file <file>', 'SQLite file that keeps messages across restarts (default: in memory)')
  .option('-p, --port <port>', 'AMQP port (0 = any free port; 5672 is refused)', port, 0)
  .option('--admin-port <port>', 'admin HTTP port on 127.0.0.1 (0 = any free port)', port, 0)
  .option('--max-message-size <bytes>', 'largest accepted message or batch in bytes', positiveInteger, defaultMaxMessageSizeInBytes)
  .option('--sas-key-name <name>', 'SAS key name checked for SASL PLAIN and put in the connection strings')
  .option('--sas-key <key>', 'SAS key checked for SASL PLAIN and put in the connection strings')
  .option('--tls', 'also listen for amqps (self-signed certificate unless --tls-cert/--tls-key are given)')
  .option('--tls-port <port>', 'amqps port on 127.0.0.1 (0 = any free port)', port, 0)
  .option('--tls-cert <file>', 'PEM certificate for the amqps listener')
  .option('--tls-key <file>', 'PEM private key for the amqps listener')
  .showHelpAfterError();

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<{
    config?: string; dataFile?: string; port: number; adminPort: number; maxMessageSize: number;
    sasKeyName?: string; sasKey?: string; tls?: boolean; tlsPort: number; tlsCert?: string; tlsKey?: string;
  }>();
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  const tls = options.tlsCert && options.tlsKey
    ? { cert: readFileSync(options.tlsCert, 'utf8'), key: readFileSync(options.tlsKey, 'utf8') }
    : options.tls ? 'generate' as const : undefined;
  const emulator = await startServiceBusEmulator({
    config: options.config,
    dataFile: options.dataFile,
    port: options.port,
    adminPort: options.adminPort,
    maxMessageSizeInBytes: options.maxMessageSize,
    sharedAccessKeyName: options.sasKeyName,
    sharedAccessKey: options.sasKey,
    tls,
    tlsPort: tls ? options.tlsPort : undefined,
  });
  // One JSON line on stdout so scripts and tests can read the endpoint; humans get the same facts.
  process.stdout.write(`${JSON.stringify({
    event: 'listening', port: emulator.port, connectionString: emulator.connectionString, adminUrl: emulator.adminUrl,
    tlsPort: emulator.tlsPort, tlsConnectionString: emulator.tlsConnectionString,
  })}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`servicebus-emulator: ${signal} received, closing\n`);
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`servicebus-emulator: close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (isServiceBusEmulatorConfigError(error)) process.stderr.write(`servicebus-emulator: ${error.message}\n`);
  else process.stderr.write(`servicebus-emulator: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
