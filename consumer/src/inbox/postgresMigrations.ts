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
  ];
}
