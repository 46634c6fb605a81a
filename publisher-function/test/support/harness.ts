// Both emulators over real sockets, the official SDK as client, and helpers the acceptance tests share.
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from '@dataverse-outbox/emulators/dataverse';
import { buildEmulatorConfig, startServiceBusEmulator, type ServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { OutboxMessage, OutboxStatus, type OutboxStatusValue } from '@dataverse-outbox/contract';
import { createPublisher, DataverseClient, DataverseOutboxStore, type OutboxPublisher, type OutboxRow, type OutboxStorePort, type PublisherOptions } from '../../src';
import { OutboxWriter, type EnqueueInput } from '@dataverse-outbox/producer';

export const QUEUES = ['orders', 'invoices'] as const;
export const SESSION_QUEUE = 'orders-by-key';
export const ACK_QUEUE = 'outbox-acks';
export const MISSING_QUEUE = 'not-created';

export interface Harness {
  dv: DataverseEmulator;
  sb: ServiceBusEmulator;
  client: DataverseClient;
  store: DataverseOutboxStore;
  writer: OutboxWriter;
  serviceBus: ServiceBusClient;
  /** Settings for publishers (app setting overrides: OUTBOX_*). */
  appSettings: Record<string, string>;
  publishers: OutboxPublisher[];
  newPublisher(options?: Partial<PublisherOptions>): OutboxPublisher;
  close(): Promise<void>;
}

export interface HarnessOptions {
  dataverse?: Omit<DataverseEmulatorOptions, 'port'>;
  maxMessageSizeInBytes?: number;
  appSettings?: Record<string, string>;
  /** Client-side retries (kept short so tests with faults stay quick). */
  retryDelayInMs?: number;
}

/**
 * One harness for a test file: started before its tests, faults and service protection limits cleared after each
 * test, closed at the end. `onStarted` receives it (tests keep it in a `let h: Harness`).
 */
export function useHarness(onStarted: (h: Harness) => void, options: HarnessOptions = {}): void {
  let started: Harness | undefined;
  beforeAll(async () => {
    started = await startHarness(options);
    onStarted(started);
  });
  afterAll(async () => {
    await started?.close();
  });
  afterEach(() => {
    started?.dv.clearFaults();
    started?.sb.clearFaults();
    started?.dv.setLimits('off');
  });
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dv = await startDataverseEmulator({ port: 0, ...options.dataverse });
  const sb = await startServiceBusEmulator({
    port: 0,
    maxMessageSizeInBytes: options.maxMessageSizeInBytes,
    config: buildEmulatorConfig({
      queues: [
        ...QUEUES.map((name) => ({ name, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 600_000, maxDeliveryCount: 2, lockDurationInMs: 5000 })),
        { name: SESSION_QUEUE, requiresSession: true, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 600_000 },
        { name: ACK_QUEUE, lockDurationInMs: 10_000 },
      ],
    }),
  });
  const client = new DataverseClient(dv.url, { token: 'publisher-app' }, { retryOptions: { retryDelayInMs: options.retryDelayInMs ?? 50, maxRetries: 8, timeoutInMs: 15_000 } });
  const producer = new DataverseClient(dv.url, { token: 'producer-app' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 8 } });
  const serviceBus = new ServiceBusClient(sb.connectionString, { retryOptions: { maxRetries: 1, retryDelayInMs: 200, timeoutInMs: 10_000 } });
  const appSettings = {
    OUTBOX_ALLOWED_TARGETS: JSON.stringify([...QUEUES, SESSION_QUEUE, MISSING_QUEUE]),
    OUTBOX_ACK_QUEUE: ACK_QUEUE,
    ...options.appSettings,
  };
  const publishers: OutboxPublisher[] = [];
  const h: Harness = {
    dv,
    sb,
    client,
    store: new DataverseOutboxStore(client),
    writer: new OutboxWriter(producer),
    serviceBus,
    appSettings,
    publishers,
    newPublisher(o = {}) {
      const p = createPublisher({
        dataverse: client,
        serviceBus,
        appSettings,
        leaseDurationInMs: 10_000,
        polling: { minIntervalInMs: 20, maxIntervalInMs: 200 },
        backoff: { baseDelayInMs: 200, maxDelayInMs: 1000 },
        ackListener: false,
        sendTimeoutInMs: 5000,
        deadLetterMonitorIntervalInMs: 0,
        ...o,
      });
      publishers.push(p);
      return p;
    },
    async close() {
      for (const p of publishers) await p.close().catch(() => undefined);
      await serviceBus.close();
      await client.close();
      await producer.close();
      await sb.close();
      await dv.close();
    },
  };
  return h;
}

/** Commits `count` outbox rows, `perTransaction` per change set. */
export async function enqueueMany(h: Harness, count: number, make: (i: number) => EnqueueInput, perTransaction = 50): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += perTransaction) {
    const r = await h.writer.transaction((tx) => {
      for (let j = i; j < Math.min(count, i + perTransaction); j++) tx.enqueue(make(j));
    });
    ids.push(...r.messageIds);
  }
  return ids;
}

export async function rowsByMessageId(h: Harness): Promise<Map<string, OutboxRow>> {
  const rows = await h.store.query({});
  return new Map(rows.map((r) => [r.messageId, r]));
}

export async function rowByMessageId(h: Harness, messageId: string): Promise<OutboxRow> {
  const r = await h.client.retrieve(OutboxMessage.entitySetName, `${OutboxMessage.columns.messageId}='${messageId}'`);
  if (!r) throw new Error(`no row ${messageId}`);
  const [row] = await h.store.readByIds([String(r[OutboxMessage.columns.id])]);
  return row!;
}

export async function countByStatus(h: Harness, status: OutboxStatusValue): Promise<number> {
  return (await h.store.query({ statuses: [status] })).length;
}

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

/** Receives and completes everything on a queue until `expected` messages arrived (or the deadline). */
export async function drainQueue(h: Harness, queue: string, expected: number, timeoutInMs = 30_000): Promise<ServiceBusReceivedMessage[]> {
  const receiver = h.serviceBus.createReceiver(queue, { receiveMode: 'receiveAndDelete' });
  const got: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + timeoutInMs;
  try {
    while (got.length < expected && Date.now() < deadline) {
      got.push(...(await receiver.receiveMessages(Math.min(500, expected - got.length + 10), { maxWaitTimeInMs: 500 })));
    }
    // Anything extra (a duplicate that slipped through) shows up here.
    got.push(...(await receiver.receiveMessages(50, { maxWaitTimeInMs: 300 })));
  } finally {
    await receiver.close();
  }
  return got;
}

export const Status = OutboxStatus;

/**
 * The harness's real store with its bulk write observed or cut short by a test (a fault no emulator request can make,
 * such as a $batch applied in part); every other method is the real one.
 */
export function storeWithApplyUpdates(h: Harness, applyUpdates: OutboxStorePort['applyUpdates']): OutboxStorePort {
  const store = Object.create(h.store) as OutboxStorePort;
  store.applyUpdates = applyUpdates;
  return store;
}
