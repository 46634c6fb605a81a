// Builds the change-tracking publisher from the app settings (the same ones as the outbox publisher).
import type { ServiceBusClient } from '@azure/service-bus';
import { createDataverseClientFromAppSettings } from '../bootstrap';
import { readAppSettings, type AppSettings } from '../config';
import type { DataverseClient } from '../dataverse/client';
import { createServiceBusClient } from '../servicebus/connection';
import { createChangeTrackingPublisher, type ChangeTrackingPublisher, type ChangeTrackingPublisherOptions } from './runner';

export interface ChangeTrackingHost {
  app: AppSettings;
  dataverse: DataverseClient;
  serviceBus: ServiceBusClient;
  publisher: ChangeTrackingPublisher;
  /** Closes the publisher and both clients. */
  close(): Promise<void>;
}

export function createChangeTrackingPublisherFromAppSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: Partial<Omit<ChangeTrackingPublisherOptions, 'dataverse' | 'serviceBus'>> = {},
): ChangeTrackingHost {
  const app = readAppSettings(env);
  const dataverse = createDataverseClientFromAppSettings(app, { onResponse: (info) => options.metrics?.dataverseRequest?.(info.method) });
  const serviceBus = createServiceBusClient({ connectionString: app.serviceBusConnectionString, namespace: app.serviceBusNamespace });
  const publisher = createChangeTrackingPublisher({ ...options, dataverse, serviceBus, appSettings: env });
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
