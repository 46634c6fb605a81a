// Builds the clients and the publishers from the app settings: the one place that wires adapters for every host (the
// Functions app, the worker, the change-tracking worker, the CLI), and knows in which order a host is closed.
import { DefaultAzureCredential } from '@azure/identity';
import type { ServiceBusClient } from '@azure/service-bus';
import { readAppSettings, type AppSettings } from './config';
import type { Logger, PublisherMetrics } from './core/ports';
import { DataverseClient, type DataverseClientOptions } from '@dataverse-outbox/web-api';
import { DataverseLeaseStore } from './dataverse/leaseStore';
import { DataverseOutboxStore } from './dataverse/outboxStore';
import { createChangeTrackingPublisher, type ChangeTrackingPublisher, type ChangeTrackingPublisherOptions } from './changetracking/publisher';
import { createPartitionedPublisher, type PartitionClients, type PartitionedPublisher, type PartitionedPublisherOptions } from './partitionedPublisher';
import { createServiceBusClient, serviceBusClientFactory } from './servicebus/connection';

/** The Dataverse client of every host: a static token (emulator and tests only) or else DefaultAzureCredential. */
export function createDataverseClient(url: string, token: string | undefined, options: DataverseClientOptions = {}): DataverseClient {
  return new DataverseClient(url, token ? { token } : new DefaultAzureCredential(), options);
}

export function createDataverseClientFromAppSettings(app: AppSettings, options: DataverseClientOptions = {}): DataverseClient {
  return createDataverseClient(app.dataverseUrl, app.dataverseToken, options);
}

/** What the operator CLI works on: the client and the outbox and lease stores over it. */
export interface OperatorAdapters {
  client: DataverseClient;
  store: DataverseOutboxStore;
  lease: DataverseLeaseStore;
}

/** The operator CLI's adapters for a URL and an optional token (both checked by the CLI first). */
export function createOperatorAdapters(url: string, token: string | undefined, options: DataverseClientOptions = {}): OperatorAdapters {
  const client = createDataverseClient(url, token, options);
  return { client, store: new DataverseOutboxStore(client), lease: new DataverseLeaseStore(client) };
}

/** What a host holds: the app settings, both clients and one running publisher (outbox or change tracking). */
export interface AppHost<TPublisher extends { close(): Promise<void> }> {
  app: AppSettings;
  dataverse: DataverseClient;
  serviceBus: ServiceBusClient;
  publisher: TPublisher;
  /** Closes the publisher, then both clients. */
  close(): Promise<void>;
}

/**
 * Reads app settings (throws OutboxError InvalidSettings with every problem), builds both clients, then the publisher
 * from them; the one place that knows how a host is wired and in which order it is closed.
 */
export function createHostFromAppSettings<TPublisher extends { close(): Promise<void> }>(
  env: Readonly<Record<string, string | undefined>>,
  dataverseOptions: DataverseClientOptions,
  createHostedPublisher: (app: AppSettings, dataverse: DataverseClient, serviceBus: ServiceBusClient) => TPublisher,
): AppHost<TPublisher> {
  const app = readAppSettings(env);
  const dataverse = createDataverseClientFromAppSettings(app, dataverseOptions);
  const serviceBus = createServiceBusClient({ connectionString: app.serviceBusConnectionString, namespace: app.serviceBusNamespace });
  const publisher = createHostedPublisher(app, dataverse, serviceBus);
  return {
    app,
    dataverse,
    serviceBus,
    publisher,
    async close() {
      await publisher.close();
      await serviceBus.close();
      await dataverse.close();
    },
  };
}

export type PublisherHost = AppHost<PartitionedPublisher>;

/**
 * The partitions' Dataverse clients from the app settings: one per managed identity (or static token) listed, created
 * when a partition first needs it; partition i uses entry i mod n. None listed: every partition uses the instance's client.
 */
export function partitionClientsFromAppSettings(app: AppSettings, options: DataverseClientOptions = {}): PartitionClients | undefined {
  const identities = app.partitionTokens.length > 0 ? app.partitionTokens.map((token) => ({ token })) : app.partitionClientIds.map((managedIdentityClientId) => ({ managedIdentityClientId }));
  if (identities.length === 0) return undefined;
  const clients = new Map<number, DataverseClient>();
  return {
    forPartition(partition) {
      const i = partition % identities.length;
      let client = clients.get(i);
      if (!client) {
        const identity = identities[i]!;
        const credential = 'token' in identity ? { token: identity.token } : new DefaultAzureCredential({ managedIdentityClientId: identity.managedIdentityClientId });
        clients.set(i, (client = new DataverseClient(app.dataverseUrl, credential, options)));
      }
      return client;
    },
    async close() {
      await Promise.all([...clients.values()].map((c) => c.close()));
      clients.clear();
    },
  };
}

/** The outbox publisher's host (worker, Functions app). */
export function createPublisherFromAppSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: Partial<Omit<PartitionedPublisherOptions, 'dataverse' | 'serviceBus'>> & { logger?: Logger; metrics?: PublisherMetrics; dataverseOptions?: DataverseClientOptions } = {},
): PublisherHost {
  const dataverseOptions: DataverseClientOptions = {
    ...options.dataverseOptions,
    onResponse: (info) => {
      options.metrics?.dataverseRequest?.(info.method);
      options.dataverseOptions?.onResponse?.(info);
    },
  };
  return createHostFromAppSettings(env, dataverseOptions, (app, dataverse, serviceBus) =>
    createPartitionedPublisher({
      ...options,
      dataverse,
      serviceBus,
      // Each partition lane sends through a client of its own, replaced when it stops sending; `serviceBus` stays the
      // acknowledgement listener's and the dead-letter monitor's (docs/reliability.md, finding 4).
      createSendClient: options.createSendClient ?? serviceBusClientFactory({ connectionString: app.serviceBusConnectionString, namespace: app.serviceBusNamespace }),
      partitionClients: options.partitionClients ?? partitionClientsFromAppSettings(app, dataverseOptions),
      maxPartitionsPerInstance: options.maxPartitionsPerInstance ?? app.maxPartitionsPerInstance,
      scope: options.scope ?? app.scope,
      leaseDurationInMs: options.leaseDurationInMs ?? app.leaseDurationSeconds * 1000,
      standbyPollInMs: options.standbyPollInMs ?? app.standbyPollSeconds * 1000,
      appSettings: env,
    }),
  );
}

export type ChangeTrackingHost = AppHost<ChangeTrackingPublisher>;

/** The change-tracking publisher's host: the same app settings, clients and close order as the outbox publisher. */
export function createChangeTrackingPublisherFromAppSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: Partial<Omit<ChangeTrackingPublisherOptions, 'dataverse' | 'serviceBus'>> = {},
): ChangeTrackingHost {
  return createHostFromAppSettings(env, { onResponse: (info) => options.metrics?.dataverseRequest?.(info.method) }, (app, dataverse, serviceBus) =>
    // OUTBOX_LEASE_DURATION_SECONDS applies to the source leases too (one documented setting for every lease).
    createChangeTrackingPublisher({ ...options, dataverse, serviceBus, leaseDurationInMs: options.leaseDurationInMs ?? app.leaseDurationSeconds * 1000, appSettings: env }),
  );
}
