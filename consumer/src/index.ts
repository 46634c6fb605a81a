// Public barrel of @dataverse-outbox/consumer: the idempotent-consumer toolkit for downstream systems.
export { createOutboxConsumer } from './consumer';
export type {
  CloseOptions,
  ConsumerLogger,
  OutboxAcknowledgeOptions,
  OutboxConsumer,
  OutboxConsumerEntity,
  OutboxConsumerOptions,
  OutboxConsumerSessionOptions,
} from './consumer';
export type {
  ErrorClassification,
  MessageOutcome,
  MessageSettlement,
  OutboxEventHandler,
  OutboxEventHandlers,
  OutboxEventRegistration,
  OutboxHandlerContext,
} from './internal/processMessage';
export { createCanaryResponder } from './canaryResponder';
export type { CanaryResponder, CanaryResponderOptions } from './canaryResponder';
export { payloadSchemaVersion, readOutboxEvent } from './outboxEvent';
export type { OutboxEvent, ReadOutboxEventResult, ReceivedCloudEvent } from './outboxEvent';
export type { AcknowledgementSweepOptions } from './acknowledgementLedger';
export type { InboxBatchingOptions } from './internal/inboxBatcher';
export { ConsumerError, DeadLetterReasons, PermanentError, isConsumerError, isPermanentError } from './errors';
export type { ConsumerErrorCode, ConsumerErrorOptions, DeadLetterReason, PermanentErrorOptions, PermanentErrorReason } from './errors';
export type { InboxBatchItem, InboxBatchResult, InboxEntry, InboxProcessResult, InboxRecord, InboxStore, OperationOptions, PurgeOptions, UnacknowledgedQuery } from './inbox';
export { applyPostgresMigrations, createPostgresInbox } from './inbox/postgres';
export type { PostgresInboxOptions, PostgresInboxStore, PostgresInboxTransaction } from './inbox/postgres';
export type { PostgresMigration } from './inbox/postgresMigrations';
export { applySqliteMigrations, beginImmediate, createSqliteInbox, openSqliteDatabase } from './inbox/sqlite';
export type { SqliteInboxOptions, SqliteInboxStore, SqliteInboxTransaction, SqliteMigration } from './inbox/sqlite';
export { defaultInboxRetentionInMs, startInboxRetention } from './retention';
export type { InboxRetention, InboxRetentionOptions } from './retention';
