// The blocked-key fault's own queue and consumer. Each blocked-key action writes one head row and thousands behind it on
// one session key, all to BLOCKED_QUEUE, while Service Bus refuses attaches to that queue: the head row fails transiently
// (server busy) until the refusal ends, and every row behind it waits. A consumer built with the toolkit (SQLite inbox,
// sessions, acknowledgements on) runs inside the chaos run and records each first delivery, so the checker can tell
// that the blocked key's rows arrived once each and in obx_sequence order.
import { existsSync } from 'node:fs';
import { applySqliteMigrations, createOutboxConsumer, createSqliteInbox, openSqliteDatabase, type OutboxConsumer, type SqliteMigration } from '@dataverse-outbox/consumer';

export const BLOCKED_QUEUE = 'chaos-blocked';
export const BLOCKED_EVENT_TYPE = 'ChaosBlockedKey';

const migrations: SqliteMigration[] = [
  {
    version: 1,
    name: 'create blocked_effect',
    // No unique key on message_id on purpose: only the inbox prevents a second effect.
    statements: ['CREATE TABLE blocked_effect (id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, session_key TEXT, sequence INTEGER, applied_at TEXT NOT NULL)'],
  },
];

export interface BlockedEffect {
  messageId: string;
  sessionKey: string | null;
  sequence: number | null;
  appliedAt: string;
}

export interface BlockedKeyConsumer {
  close(): Promise<void>;
}

export async function startBlockedKeyConsumer(options: { connectionString: string; file: string; ackQueue: string }): Promise<BlockedKeyConsumer> {
  const inbox = createSqliteInbox({ filename: options.file });
  await applySqliteMigrations(inbox.database, 'chaos_blocked', migrations);
  const consumer: OutboxConsumer = createOutboxConsumer({
    serviceBus: { connectionString: options.connectionString },
    entity: BLOCKED_QUEUE,
    sessions: { sessionIdleTimeoutInMs: 500, acceptRetryDelayInMs: 250 },
    concurrency: 2,
    acknowledge: { queue: options.ackQueue },
    acknowledgementSweep: { intervalInMs: 3000, graceInMs: 3000 },
    inbox,
    readSchemaVersion: () => 1,
    handler: {
      [BLOCKED_EVENT_TYPE]: {
        schemaVersions: [1],
        handle: (event, { transaction }) => {
          transaction
            .prepare('INSERT INTO blocked_effect (message_id, session_key, sequence, applied_at) VALUES (?, ?, ?, ?)')
            .run(event.outboxMessageId, event.sessionKey ?? null, event.outboxSequence ?? null, new Date().toISOString());
        },
      },
    },
  });
  await consumer.start();
  return {
    close: async () => {
      await consumer.close().catch(() => undefined);
      await inbox.close();
    },
  };
}

/** Every first delivery the blocked-key consumer applied, in the order applied. */
export function readBlockedEffects(file: string): BlockedEffect[] {
  if (!existsSync(file)) return [];
  const db = openSqliteDatabase(file);
  try {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blocked_effect'`).get() !== undefined;
    if (!exists) return [];
    return (db.prepare('SELECT message_id AS messageId, session_key AS sessionKey, sequence, applied_at AS appliedAt FROM blocked_effect ORDER BY id').all() as BlockedEffect[]).map((r) => ({ ...r }));
  } finally {
    db.close();
  }
}
