// "Break the consumer" for the demo: makes the ERP's sales_order table unavailable (renamed), so every SalesOrderWon
// fails inside the consumer's transaction. The consumer treats that as transient: the message is abandoned and
// redelivered until Service Bus dead-letters it (max delivery count), the publisher's dead-letter monitor marks the row
// DeadLettered, and an operator can replay it from the monitor once the ERP is fixed. Nothing is lost on the way.
import { openSqliteDatabase } from '@dataverse-outbox/consumer';
import type { ErpDatabase } from '../config/erpDatabase';
import pg from 'pg';

const TABLE = 'sales_order';
const BROKEN = 'sales_order_unavailable';

export type ErpOutageChange = 'broken' | 'fixed' | 'already-broken' | 'already-fixed' | 'no-table-yet';

async function rename(database: ErpDatabase, from: string, to: string): Promise<'renamed' | 'already' | 'missing'> {
  if (database.kind === 'sqlite') {
    const db = openSqliteDatabase(database.file);
    try {
      db.pragma('busy_timeout = 10000');
      const has = (t: string): boolean => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(t) !== undefined;
      if (has(to)) return 'already';
      if (!has(from)) return 'missing';
      db.exec(`ALTER TABLE "${from}" RENAME TO "${to}"`);
      return 'renamed';
    } finally {
      db.close();
    }
  }
  const schema = database.schema ?? 'erp_sales';
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const has = async (t: string): Promise<boolean> => (await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`"${schema}".${t}`])).rows[0]?.t != null;
    if (await has(to)) return 'already';
    if (!(await has(from))) return 'missing';
    await client.query(`ALTER TABLE "${schema}"."${from}" RENAME TO "${to}"`);
    return 'renamed';
  } finally {
    await client.end();
  }
}

export async function breakErp(database: ErpDatabase): Promise<ErpOutageChange> {
  const r = await rename(database, TABLE, BROKEN);
  return r === 'renamed' ? 'broken' : r === 'already' ? 'already-broken' : 'no-table-yet';
}

export async function fixErp(database: ErpDatabase): Promise<ErpOutageChange> {
  const r = await rename(database, BROKEN, TABLE);
  return r === 'renamed' ? 'fixed' : 'already-fixed';
}
