// Public barrel of @dataverse-outbox/publisher-function. No default exports.

// Dataverse Web API client (also for producers)
export { DataverseClient, alternateKey, odataLiteral } from '@dataverse-outbox/web-api';
export type {
  DataverseClientOptions,
  DataverseCredential,
  DataverseOperationOptions,
  DataverseRequestInfo,
  DataverseResponse,
  DataverseRetryInfo,
  DataverseRetryOptions,
  EntityPage,
  EntityRecord,
  QueryOptions,
  RequestOptions,
  WriteOptions,
} from '@dataverse-outbox/web-api';
export { DataverseError, isDataverseError } from '@dataverse-outbox/web-api';
export type { DataverseErrorCode } from '@dataverse-outbox/web-api';
export type { BatchPart, BatchRequest, BatchResponse } from '@dataverse-outbox/web-api';

// Producers' writer
export { OutboxWriter, outboxRowRequest } from './writer';
export type { CreatedRef, EnqueueInput, OutboxTransaction, TransactionResult } from './writer';

// Publisher
export { createPublisher, OutboxPublisher } from './publisher';
export type { PollingOptions, PublisherOptions, RunForResult } from './publisher';
export { createPublisherFromAppSettings, createDataverseClientFromAppSettings } from './bootstrap';
export type { PublisherHost } from './bootstrap';
export { readAppSettings, AppSettingNames } from './config';
export type { AppSettings } from './config';
export { DataverseOutboxStore } from './dataverse/outboxStore';
export type { OutboxStoreOptions, RowQuery, StatusCounts } from './dataverse/outboxStore';
export { DataverseLeaseStore } from './dataverse/leaseStore';
export { readSettingsFromDataverse } from './dataverse/settingsSource';
export { ServiceBusMessageSender, classifySendError } from './servicebus/sender';
export { createServiceBusClient } from './servicebus/connection';
export type { ServiceBusConnectionSettings } from './servicebus/connection';
export { AckListener, processAckMessages } from './servicebus/ackListener';
export type { AckDisposition, AckListenerOptions } from './servicebus/ackListener';
export { runDeadLetterMonitor } from './servicebus/deadLetterMonitor';
export type { DeadLetterMonitorOptions, DeadLetterMonitorResult } from './servicebus/deadLetterMonitor';

// Operator actions and health
export { runOperatorAction, retryRows, replayRows, cancelRows, releaseLease, selectRows, partitionIds } from './operator';
export type { OperatorAction, OperatorActionOptions, OperatorActionResult, OperatorFailure } from './operator';
export { getOutboxHealth } from './health';
export type { HealthSources } from './health';

// Telemetry
export { createJsonLogger, createOtelMetrics, startAzureMonitor, loggerFromContext } from './telemetry';
export type { LogLevel } from './telemetry';
export { processOwnerName, runHostProcess } from './hostProcess';
export type { HostProcessOptions } from './hostProcess';

// The core (pure): model, rules and ports
export * from './core';
export * from './changetracking';
