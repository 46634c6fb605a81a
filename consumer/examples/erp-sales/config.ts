// Environment of the erp-sales service: one name per setting (spec app settings for Service Bus and the database).
import path from 'node:path';

import { Settings } from '@dataverse-outbox/contract';

import type { ErpSalesDatabaseConfig } from './store';

export const erpSalesEnv = {
  connectionString: 'SERVICEBUS_CONNECTION_STRING',
  namespace: 'SERVICEBUS_NAMESPACE',
  databaseUrl: 'DATABASE_URL',
  sqliteFile: 'INBOX_SQLITE_FILE',
  queue: 'ERP_QUEUE',
  sessions: 'ERP_SESSIONS',
  concurrency: 'ERP_CONCURRENCY',
  schema: 'ERP_DB_SCHEMA',
  ackQueue: Settings.AckQueue.appSetting,
  handlerDelay: 'ERP_HANDLER_DELAY_MS',
  transientDelay: 'ERP_TRANSIENT_DELAY_MS',
  /** How often, and after how long, acknowledgements never recorded as sent are sent again (default 60000). */
  ackSweep: 'ERP_ACK_SWEEP_MS',
  /** Test only: `before-commit` | `after-commit` | `after-complete` -> the process SIGKILLs itself there. */
  crashAt: 'ERP_CRASH_AT',
  /** Test only: crash only while processing this outbox-message-id (default: the first message). */
  crashOn: 'ERP_CRASH_ON',
  /** Test only: `true` builds the deliberately broken variant that completes before commit. */
  unsafeCompleteBeforeCommit: 'ERP_UNSAFE_COMPLETE_BEFORE_COMMIT',
} as const;

export type ErpCrashPoint = 'before-commit' | 'after-commit' | 'after-complete';
const crashPoints: readonly ErpCrashPoint[] = ['before-commit', 'after-commit', 'after-complete'];

export interface ErpSalesConfig {
  serviceBus: { connectionString: string } | { namespace: string };
  database: ErpSalesDatabaseConfig;
  queue: string;
  sessions: boolean;
  concurrency: number;
  ackQueue: string | false;
  handlerDelayInMs: number;
  transientErrorDelayInMs: number | undefined;
  ackSweepInMs: number;
  crashAt: ErpCrashPoint | undefined;
  crashOn: string | undefined;
  unsafeCompleteBeforeCommit: boolean;
}

function flag(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
}

function integer(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

/** Reads and validates the environment; throws an Error naming the bad variable. */
export function readErpSalesConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ErpSalesConfig {
  const connectionString = env[erpSalesEnv.connectionString];
  const namespace = env[erpSalesEnv.namespace];
  if (!connectionString && !namespace) {
    throw new Error(`Set ${erpSalesEnv.connectionString} (emulator or SAS) or ${erpSalesEnv.namespace} (Entra ID via DefaultAzureCredential)`);
  }
  const databaseUrl = env[erpSalesEnv.databaseUrl];
  const database: ErpSalesDatabaseConfig = databaseUrl
    ? { kind: 'postgres', url: databaseUrl, ...(env[erpSalesEnv.schema] ? { schema: env[erpSalesEnv.schema]! } : {}) }
    : { kind: 'sqlite', file: path.resolve(cwd, env[erpSalesEnv.sqliteFile] || path.join('.outbox-data', 'erp-sales.sqlite')) };
  const crashAt = env[erpSalesEnv.crashAt] || undefined;
  if (crashAt !== undefined && !crashPoints.includes(crashAt as ErpCrashPoint)) {
    throw new Error(`${erpSalesEnv.crashAt} must be one of ${crashPoints.join(', ')}, got "${crashAt}"`);
  }
  const ackQueue = env[erpSalesEnv.ackQueue];
  return {
    serviceBus: connectionString ? { connectionString } : { namespace: namespace! },
    database,
    queue: env[erpSalesEnv.queue] || 'erp-sales',
    sessions: flag(env[erpSalesEnv.sessions], erpSalesEnv.sessions, true),
    concurrency: integer(env[erpSalesEnv.concurrency], erpSalesEnv.concurrency, 4, 1),
    // Spec: an empty obx_AckQueue turns acknowledgements off.
    ackQueue: ackQueue === undefined ? Settings.AckQueue.defaultValue : ackQueue === '' ? false : ackQueue,
    handlerDelayInMs: integer(env[erpSalesEnv.handlerDelay], erpSalesEnv.handlerDelay, 0, 0),
    transientErrorDelayInMs: env[erpSalesEnv.transientDelay] ? integer(env[erpSalesEnv.transientDelay], erpSalesEnv.transientDelay, 1000, 0) : undefined,
    ackSweepInMs: integer(env[erpSalesEnv.ackSweep], erpSalesEnv.ackSweep, 60_000, 100),
    crashAt: crashAt as ErpCrashPoint | undefined,
    crashOn: env[erpSalesEnv.crashOn] || undefined,
    unsafeCompleteBeforeCommit: flag(env[erpSalesEnv.unsafeCompleteBeforeCommit], erpSalesEnv.unsafeCompleteBeforeCommit, false),
  };
}
