// Both emulators over real sockets, the official SDK as client, and what the change-tracking tests share.
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { buildEmulatorConfig, startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { ChangeCheckpoint } from '@dataverse-outbox/contract';
import { DataverseClient, type LogFields, type Logger } from '../../src';
import type { ChangeCheckpoint as CheckpointState, ChangeTrackingMetrics } from '../../src/changetracking/core';
import { DataverseCheckpointStore } from '../../src/changetracking/dataverse/checkpointStore';
import { createChangeTrackingPublisher, type ChangeTrackingPublisher, type ChangeTrackingPublisherOptions } from '../../src/changetracking/publisher';

/** Session queue with duplicate detection, as the docs recommend for change-tracking targets. */
export const CT_QUEUE = 'crm-changes';
export const OTHER_QUEUE = 'crm-other';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (message: string, fields: LogFields = {}) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function recordingMetrics(): ChangeTrackingMetrics & { resyncs: { source: string; reason: string }[]; publishedCount: number; checkpoints: string[] } {
  const m = {
    resyncs: [] as { source: string; reason: string }[],
    publishedCount: 0,
    checkpoints: [] as string[],
    published: (n: number) => {
      m.publishedCount += n;
    },
    failed: () => {},
    retried: () => {},
    publishLatency: () => {},
    backlog: () => {},
    resync: (source: string, reason: string) => {
      m.resyncs.push({ source, reason });
    },
    checkpointed: (source: string) => {
      m.checkpoints.push(source);
    },
  };
  return m;
}

export interface CtEnv {
  dv: DataverseEmulator;
  sb: ServiceBusEmulator;
  /** The publisher's client (application user). */
  client: DataverseClient;
  /** A business user's client that changes the tracked rows. */
  crm: DataverseClient;
  serviceBus: ServiceBusClient;
  checkpoints: DataverseCheckpointStore;
  publishers: ChangeTrackingPublisher[];
  newPublisher(options?: Partial<ChangeTrackingPublisherOptions>): ChangeTrackingPublisher;
  checkpoint(name: string): Promise<CheckpointState | undefined>;
  close(): Promise<void>;
}

/** `serviceBusOptions.maxMessageSizeInBytes`: a small limit makes rows too large for a message (default: the emulator's). */
export async function startCtEnv(appSettings: Record<string, string> = {}, serviceBusOptions: { maxMessageSizeInBytes?: number } = {}): Promise<CtEnv> {
  const dv = await startDataverseEmulator({ port: 0 });
  const sb = await startServiceBusEmulator({
    port: 0,
    ...serviceBusOptions,
    config: buildEmulatorConfig({
      queues: [CT_QUEUE, OTHER_QUEUE].map((name) => ({ name, requiresSession: true, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 600_000 })),
    }),
  });
  const client = new DataverseClient(dv.url, { token: 'publisher-app' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 3, timeoutInMs: 15_000 } });
  const crm = new DataverseClient(dv.url, { token: 'sales-user' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 5 } });
  const serviceBus = new ServiceBusClient(sb.connectionString, { retryOptions: { maxRetries: 1, retryDelayInMs: 200, timeoutInMs: 10_000 } });
  const publishers: ChangeTrackingPublisher[] = [];
  const env: CtEnv = {
    dv,
    sb,
    client,
    crm,
    serviceBus,
    checkpoints: new DataverseCheckpointStore(client),
    publishers,
    newPublisher(o = {}) {
      const p = createChangeTrackingPublisher({
        dataverse: client,
        serviceBus,
        appSettings: { OUTBOX_ALLOWED_TARGETS: JSON.stringify([CT_QUEUE, OTHER_QUEUE]), ...appSettings },
        leaseDurationInMs: 10_000,
        pollIntervalInMs: 100,
        backoff: { baseDelayInMs: 100, maxDelayInMs: 500 },
        ...o,
      });
      publishers.push(p);
      return p;
    },
    checkpoint: (name) => new DataverseCheckpointStore(client).read(name),
    async close() {
      for (const p of publishers) await p.close().catch(() => undefined);
      await serviceBus.close();
      await client.close();
      await crm.close();
      await sb.close();
      await dv.close();
    },
  };
  return env;
}

/** Receives (and deletes) every message of every session of a session queue. */
export async function drainSessions(serviceBus: ServiceBusClient, queue: string): Promise<ServiceBusReceivedMessage[]> {
  const all: ServiceBusReceivedMessage[] = [];
  for (;;) {
    let receiver;
    try {
      // No session with messages left shows up as a timeout: keep it short.
      receiver = await serviceBus.acceptNextSession(queue, { receiveMode: 'receiveAndDelete', maxAutoLockRenewalDurationInMs: 0, abortSignal: AbortSignal.timeout(2000) });
    } catch {
      return all; // no session with messages left
    }
    try {
      for (;;) {
        const got = await receiver.receiveMessages(100, { maxWaitTimeInMs: 300 });
        all.push(...got);
        if (got.length === 0) break;
      }
    } finally {
      await receiver.close();
    }
  }
}

/** Messages grouped by session (record id), each in arrival order. */
export function bySession(messages: readonly ServiceBusReceivedMessage[]): Map<string, ServiceBusReceivedMessage[]> {
  const map = new Map<string, ServiceBusReceivedMessage[]>();
  for (const m of messages) {
    const list = map.get(m.sessionId ?? '') ?? [];
    list.push(m);
    map.set(m.sessionId ?? '', list);
  }
  return map;
}

export async function setEnvironmentValue(client: DataverseClient, schemaName: string, value: string): Promise<void> {
  const page = await client.retrieveMultiple('environmentvariabledefinitions', { select: ['environmentvariabledefinitionid'], filter: `schemaname eq '${schemaName}'` });
  const id = page.value[0]?.environmentvariabledefinitionid;
  if (typeof id !== 'string') throw new Error(`no environment variable ${schemaName}`);
  await client.create('environmentvariablevalues', { schemaname: schemaName, value, 'EnvironmentVariableDefinitionId@odata.bind': `/environmentvariabledefinitions(${id})` });
}

export const checkpointEntitySet = ChangeCheckpoint.entitySetName;

/** Polls until `check` returns a truthy value or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutInMs = 30_000, everyInMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyInMs));
  }
}
