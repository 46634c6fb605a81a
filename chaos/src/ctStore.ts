// The change-tracking consumer's own table and its read model for the invariant checks. `ct_change` has no unique key
// on message_id on purpose: only the inbox prevents a second effect, so a broken consumer shows up as duplicate rows.
import { existsSync } from 'node:fs';
import { openSqliteDatabase, type SqliteMigration } from '@dataverse-outbox/consumer';

export const CT_EVENT_TYPE = 'OpportunityChanged';
export const CT_QUEUE = 'erp-sales-ct';

export const ctMigrations: SqliteMigration[] = [
  {
    version: 1,
    name: 'create ct_change',
    statements: [
      `CREATE TABLE ct_change (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         message_id TEXT NOT NULL,
         opportunity_id TEXT NOT NULL,
         version INTEGER NOT NULL,
         statecode INTEGER,
         applied_at TEXT NOT NULL)`,
      'CREATE INDEX ct_change_opportunity ON ct_change (opportunity_id, id)',
    ],
  },
];

/** `opportunity:<id>:v<version>` -> version. */
export function versionOfMessageId(messageId: string): number | undefined {
  const m = /:v(\d+)$/.exec(messageId);
  return m ? Number(m[1]) : undefined;
}

export interface CtChange {
  messageId: string;
  opportunityId: string;
  version: number;
  statecode: number | null;
}

/** Every applied change, in the order applied. */
export function readCtChanges(file: string): CtChange[] {
  if (!existsSync(file)) return [];
  const db = openSqliteDatabase(file);
  try {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ct_change'`).get() !== undefined;
    if (!exists) return [];
    return (db.prepare('SELECT message_id AS messageId, opportunity_id AS opportunityId, version, statecode FROM ct_change ORDER BY id').all() as CtChange[]).map((r) => ({ ...r }));
  } finally {
    db.close();
  }
}
