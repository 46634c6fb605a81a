// Versioned PostgreSQL migrations of the inbox. Append new versions; never edit an applied one.

export interface PostgresMigration {
  version: number;
  name: string;
  statements: readonly string[];
}

export function postgresInboxMigrations(table: string, tableName: string): PostgresMigration[] {
  return [
    {
      version: 1,
      name: 'create inbox',
      statements: [
        `CREATE TABLE ${table} (
           outbox_message_id text PRIMARY KEY,
           outbox_id text,
           event_type text,
           session_key text,
           service_bus_message_id text,
           processed_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
        // Retention deletes by age in batches.
        `CREATE INDEX "${tableName}_processed_at_idx" ON ${table} (processed_at)`,
      ],
    },
    {
      version: 2,
      name: 'record acknowledgements',
      statements: [
        `ALTER TABLE ${table} ADD COLUMN acknowledged_at timestamptz`,
        // Entries from before this version were acknowledged when processed (or their acknowledgement is long gone).
        `UPDATE ${table} SET acknowledged_at = processed_at`,
        `CREATE INDEX "${tableName}_unacknowledged_idx" ON ${table} (processed_at) WHERE acknowledged_at IS NULL`,
      ],
    },
  ];
}
