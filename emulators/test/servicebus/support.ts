// Shared setup for the Service Bus emulator contract tests: an emulator on a free port and an SDK client with small
// retries so a failure shows quickly.
import { ServiceBusClient, type ServiceBusClientOptions } from '@azure/service-bus';
import {
  buildEmulatorConfig,
  startServiceBusEmulator,
  type ServiceBusEmulator,
  type ServiceBusEmulatorOptions,
  type ShortEmulatorConfig,
} from '@dataverse-outbox/emulators/servicebus';

export const fastRetries: ServiceBusClientOptions = {
  retryOptions: { maxRetries: 1, retryDelayInMs: 100, maxRetryDelayInMs: 500, timeoutInMs: 10_000 },
};

export interface Harness {
  emulator: ServiceBusEmulator;
  client: ServiceBusClient;
  close(): Promise<void>;
}

export async function startHarness(entities: ShortEmulatorConfig, options: Omit<ServiceBusEmulatorOptions, 'config'> = {}): Promise<Harness> {
  const emulator = await startServiceBusEmulator({ port: 0, ...options, config: buildEmulatorConfig(entities) });
  const client = new ServiceBusClient(emulator.connectionString, fastRetries);
  return {
    emulator,
    client,
    async close() {
      await client.close();
      await emulator.close();
    },
  };
}

/** Polls until `check` returns a value other than undefined, or fails after the deadline. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutInMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
