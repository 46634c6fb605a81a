#!/usr/bin/env node
// The monitor component of the local stack: serves the production PCF control (pcf-outbox-monitor's host page) with
// live data from the Dataverse emulator. Parses arguments, starts the host, stops on SIGINT/SIGTERM. Nothing else.
import { Command, InvalidArgumentError } from 'commander';
import { startMonitorHost } from '@dataverse-outbox/pcf-outbox-monitor/host';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('outbox-monitor')
    .description('Serves the Outbox Monitor PCF control with live data from a Dataverse Web API (token from DATAVERSE_TOKEN).')
    .option('-p, --port <port>', 'port on 127.0.0.1 (0 = any free port)', port, 0)
    .requiredOption('--dataverse-url <url>', 'Dataverse environment URL, e.g. http://127.0.0.1:PORT')
    .option('--page-size <rows>', 'rows per page', port, 50)
    .showHelpAfterError();
  program.parse();
  const o = program.opts<{ port: number; dataverseUrl: string; pageSize: number }>();
  const host = await startMonitorHost({ dataverseUrl: o.dataverseUrl, token: process.env.DATAVERSE_TOKEN || undefined, port: o.port, pageSize: o.pageSize });
  process.stdout.write(`Outbox monitor listening on ${host.url} (Dataverse ${o.dataverseUrl})\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    host.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`outbox-monitor: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
