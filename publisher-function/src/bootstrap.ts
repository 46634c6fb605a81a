// Builds the clients and the publisher from the app settings: the one place hosts (worker, Functions, CLI) share.
import { DefaultAzureCredential } from '@azure/identity';
import type { ServiceBusClient } from '@azure/service-bus';
import { readAppSettings, type AppSettings } from './config';
import type { Logger, PublisherMetrics } from './core/ports';
import { DataverseClient, type DataverseClientOptions } from './dataverse/client';
import { createPublisher, type OutboxPublisher, type PublisherOptions } from './publisher';
import { createServiceBusClient } from './servicebus/connection';

export function createDataverseClientFromAppSettings(app: AppSettings, options: DataverseClientOptions = {}): DataverseClient {
  return new DataverseClient(app.dataverseUrl, app.dataverseToken ? { token: app.dataverseToken } : new DefaultAzureCredential(), options);
}

export interface PublisherHost {
  app: AppSettings;
  dataverse: DataverseClient;
  serviceBus: ServiceBusClient;
  publisher: OutboxPublisher;
  /** Closes the publisher and both clients. */
  close(): Promise<void>;
}

/** Reads app settings (throws OutboxError InvalidSettings with every problem), builds clients and the publisher. */
export function createPublisherFromAppSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: Partial<Omit<PublisherOptions, 'dataverse' | 'serviceBus'>> & { logger?: Logger; metrics?: PublisherMetrics; dataverseOptions?: DataverseClientOptions } = {},
): PublisherHost {
  const app = readAppSettings(env);
  const dataverse = createDataverseClientFromAppSettings(app, {
    ...options.dataverseOptions,
    onResponse: (info) => {
      options.metrics?.dataverseRequest?.(info.method);
      options.dataverseOptions?.onResponse?.(info);
    },
  });
  const serviceBus = createServiceBusClient({ connectionString: app.serviceBusConnectionString, namespace: app.serviceBusNamespace });
  const publisher = createPublisher({ ...options, dataverse, serviceBus, scope: options.scope ?? app.scope, appSettings: env });
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
