// What happened to a demo run, read from the stores themselves: the outbox rows in Dataverse (status, reason, ack time)
// and the sales orders in the ERP's database (effect, with millisecond timestamps).
import { OutboxMessage, OutboxStatus, type OutboxStatusName } from '@dataverse-outbox/contract';
import { odataLiteral, type DataverseClient } from '@dataverse-outbox/publisher-function';
import { openSqliteDatabase } from '@dataverse-outbox/consumer';
import type { ErpDatabase } from '../config/erpDatabase';
import pg from 'pg';

const c = OutboxMessage.columns;

export interface ObservedRow {
  id: string;
  messageId: string;
  status: OutboxStatusName | 'Unknown';
  lastError?: string;
  attempts: number;
  createdOn?: number;
  publishedOn?: number;
  ackedOn?: number;
  target?: string;
}

const statusNames = new Map<number, OutboxStatusName>(Object.entries(OutboxStatus).map(([k, v]) => [v, k as OutboxStatusName]));
export const terminalStatuses: ReadonlySet<string> = new Set<OutboxStatusName>(['Acked', 'Failed', 'DeadLettered', 'Cancelled']);

const time = (v: unknown): number | undefined => (typeof v === 'string' && v !== '' ? Date.parse(v) : undefined);

/** Every outbox row with this correlation id (a demo run's rows). */
export async function readRunRows(client: DataverseClient, correlationId: string, signal?: AbortSignal): Promise<ObservedRow[]> {
  const rows: ObservedRow[] = [];
  for await (const r of client.listAll(OutboxMessage.entitySetName, {
    select: [c.id, c.messageId, c.status, c.lastError, c.attempts, c.createdOn, c.publishedOn, c.ackedOn, c.target],
    filter: `${c.correlationId} eq ${odataLiteral(correlationId)}`,
    maxPageSize: 5000,
    abortSignal: signal,
  })) {
    rows.push({
      id: String(r[c.id]),
      messageId: String(r[c.messageId] ?? ''),
      status: statusNames.get(Number(r[c.status])) ?? 'Unknown',
      lastError: typeof r[c.lastError] === 'string' ? (r[c.lastError] as string) : undefined,
      attempts: Number(r[c.attempts] ?? 0),
      createdOn: time(r[c.createdOn]),
      publishedOn: time(r[c.publishedOn]),
      ackedOn: time(r[c.ackedOn]),
      target: typeof r[c.target] === 'string' ? (r[c.target] as string) : undefined,
    });
  }
  return rows;
}

/** Counts of every outbox row by status, as the emulator reports them (FetchXML aggregate, like the monitor). */
export async function countAllByStatus(client: DataverseClient): Promise<Record<OutboxStatusName, number> & { total: number }> {
  const fetch = `<fetch aggregate="true"><entity name="${OutboxMessage.logicalName}"><attribute name="${c.status}" alias="status" groupby="true"/><attribute name="${c.id}" alias="n" aggregate="count"/></entity></fetch>`;
  const rows = await client.fetchXml<{ status?: number; n?: number }>(OutboxMessage.entitySetName, fetch);
  const out = { Pending: 0, Published: 0, Acked: 0, Failed: 0, DeadLettered: 0, Cancelled: 0, total: 0 };
  for (const r of rows) {
    const name = statusNames.get(Number(r.status));
    const n = Number(r.n ?? 0);
    if (name) out[name] += n;
    out.total += n;
  }
  return out;
}

export interface SalesOrderRow {
  outboxMessageId: string;
  /** When the ERP wrote it (epoch ms). */
  at: number;
  sessionKey: string | null;
  sequence: number | null;
}

/** Every sales order in the ERP's database, in the order they were written. */
export async function readSalesOrders(database: ErpDatabase): Promise<SalesOrderRow[]> {
  type Raw = { mid: string; at: string | Date; k: string | null; s: string | number | null };
  const convert = (r: Raw): SalesOrderRow => ({
    outboxMessageId: r.mid,
    at: r.at instanceof Date ? r.at.getTime() : Date.parse(r.at),
    sessionKey: r.k,
    sequence: r.s === null ? null : Number(r.s),
  });
  const columns = 'outbox_message_id AS mid, created_at AS at, session_key AS k, outbox_sequence AS s';
  if (database.kind === 'sqlite') {
    const db = openSqliteDatabase(database.file);
    try {
      const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sales_order'`).get() !== undefined;
      return exists ? (db.prepare(`SELECT ${columns} FROM sales_order ORDER BY id`).all() as Raw[]).map(convert) : [];
    } finally {
      db.close();
    }
  }
  const schema = database.schema ?? 'erp_sales';
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const t = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`"${schema}".sales_order`]);
    if (t.rows[0]?.t == null) return [];
    return (await client.query<Raw>(`SELECT ${columns} FROM "${schema}".sales_order ORDER BY id`)).rows.map(convert);
  } finally {
    await client.end();
  }
}

/** Keys (obx_sessionkey) whose sales orders were applied out of obx_sequence order (invariant 4): must be empty. */
export function outOfOrderKeys(orders: readonly SalesOrderRow[]): string[] {
  const last = new Map<string, number>();
  const bad = new Set<string>();
  for (const o of orders) {
    if (o.sessionKey === null || o.sequence === null) continue;
    const prev = last.get(o.sessionKey);
    if (prev !== undefined && o.sequence <= prev) bad.add(o.sessionKey);
    last.set(o.sessionKey, o.sequence);
  }
  return [...bad];
}
