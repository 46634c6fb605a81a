// Starts the emulators in child processes (support/emulator-host.ts) and talks to the Dataverse emulator's admin
// endpoint over HTTP (the emulators' own DataverseAdminClient), exactly as a test harness on another machine would.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { DataverseAdminClient, type RequestCounters, type UserCounters } from '@dataverse-outbox/emulators/admin';
import type { DataverseEmulatorOptions } from '@dataverse-outbox/emulators/dataverse';
import type { ServiceBusEmulatorOptions } from '@dataverse-outbox/emulators/servicebus';
import { spawnTs, stopChild, tail } from './processes';

const HOST_SCRIPT = path.join(__dirname, 'emulator-host.ts');

interface Hosted<Ready> {
  child: ChildProcess;
  ready: Ready;
}

async function host<Ready>(kind: 'dataverse' | 'servicebus', options: object, timeoutMs = 60_000): Promise<Hosted<Ready>> {
  const stderr = tail(30);
  let onReady: (r: Ready) => void = () => undefined;
  const ready = new Promise<Ready>((resolve) => (onReady = resolve));
  const child = spawnTs(HOST_SCRIPT, [kind, JSON.stringify(options)], {
    onStderr: (l) => {
      stderr.push(l);
      if (process.env['BENCH_DEBUG']) process.stderr.write(`[${kind}] ${l}\n`);
    },
    onStdout: (l) => {
      if (l.startsWith('{')) {
        const msg = JSON.parse(l) as { ready?: boolean } & Ready;
        if (msg.ready) onReady(msg);
      }
    },
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`${kind} emulator host exited (${signal ?? code}) before it was ready:\n${stderr.lines().join('\n')}`)));
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${kind} emulator host not ready after ${timeoutMs} ms:\n${stderr.lines().join('\n')}`)), timeoutMs);
  });
  try {
    const r = await Promise.race([ready, failed, timeout]);
    failed.catch(() => undefined);
    return { child, ready: r };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export type HostedDataverseOptions = Pick<DataverseEmulatorOptions, 'dataFile' | 'latency' | 'limits' | 'aggregateQueryRecordLimit' | 'enforceRequiredColumns'>;

/** A Dataverse emulator in its own process; its admin calls (latency, limits, clock, counters...) are the admin client's. */
export class HostedDataverse extends DataverseAdminClient {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly apiUrl: string,
  ) {
    super(url);
  }

  static async start(options: HostedDataverseOptions = {}): Promise<HostedDataverse> {
    const { child, ready } = await host<{ url: string; apiUrl: string }>('dataverse', options);
    return new HostedDataverse(child, ready.url, ready.apiUrl);
  }

  /** The emulator process (CPU accounting). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  close(): Promise<void> {
    return stopChild(this.child);
  }
}

/** Counters of one identity (the emulator names a plain-string token's user after the token). */
export function userCounters(counters: RequestCounters, token: string): UserCounters {
  const direct = counters.users[token];
  if (direct) return direct;
  const key = Object.keys(counters.users).find((k) => k.toLowerCase().includes(token.toLowerCase()));
  return key ? counters.users[key]! : { requests: 0, recordsRead: 0, recordsWritten: 0, executionMs: 0, throttled: 0, faulted: 0, byOperation: {} };
}

export class HostedServiceBus {
  private constructor(
    private readonly child: ChildProcess,
    readonly connectionString: string,
  ) {}

  static async start(options: Pick<ServiceBusEmulatorOptions, 'config' | 'dataFile' | 'maxMessageSizeInBytes'>): Promise<HostedServiceBus> {
    const { child, ready } = await host<{ connectionString: string }>('servicebus', options);
    return new HostedServiceBus(child, ready.connectionString);
  }

  /** The emulator process (CPU accounting). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  close(): Promise<void> {
    return stopChild(this.child);
  }
}
