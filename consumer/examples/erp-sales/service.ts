// The ERP sales integration: SalesOrderWon events -> rows of sales_order, exactly once, through the inbox.
import type { ServiceBusClient } from '@azure/service-bus';
import {
  createOutboxConsumer,
  createPostgresInbox,
  createSqliteInbox,
  payloadSchemaVersion,
  type AcknowledgementSweepOptions,
  type ConsumerError,
  type ConsumerLogger,
  type MessageSettlement,
  type OutboxConsumer,
  type OutboxConsumerOptions,
} from '@dataverse-outbox/consumer';
import { createOutboxConsumerWithFaultInjection, type ConsumerFaultInjection } from '@dataverse-outbox/consumer/testing';

import { ErpSalesEventTypes, toSalesOrder } from './salesOrderWon';
import {
  defaultErpSchema,
  insertSalesOrderPostgres,
  insertSalesOrderSqlite,
  migrateErpPostgres,
  migrateErpSqlite,
  readErpSalesState,
  type ErpSalesDatabaseConfig,
  type ErpSalesState,
} from './store';

export interface ErpSalesServiceOptions {
  serviceBus: ServiceBusClient | { connectionString: string };
  /** Queue the outbox publishes SalesOrderWon to; default `erp-sales`. */
  queue?: string;
  /** The queue requires sessions (sessionKey = opportunity id); default true. */
  sessions?: boolean;
  /** Messages (or sessions) at once; default 4. */
  concurrency?: number;
  database: ErpSalesDatabaseConfig;
  /** Ack queue; default obx_AckQueue's default; false = acks off. */
  ackQueue?: string | false;
  logger?: ConsumerLogger;
  /** Simulated slow ERP write, inside the transaction (widens crash windows in chaos tests). */
  handlerDelayInMs?: number;
  transientErrorDelayInMs?: number;
  /** Re-sending of acknowledgements lost to a crash (see createOutboxConsumer); default every 60 s. */
  acknowledgementSweep?: AcknowledgementSweepOptions | false;
  /** Test only (crash and chaos tests): crash-injection hooks, through the consumer's test-only entry point. */
  faultInjection?: ConsumerFaultInjection;
  onSettled?: (settlement: MessageSettlement) => void;
  onError?: (error: ConsumerError) => void;
}

export interface ErpSalesService {
  readonly consumer: OutboxConsumer;
  start(): Promise<void>;
  close(): Promise<void>;
  state(): Promise<ErpSalesState>;
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export function createErpSalesService(options: ErpSalesServiceOptions): ErpSalesService {
  const database = options.database;
  const handlerDelay = options.handlerDelayInMs ?? 0;
  const common = {
    serviceBus: options.serviceBus,
    entity: options.queue ?? 'erp-sales',
    sessions: options.sessions ?? true,
    concurrency: options.concurrency ?? 4,
    acknowledge: options.ackQueue === false ? (false as const) : options.ackQueue === undefined ? {} : { queue: options.ackQueue },
    // Version 1 is the only one; producers that predate versioning send none.
    readSchemaVersion: (event: Parameters<typeof payloadSchemaVersion>[0]) => payloadSchemaVersion(event) ?? 1,
    ...(options.transientErrorDelayInMs === undefined ? {} : { transientErrorDelayInMs: options.transientErrorDelayInMs }),
    ...(options.acknowledgementSweep === undefined ? {} : { acknowledgementSweep: options.acknowledgementSweep }),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onSettled ? { onSettled: options.onSettled } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  };

  // The crash hooks exist only behind the consumer's test-only entry point; without them, the plain consumer.
  const create = <T>(consumerOptions: OutboxConsumerOptions<T>): OutboxConsumer =>
    options.faultInjection ? createOutboxConsumerWithFaultInjection(consumerOptions, options.faultInjection) : createOutboxConsumer(consumerOptions);

  let consumer: OutboxConsumer;
  let prepare: () => Promise<void>;
  let release: () => Promise<void>;
  if (database.kind === 'postgres') {
    const schema = database.schema ?? defaultErpSchema;
    const inbox = createPostgresInbox({ connectionString: database.url, schema, maxConnections: (options.concurrency ?? 4) + 2 });
    consumer = create({
      ...common,
      inbox,
      handler: {
        [ErpSalesEventTypes.SalesOrderWon]: {
          schemaVersions: [1],
          handle: async (event, { transaction }) => {
            const order = toSalesOrder(event);
            await insertSalesOrderPostgres(transaction, schema, order);
            await delay(handlerDelay);
          },
        },
      },
    });
    prepare = () => migrateErpPostgres(inbox.pool, schema);
    release = () => inbox.close();
  } else {
    const inbox = createSqliteInbox({ filename: database.file });
    consumer = create({
      ...common,
      inbox,
      handler: {
        [ErpSalesEventTypes.SalesOrderWon]: {
          schemaVersions: [1],
          handle: async (event, { transaction }) => {
            insertSalesOrderSqlite(transaction, toSalesOrder(event));
            await delay(handlerDelay);
          },
        },
      },
    });
    prepare = () => migrateErpSqlite(inbox.database);
    release = () => inbox.close();
  }

  return {
    consumer,
    async start() {
      await prepare();
      await consumer.start();
    },
    async close() {
      await consumer.close();
      await release();
    },
    state: () => readErpSalesState(database),
  };
}
