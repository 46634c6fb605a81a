// The ERP's own table (sales_order) on PostgreSQL or SQLite, written inside the inbox transaction, plus the read model
// used by invariant checks (chaos and end-to-end tests): counts, duplicate effects, and the applied order per key.
//
// sales_order deliberately has NO unique constraint on outbox_message_id: the inbox alone must make the effect happen once,
// so a broken consumer shows up here as duplicate rows instead of being masked by the table.
import {
  applyPostgresMigrations,
  applySqliteMigrations,
  openSqliteDatabase,
  type PostgresMigration,
  type SqliteMigration,
} from '@dataverse-outbox/consumer';
import type Database from 'better-sqlite3';
import pg from 'pg';

import type { SalesOrderDraft } from './salesOrderWon';

/** Where the ERP keeps its data (and the inbox). */
export type ErpSalesDatabaseConfig =
  | { kind: 'postgres'; url: string; /** default `erp_sales` */ schema?: string }
  | { kind: 'sqlite'; file: string };

export const defaultErpSchema = 'erp_sales';

export const postgresErpMigrations = (schema: string): PostgresMigration[] => [
  {
    version: 1,
    name: 'create sales_order',
    statements: [
      `CREATE TABLE "${schema}".sales_order (
         id bigserial PRIMARY KEY,
         opportunity_id text NOT NULL,
         customer text NOT NULL,
         amount numeric(18, 2) NOT NULL,
         currency char(3) NOT NULL,
         outbox_message_id text NOT NULL,
         outbox_sequence bigint,
         session_key text,
         created_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
      `CREATE INDEX sales_order_opportunity_idx ON "${schema}".sales_order (opportunity_id, id)`,
    ],
  },
];

export const sqliteErpMigrations: SqliteMigration[] = [
  {
    version: 1,
    name: 'create sales_order',
    statements: [
      `CREATE TABLE sales_order (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         opportunity_id TEXT NOT NULL,
         customer TEXT NOT NULL,
         amount REAL NOT NULL,
         currency TEXT NOT NULL,
         outbox_message_id TEXT NOT NULL,
         outbox_sequence INTEGER,
         session_key TEXT,
         created_at TEXT NOT NULL)`,
      `CREATE INDEX sales_order_opportunity_idx ON sales_order (opportunity_id, id)`,
    ],
  },
];

export async function migrateErpPostgres(pool: pg.Pool, schema: string): Promise<void> {
  await applyPostgresMigrations(pool, schema, 'erp_sales', postgresErpMigrations(schema));
}

export async function migrateErpSqlite(database: Database.Database): Promise<void> {
  await applySqliteMigrations(database, 'erp_sales', sqliteErpMigrations);
}

export async function insertSalesOrderPostgres(client: pg.ClientBase, schema: string, order: SalesOrderDraft): Promise<void> {
  await client.query(
    `INSERT INTO "${schema}".sales_order (opportunity_id, customer, amount, currency, outbox_message_id, outbox_sequence, session_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [order.opportunityId, order.customer, order.amount, order.currency, order.outboxMessageId, order.outboxSequence, order.sessionKey],
  );
}

export function insertSalesOrderSqlite(database: Database.Database, order: SalesOrderDraft): void {
  database
    .prepare(
      `INSERT INTO sales_order (opportunity_id, customer, amount, currency, outbox_message_id, outbox_sequence, session_key, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(order.opportunityId, order.customer, order.amount, order.currency, order.outboxMessageId, order.outboxSequence,
      order.sessionKey, new Date().toISOString());
}

/** What invariant checks need to know about the ERP's data. */
export interface ErpSalesState {
  /** Rows in sales_order. */
  salesOrders: number;
  /** Entries in the inbox. */
  inboxEntries: number;
  /** Distinct outbox-message-ids with a sales order. */
  appliedMessageIds: string[];
  /** outbox-message-ids applied more than once: must always be empty (invariant 3). */
  duplicateEffects: { outboxMessageId: string; count: number }[];
  /** Per opportunity id: outbox sequences in the order they were applied (insertion order). */
  sequencesByOpportunity: Record<string, number[]>;
  /** Opportunities whose applied sequences are not strictly increasing (invariant 4): must be empty. */
  outOfOrderOpportunities: string[];
}

interface OrderRow {
  opportunity_id: string;
  outbox_message_id: string;
  outbox_sequence: string | number | null;
}

function summarise(rows: OrderRow[], inboxEntries: number): ErpSalesState {
  const perMessage = new Map<string, number>();
  const sequencesByOpportunity: Record<string, number[]> = {};
  for (const row of rows) {
    perMessage.set(row.outbox_message_id, (perMessage.get(row.outbox_message_id) ?? 0) + 1);
    if (row.outbox_sequence !== null) (sequencesByOpportunity[row.opportunity_id] ??= []).push(Number(row.outbox_sequence));
  }
  const outOfOrderOpportunities = Object.entries(sequencesByOpportunity)
    .filter(([, seqs]) => seqs.some((s, i) => i > 0 && s <= seqs[i - 1]!))
    .map(([key]) => key);
  return {
    salesOrders: rows.length,
    inboxEntries,
    appliedMessageIds: [...perMessage.keys()],
    duplicateEffects: [...perMessage].filter(([, n]) => n > 1).map(([outboxMessageId, count]) => ({ outboxMessageId, count })),
    sequencesByOpportunity,
    outOfOrderOpportunities,
  };
}

/**
 * Reads the ERP's state from its database (opens and closes its own connection; safe while the service runs or after it
 * was killed). Tables that do not exist yet read as empty.
 */
export async function readErpSalesState(database: ErpSalesDatabaseConfig): Promise<ErpSalesState> {
  if (database.kind === 'postgres') {
    const schema = database.schema ?? defaultErpSchema;
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const exists = async (table: string): Promise<boolean> =>
        (await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`"${schema}".${table}`])).rows[0]?.t != null;
      const rows = (await exists('sales_order'))
        ? (await client.query<OrderRow>(`SELECT opportunity_id, outbox_message_id, outbox_sequence FROM "${schema}".sales_order ORDER BY id`)).rows
        : [];
      const inbox = (await exists('outbox_inbox'))
        ? Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".outbox_inbox`)).rows[0]?.n ?? 0)
        : 0;
      return summarise(rows, inbox);
    } finally {
      await client.end();
    }
  }
  const db = openSqliteDatabase(database.file);
  try {
    const exists = (table: string): boolean =>
      db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
    const rows = exists('sales_order')
      ? (db.prepare('SELECT opportunity_id, outbox_message_id, outbox_sequence FROM sales_order ORDER BY id').all() as OrderRow[])
      : [];
    const inbox = exists('outbox_inbox') ? (db.prepare('SELECT count(*) AS n FROM outbox_inbox').get() as { n: number }).n : 0;
    return summarise(rows, inbox);
  } finally {
    db.close();
  }
}

/** Violations of the consumer-side invariants for a set of outbox-message-ids that were sent and must each apply once. */
export interface ErpSalesInvariantReport {
  ok: boolean;
  /** Sent but never applied (lost): invariant 1 from the consumer's side. */
  missing: string[];
  /** Applied more than once: invariant 3. */
  duplicated: string[];
  /** Applied but never sent (should be impossible). */
  unexpected: string[];
  /** Keys applied out of outbox-sequence order: invariant 4. */
  outOfOrder: string[];
}

export function checkErpSalesInvariants(state: ErpSalesState, expectedOutboxMessageIds: Iterable<string>): ErpSalesInvariantReport {
  const expected = new Set(expectedOutboxMessageIds);
  const applied = new Set(state.appliedMessageIds);
  const missing = [...expected].filter((id) => !applied.has(id));
  const unexpected = [...applied].filter((id) => !expected.has(id));
  const duplicated = state.duplicateEffects.map((d) => d.outboxMessageId);
  const outOfOrder = state.outOfOrderOpportunities;
  return {
    ok: missing.length + duplicated.length + unexpected.length + outOfOrder.length === 0,
    missing,
    duplicated,
    unexpected,
    outOfOrder,
  };
}
