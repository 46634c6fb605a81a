// Child process entry: hosts one emulator so that it runs on its own core while the publisher and consumer run in the
// benchmark process. Prints one JSON line `{"ready":true,...}` on stdout, then serves until SIGTERM/SIGINT.
//
//   node --conditions=development --import tsx bench/src/support/emulator-host.ts dataverse '<DataverseEmulatorOptions JSON>'
//   node --conditions=development --import tsx bench/src/support/emulator-host.ts servicebus '<ServiceBusEmulatorOptions JSON>'
import type { DataverseEmulatorOptions } from '@dataverse-outbox/emulators/dataverse';
import type { ServiceBusEmulatorOptions } from '@dataverse-outbox/emulators/servicebus';

async function main(): Promise<void> {
  const [kind, json] = process.argv.slice(2);
  const options = JSON.parse(json ?? '{}') as Record<string, unknown>;
  let close: () => Promise<void>;
  // Each host loads only its own emulator: loading both costs about half a second more per start on 2 cores.
  if (kind === 'dataverse') {
    const { startDataverseEmulator } = await import('@dataverse-outbox/emulators/dataverse');
    const dv = await startDataverseEmulator({ ...(options as DataverseEmulatorOptions), port: 0, log: (line) => process.stderr.write(`${line}\n`) });
    close = () => dv.close();
    process.stdout.write(`${JSON.stringify({ ready: true, url: dv.url, apiUrl: dv.apiUrl })}\n`);
  } else if (kind === 'servicebus') {
    const { startServiceBusEmulator } = await import('@dataverse-outbox/emulators/servicebus');
    const sb = await startServiceBusEmulator({ ...(options as ServiceBusEmulatorOptions), port: 0, adminPort: 0 });
    close = () => sb.close();
    process.stdout.write(`${JSON.stringify({ ready: true, connectionString: sb.connectionString, adminUrl: sb.adminUrl })}\n`);
  } else {
    throw new Error(`unknown emulator '${String(kind)}': use dataverse or servicebus`);
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`close failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
