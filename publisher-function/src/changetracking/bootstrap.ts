// Builds the change-tracking publisher from the app settings (the same ones, clients and close order as the outbox publisher).
import { createHostFromAppSettings, type AppHost } from '../bootstrap';
import { createChangeTrackingPublisher, type ChangeTrackingPublisher, type ChangeTrackingPublisherOptions } from './runner';

export type ChangeTrackingHost = AppHost<ChangeTrackingPublisher>;

export function createChangeTrackingPublisherFromAppSettings(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: Partial<Omit<ChangeTrackingPublisherOptions, 'dataverse' | 'serviceBus'>> = {},
): ChangeTrackingHost {
  return createHostFromAppSettings(env, { onResponse: (info) => options.metrics?.dataverseRequest?.(info.method) }, (app, dataverse, serviceBus) =>
    // OUTBOX_LEASE_DURATION_SECONDS applies to the source leases too (one documented setting for every lease).
    createChangeTrackingPublisher({ ...options, dataverse, serviceBus, leaseDurationInMs: options.leaseDurationInMs ?? app.leaseDurationSeconds * 1000, appSettings: env }),
  );
}
