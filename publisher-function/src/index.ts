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

// Publishers: the outbox and the change-tracking source, each a host loop around its cycle
export { createPublisher, OutboxPublisher } from './publisher';
export { createPartitionedPublisher, PartitionedPublisher } from './partitionedPublisher';
export type { BalanceRound, PartitionClients, PartitionedPublisherOptions } from './partitionedPublisher';
export type { PollingOptions, PublisherOptions, RunForResult } from './publisher';
export { createChangeTrackingPublisher, ChangeTrackingPublisher } from './changetracking/publisher';
export type { ChangeSourceReport, ChangeTrackingPublisherOptions, ChangeTrackingSettings } from './changetracking/publisher';
export type { LoopTimer } from './core/hostLoop';

// Hosts: everything built from the app settings (the one bootstrap), and the process wrapper of a long-running host
export { partitionClientsFromAppSettings, createPublisherFromAppSettings, createChangeTrackingPublisherFromAppSettings, createDataverseClientFromAppSettings, createHostFromAppSettings } from './bootstrap';
export type { AppHost, ChangeTrackingHost, PublisherHost } from './bootstrap';
export { readAppSettings, AppSettingNames } from './config';
export type { AppSettings } from './config';
export { processOwnerName, runHostProcess } from './hostProcess';
export type { HostProcessOptions } from './hostProcess';

// Adapters a custom host wires itself (e.g. the acknowledgement listener or the dead-letter monitor on their own)
export { DataverseOutboxStore } from './dataverse/outboxStore';
export type { RowQuery, StatusCounts } from './dataverse/outboxStore';
export { DataverseLeaseStore } from './dataverse/leaseStore';
export { createServiceBusClient } from './servicebus/connection';
export type { ServiceBusConnectionSettings } from './servicebus/connection';
export { AckListener, processAckMessages } from './servicebus/ackListener';
export type { AckDisposition, AckListenerOptions } from './servicebus/ackListener';
export { runDeadLetterMonitor } from './servicebus/deadLetterMonitor';
export type { DeadLetterMonitorOptions, DeadLetterMonitorResult } from './servicebus/deadLetterMonitor';

// Typed errors
export { OutboxError, isOutboxError } from './core/errors';
export type { OutboxErrorCode } from './core/errors';
export { RowUpdatesFailedError, isRowUpdatesFailedError } from './core/rowUpdateErrors';
export type { RowUpdateFailure } from './core/rowUpdateErrors';
export { ChangeTrackingError, isChangeTrackingError } from './changetracking/core/errors';
export type { ChangeTrackingErrorCode } from './changetracking/core/errors';
/** Why the publisher dead-letters an acknowledgement (the `reason` a monitor or an operator sees). */
export { PoisonReasons } from './core/acks';
export type { PoisonReason } from './core/acks';

// The model the publisher reports, and the ports for custom adapters (stores, senders, logs, metrics, clocks)
export type { OutboxSettings } from './core/settings';
export type { OutboxHealth, OutboxHealthPort, StatusCountLimits } from './core/health';
export type { OutboxRow, OutboxRowChanges, RowUpdate } from './core/row';
export type { OutboundMessage } from './core/mapping';
export type { Clock, DueQuery, LeasePort, LeaseState, LogFields, Logger, MessageSenderPort, OperationOptions, OutboxStorePort, PublisherMetrics, SendOutcome } from './core/ports';
export { noMetrics, silentLogger, systemClock, TargetUnavailableError } from './core/ports';
export type { ChangeCheckpoint, ChangeKind, ChangePage, ChangeTrackingMetrics, ChangeTrackingSourceConfig, CheckpointChanges, CheckpointPort, DeltaReaderPort, TrackedChange } from './changetracking/core';
export { noChangeTrackingMetrics } from './changetracking/core/ports';

// Operator actions and health
export { runOperatorAction, retryRows, replayRows, cancelRows, releaseLease } from './operator';
export type { OperatorAction, OperatorActionOptions, OperatorActionResult, OperatorFailure, OperatorRowQuery, OperatorRowsPort, OperatorSelection } from './operator';
export { getOutboxHealth } from './health';
export type { HealthSources } from './health';

// Telemetry
export { createJsonLogger, createOtelMetrics, startAzureMonitor, loggerFromContext } from './telemetry';
export type { LogLevel } from './telemetry';
export { createOtelChangeTrackingMetrics, ChangeTrackingMetricNames } from './changetracking/telemetry';
