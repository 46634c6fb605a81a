// Public barrel of @dataverse-outbox/producer: the Node writer, and the contract's row types and error it throws, so a
// producer imports one package.
export { OutboxWriter, outboxRowRequest, PRODUCER_TRACER } from './writer';
export type { CreatedRef, EnqueueInput, OutboxTransaction, OutboxWriterOptions, TransactionResult } from './writer';
export { isOutboxRowError, OutboxRowError } from '@dataverse-outbox/contract';
export type { OutboxRowErrorCode, OutboxRowField, OutboxRowInput } from '@dataverse-outbox/contract';
