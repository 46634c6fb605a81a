// The chaos run's own components, next to the stack's emulators and ERP consumer: the publisher workers (two by default)
// that share the scope's partitions (or fight for its one lease), the change-tracking worker and its consumer. Each is a
// ComponentProcess (same spawn, log, kill and restart behaviour as the stack's components), on the stack's ports and
// data folder.
import path from 'node:path';
import { ComponentProcess, repoRoot, type LocalStack } from '@dataverse-outbox/stack';
import { BLOCKED_QUEUE } from './blockedKey';
import { CT_EVENT_TYPE, CT_QUEUE } from './ctStore';
import { publisherLetters, type PublisherLetter } from './schedule';

export type PublisherName = `publisher-${PublisherLetter}`;
export type ChaosComponent = PublisherName | 'ct-worker' | 'ct-consumer';

/** The publisher processes of a run with `count` of them: publisher-a, publisher-b, ... */
export function publisherNames(count: number): PublisherName[] {
  return publisherLetters.slice(0, count).map((l): PublisherName => `publisher-${l}`);
}

/** The bearer token partition `index` publishes with: one application user per partition (DATAVERSE_PARTITION_TOKENS). */
export function partitionToken(index: number): string {
  return `chaos-partition-${index}`;
}

export const chaosEntryPoints = {
  publisher: path.join(repoRoot, 'chaos', 'src', 'publisherMain.ts'),
  ctConsumer: path.join(repoRoot, 'chaos', 'src', 'ctConsumerMain.ts'),
  // publisher-function's change-tracking publisher with a configurable lease (ctWorkerMain.ts).
  ctWorker: path.join(repoRoot, 'chaos', 'src', 'ctWorkerMain.ts'),
} as const;

/** The change-tracking source of the chaos run: every opportunity change, to its own queue and consumer. */
export const ctSource = {
  name: 'chaos-opportunities',
  table: 'opportunity',
  entitySet: 'opportunities',
  columns: ['name', 'statecode', 'actualvalue'],
  target: CT_QUEUE,
  eventType: CT_EVENT_TYPE,
  pageSize: 500,
} as const;

/** How often a publisher without a partition looks for a free one (OUTBOX_STANDBY_POLL_SECONDS). */
export const STANDBY_POLL_SECONDS = 1;

export interface ChaosProcessOptions {
  leaseDurationMs: number;
  /** Publisher worker processes (default 2). */
  publishers?: number;
  /** The scope's partition count (OUTBOX_PARTITION_COUNT; default 1: one lease, today's behaviour). */
  partitions?: number;
  ctFile: string;
  startTimeoutMs?: number;
}

export function createChaosProcesses(stack: LocalStack, options: ChaosProcessOptions): Map<ChaosComponent, ComponentProcess> {
  const common = {
    cwd: repoRoot,
    startTimeoutMs: options.startTimeoutMs ?? 120_000,
    stopTimeoutMs: 20_000,
  };
  const appSettings = {
    DATAVERSE_URL: stack.urls.dataverse,
    DATAVERSE_TOKEN: stack.dataverseToken,
    SERVICEBUS_CONNECTION_STRING: stack.serviceBusConnectionString,
    OUTBOX_SCOPE: 'default',
  };
  const partitions = options.partitions ?? 1;
  const publisher = (which: PublisherLetter): ComponentProcess =>
    new ComponentProcess(
      {
        ...common,
        name: `publisher-${which}`,
        title: `Publisher worker ${which.toUpperCase()}`,
        entry: chaosEntryPoints.publisher,
        env: {
          ...appSettings,
          CHAOS_INSTANCE: `publisher-${which}`,
          // The demo's allow-list plus the blocked-key fault's own queue (spec: OUTBOX_<SETTING> overrides a solution setting).
          OUTBOX_ALLOWED_TARGETS: JSON.stringify(['erp-sales', BLOCKED_QUEUE]),
          // The publisher's documented lease settings (whole seconds, at least 5); a standby looks every second.
          OUTBOX_LEASE_DURATION_SECONDS: String(Math.max(5, Math.ceil(options.leaseDurationMs / 1000))),
          OUTBOX_STANDBY_POLL_SECONDS: String(STANDBY_POLL_SECONDS),
          CHAOS_DLQ_MONITOR_MS: '5000',
          // The solution setting overridden per process (spec: OUTBOX_<SETTING>); with several partitions each publishes
          // under its own application user (the emulator takes any token as a user of its own).
          OUTBOX_PARTITION_COUNT: String(partitions),
          ...(partitions > 1 ? { DATAVERSE_PARTITION_TOKENS: Array.from({ length: partitions }, (_, i) => partitionToken(i)).join(',') } : {}),
        },
        readyLine: /"message":"publisher started"/,
        ready: async ({ sawLine }) => sawLine,
      },
      path.join(stack.layout.logs, `publisher-${which}.log`),
    );
  const procs = new Map<ChaosComponent, ComponentProcess>();
  for (const l of publisherLetters.slice(0, options.publishers ?? 2)) procs.set(`publisher-${l}`, publisher(l));
  procs.set(
    'ct-worker',
    new ComponentProcess(
      {
        ...common,
        name: 'ct-worker',
        title: 'Change-tracking worker',
        entry: chaosEntryPoints.ctWorker,
        env: {
          ...appSettings,
          OUTBOX_CHANGE_TRACKING_SOURCES: JSON.stringify([ctSource]),
          // The demo settings allow erp-sales only; the change-tracking queue is allowed for this worker (spec: OUTBOX_<SETTING>).
          OUTBOX_ALLOWED_TARGETS: JSON.stringify(['erp-sales', CT_QUEUE]),
          OUTBOX_CHANGE_TRACKING_POLL_MS: '1000',
          CHAOS_LEASE_DURATION_MS: String(options.leaseDurationMs),
          CHAOS_INSTANCE: 'ct-worker',
        },
        readyLine: /change tracking publisher started/,
        ready: async ({ sawLine }) => sawLine,
      },
      path.join(stack.layout.logs, 'ct-worker.log'),
    ),
  );
  procs.set(
    'ct-consumer',
    new ComponentProcess(
      {
        ...common,
        name: 'ct-consumer',
        title: 'Change-tracking consumer',
        entry: chaosEntryPoints.ctConsumer,
        env: {
          SERVICEBUS_CONNECTION_STRING: stack.serviceBusConnectionString,
          CT_QUEUE,
          CT_SQLITE_FILE: options.ctFile,
          CT_CONCURRENCY: '16',
          CT_SESSION_IDLE_MS: '250',
        },
        readyLine: /"msg":"ct-consumer ready"/,
        ready: async ({ sawLine }) => sawLine,
      },
      path.join(stack.layout.logs, 'ct-consumer.log'),
    ),
  );
  return procs;
}
