// What the local stack runs with: the Service Bus entities and the outbox settings (environment variable values) the
// demo needs. One place, read by the orchestrator, the demo producer, the docs and the tests.
import { Settings, defaultCanaryTarget } from '@dataverse-outbox/contract';
import type { ShortEmulatorConfig } from '@dataverse-outbox/emulators/servicebus';

/** Queue the sample ERP consumer reads SalesOrderWon from. */
export const ERP_SALES_QUEUE = 'erp-sales';
/** Where consumers acknowledge (obx_AckQueue). */
export const ACK_QUEUE = Settings.AckQueue.defaultValue;
/** The canary queue (issue 21): allowed like any target; the ERP consumer process runs the canary responder on it. */
export const CANARY_QUEUE = defaultCanaryTarget;
/** A target that is deliberately NOT allowed: the demo's "bad target" rows go here and end Failed. */
export const NOT_ALLOWED_TARGET = 'erp-legacy';

/**
 * Service Bus entities. `erp-sales` requires sessions: the demo's obx_sessionkey is the customer's account id, sent as
 * sessionId, and the consumer works one session at a time per worker, so one customer's orders are applied in
 * obx_sequence order even with several concurrent workers (invariant 4), while different customers go in parallel.
 * (Keying by customer rather than by opportunity also keeps sessions busy: a session per single message would make the
 * consumer wait its session idle timeout after every message.) Duplicate detection absorbs a publisher crash between
 * send and mark.
 */
export const serviceBusEntities: ShortEmulatorConfig = {
  namespace: 'sbemulatorns',
  queues: [
    {
      name: ERP_SALES_QUEUE,
      requiresSession: true,
      maxDeliveryCount: 5,
      lockDurationInMs: 30_000,
      requiresDuplicateDetection: true,
      duplicateDetectionHistoryTimeWindowInMs: 10 * 60_000,
      deadLetteringOnMessageExpiration: true,
    },
    { name: ACK_QUEUE, maxDeliveryCount: 10, lockDurationInMs: 30_000 },
    { name: CANARY_QUEUE, maxDeliveryCount: 5, lockDurationInMs: 30_000 },
  ],
};

/** Outbox settings as a Power Platform deployment settings file would carry them (values as Dataverse stores them). */
export const demoSettings: ReadonlyArray<{ schemaName: string; value: string }> = [
  { schemaName: Settings.ServiceBusNamespace.schemaName, value: 'local-emulator' },
  { schemaName: Settings.AllowedTargets.schemaName, value: JSON.stringify([ERP_SALES_QUEUE, CANARY_QUEUE]) },
  { schemaName: Settings.AckQueue.schemaName, value: ACK_QUEUE },
  { schemaName: Settings.BatchSize.schemaName, value: '100' },
  { schemaName: Settings.MaxAttempts.schemaName, value: '10' },
  { schemaName: Settings.PublisherEnabled.schemaName, value: 'yes' },
  { schemaName: Settings.RetentionDays.schemaName, value: '7' },
  {
    schemaName: Settings.HealthThresholds.schemaName,
    value: JSON.stringify({ maxPendingAgeSeconds: 120, maxFailed: 10, maxDeadLettered: 10 }),
  },
];

/** Static token the emulator accepts and the publisher, monitor and demo send (emulator only; never a real secret). */
export const LOCAL_DATAVERSE_TOKEN = 'local-stack-token';

/** The demo's customers; each is an ordering key (obx_sessionkey = its account id). */
export const DEMO_CUSTOMERS: readonly string[] = [
  'Contoso Ltd',
  'Fabrikam Inc',
  'Northwind Traders',
  'Adventure Works',
  'Tailspin Toys',
  'Wide World Importers',
  'Litware Inc',
  'Proseware Inc',
];
