// Service Bus client from the app settings: a connection string (emulator: UseDevelopmentEmulator=true), or the
// namespace with DefaultAzureCredential (managed identity in Azure).
import { DefaultAzureCredential } from '@azure/identity';
import { ServiceBusClient, type ServiceBusClientOptions } from '@azure/service-bus';

export interface ServiceBusConnectionSettings {
  connectionString?: string;
  namespace?: string;
}

export function createServiceBusClient(settings: ServiceBusConnectionSettings, options: ServiceBusClientOptions = {}, credential?: DefaultAzureCredential): ServiceBusClient {
  const opts: ServiceBusClientOptions = {
    ...options,
    // Bounded SDK retries: the publish cycle owns the longer retry policy (attempts + backoff per row).
    retryOptions: { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 5000, timeoutInMs: 20_000, ...(options.retryOptions ?? {}) },
  };
  if (settings.connectionString) return new ServiceBusClient(settings.connectionString, opts);
  if (settings.namespace) return new ServiceBusClient(settings.namespace, credential ?? new DefaultAzureCredential(), opts);
  throw new TypeError('Set SERVICEBUS_CONNECTION_STRING or SERVICEBUS_NAMESPACE.');
}

/**
 * Makes a new client on each call, from the same settings (a sender that owns its client replaces a wedged one with a
 * new one, see ServiceBusMessageSender). The clients share one credential, so its token cache.
 */
export function serviceBusClientFactory(settings: ServiceBusConnectionSettings, options: ServiceBusClientOptions = {}): () => ServiceBusClient {
  let credential: DefaultAzureCredential | undefined;
  return () => {
    if (!settings.connectionString && settings.namespace) credential ??= new DefaultAzureCredential();
    return createServiceBusClient(settings, options, credential);
  };
}
