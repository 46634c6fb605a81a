// One benchmark "world": the Dataverse and Service Bus emulators in child processes, the publisher's application user
// (its own token, so limits and counters apply to it alone), producers' identities, and publishers built with the
// product's own createPublisher.
import { ServiceBusClient } from '@azure/service-bus';
import { buildEmulatorConfig } from '@dataverse-outbox/emulators/servicebus';
import { createPublisher, DataverseClient, type DataverseRequestInfo, type OutboxPublisher, type PublisherOptions } from '@dataverse-outbox/publisher-function';
import { Settings } from '@dataverse-outbox/contract';
import { HostedDataverse, HostedServiceBus, type HostedDataverseOptions } from './emulators';

export const TARGET = 'orders';
export const ACK_QUEUE = 'outbox-acks';
export const PUBLISHER_TOKEN = 'outbox-publisher-app';
export const PRODUCER_TOKEN = 'producer-app';

export interface WorldOptions {
  dataverse?: HostedDataverseOptions;
  /** Extra OUTBOX_* app settings (e.g. batch size). */
  appSettings?: Record<string, string>;
}

export interface World {
  dv: HostedDataverse;
  sb: HostedServiceBus;
  serviceBus: ServiceBusClient;
  /** The publisher's application user. */
  publisherClient: DataverseClient;
  /** A producer identity (seeding, writers). */
  producerClient: DataverseClient;
  appSettings: Record<string, string>;
  /** Every Dataverse HTTP exchange of the publisher's client, for per-cycle breakdowns. */
  onPublisherRequest: Set<(info: DataverseRequestInfo) => void>;
  newPublisher(options?: Partial<PublisherOptions>): OutboxPublisher;
  /** A Dataverse client for another identity (several application users, several producers). */
  client(token: string): DataverseClient;
  close(): Promise<void>;
}

export function dataverseClient(url: string, token: string, onResponse?: (info: DataverseRequestInfo) => void): DataverseClient {
  // Retries as in production (Retry-After honoured), but a per-attempt timeout long enough for 1,000-row bulk writes.
  return new DataverseClient(url, { token }, { retryOptions: { maxRetries: 20, retryDelayInMs: 200, timeoutInMs: 120_000, maxRetryDelayInMs: 60_000 }, onResponse });
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const [dv, sb] = await Promise.all([
    HostedDataverse.start(options.dataverse),
    HostedServiceBus.start({
      config: buildEmulatorConfig({
        queues: [
          { name: TARGET, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 600_000, lockDurationInMs: 30_000, maxDeliveryCount: 10 },
          { name: ACK_QUEUE, lockDurationInMs: 30_000 },
        ],
      }),
    }),
  ]);
  const listeners = new Set<(info: DataverseRequestInfo) => void>();
  const publisherClient = dataverseClient(dv.url, PUBLISHER_TOKEN, (info) => {
    for (const l of listeners) l(info);
  });
  const producerClient = dataverseClient(dv.url, PRODUCER_TOKEN);
  const serviceBus = new ServiceBusClient(sb.connectionString, { retryOptions: { maxRetries: 3, retryDelayInMs: 200, timeoutInMs: 30_000 } });
  const appSettings: Record<string, string> = {
    [Settings.AllowedTargets.appSetting]: JSON.stringify([TARGET]),
    [Settings.AckQueue.appSetting]: ACK_QUEUE,
    ...options.appSettings,
  };
  const publishers: OutboxPublisher[] = [];
  const clients: DataverseClient[] = [];
  return {
    dv,
    sb,
    serviceBus,
    publisherClient,
    producerClient,
    appSettings,
    onPublisherRequest: listeners,
    newPublisher(o = {}) {
      const p = createPublisher({
        dataverse: publisherClient,
        serviceBus,
        appSettings,
        ackListener: false,
        deadLetterMonitorIntervalInMs: 0,
        ...o,
      });
      publishers.push(p);
      return p;
    },
    client(token) {
      const c = dataverseClient(dv.url, token);
      clients.push(c);
      return c;
    },
    async close() {
      for (const p of publishers) await p.close().catch(() => undefined);
      await serviceBus.close().catch(() => undefined);
      for (const c of [publisherClient, producerClient, ...clients]) await c.close().catch(() => undefined);
      await Promise.all([dv.close(), sb.close()]);
    },
  };
}
