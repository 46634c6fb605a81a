// Durable state in SQLite (better-sqlite3): messages, per-entity sequence numbers, duplicate-detection history and
// session state. Writes are queued and committed together once per event-loop turn (group commit) in one transaction
// with prepared statements; callers are told "done" only after the commit, so an acknowledged send or settlement
// survives a kill -9. WAL with synchronous=NORMAL loses nothing on a process crash (only on an OS crash/power cut).
import Database from 'better-sqlite3';

/** Which part of a receive entity a message sits in: the entity itself or its `$DeadLetterQueue`. */
export type SubQueue = 'main' | 'deadletter';

export interface MessageRow {
  /** Receive entity key: `queue` or `topic/subscriptions/sub`, lower case. */
  entity: string;
  sequenceNumber: number;
  subQueue: SubQueue;
  deferred: boolean;
  sessionId: string | null;
  messageId: string | null;
  enqueuedAt: number;
  scheduledAt: number | null;
  expiresAt: number | null;
  deliveryCount: number;
  /** The AMQP message exactly as the client encoded it. */
  payload: Buffer;
  deadLetterReason: string | null;
  deadLetterDescription: string | null;
  deadLetterSource: string | null;
}

interface DbMessageRow {
  entity: string;
  seq: number;
  sub_queue: number;
  deferred: number;
  session_id: string | null;
  message_id: string | null;
  enqueued_at: number;
  scheduled_at: number | null;
  expires_at: number | null;
  delivery_count: number;
  payload: Buffer;
  dl_reason: string | null;
  dl_description: string | null;
  dl_source: string | null;
}

export interface StoredState {
  messages: MessageRow[];
  sequences: Map<string, number>;
  duplicates: Array<{ entity: string; messageId: string; seenAt: number }>;
  sessionStates: Array<{ entity: string; sessionId: string; state: Buffer }>;
  /** Subscriptions whose rules a client changed: the whole rule list as JSON. */
  ruleSets: Array<{ entity: string; definitions: string }>;
}

type Write = () => void;

export class MessageStore {
  private readonly db: Database.Database;
  private readonly statements;
  private pending: Write[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private flushScheduled = false;
  private closed = false;

  constructor(file: string | undefined) {
    this.db = new Database(file ?? ':memory:');
    if (file) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS messages (
        entity TEXT NOT NULL, seq INTEGER NOT NULL, sub_queue INTEGER NOT NULL DEFAULT 0, deferred INTEGER NOT NULL DEFAULT 0,
        session_id TEXT, message_id TEXT, enqueued_at INTEGER NOT NULL, scheduled_at INTEGER, expires_at INTEGER,
        delivery_count INTEGER NOT NULL DEFAULT 0, payload BLOB NOT NULL,
        dl_reason TEXT, dl_description TEXT, dl_source TEXT,
        PRIMARY KEY (entity, seq)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS sequences (entity TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS duplicates (entity TEXT NOT NULL, message_id TEXT NOT NULL, seen_at INTEGER NOT NULL,
        PRIMARY KEY (entity, message_id)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS session_states (entity TEXT NOT NULL, session_id TEXT NOT NULL, state BLOB NOT NULL,
        PRIMARY KEY (entity, session_id)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS rule_sets (entity TEXT PRIMARY KEY, definitions TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS dropped_duplicates (entity TEXT NOT NULL, message_id TEXT NOT NULL, first_seen_at INTEGER NOT NULL,
        dropped_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS dropped_duplicates_entity ON dropped_duplicates (entity, dropped_at);
    `);
    this.statements = {
      insert: this.db.prepare(
        `INSERT OR REPLACE INTO messages (entity, seq, sub_queue, deferred, session_id, message_id, enqueued_at, scheduled_at,
           expires_at, delivery_count, payload, dl_reason, dl_description, dl_source)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      delete: this.db.prepare('DELETE FROM messages WHERE entity = ? AND seq = ?'),
      deliveryCount: this.db.prepare('UPDATE messages SET delivery_count = ? WHERE entity = ? AND seq = ?'),
      deferred: this.db.prepare('UPDATE messages SET deferred = 1 WHERE entity = ? AND seq = ?'),
      deadLetter: this.db.prepare(
        'UPDATE messages SET sub_queue = 1, deferred = 0, dl_reason = ?, dl_description = ?, dl_source = ? WHERE entity = ? AND seq = ?',
      ),
      sequence: this.db.prepare(
        'INSERT INTO sequences (entity, last_seq) VALUES (?, ?) ON CONFLICT(entity) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq)',
      ),
      duplicate: this.db.prepare('INSERT OR REPLACE INTO duplicates (entity, message_id, seen_at) VALUES (?, ?, ?)'),
      pruneDuplicates: this.db.prepare('DELETE FROM duplicates WHERE entity = ? AND seen_at < ?'),
      setSessionState: this.db.prepare('INSERT OR REPLACE INTO session_states (entity, session_id, state) VALUES (?, ?, ?)'),
      clearSessionState: this.db.prepare('DELETE FROM session_states WHERE entity = ? AND session_id = ?'),
      saveRuleSet: this.db.prepare('INSERT OR REPLACE INTO rule_sets (entity, definitions) VALUES (?, ?)'),
      droppedDuplicate: this.db.prepare('INSERT INTO dropped_duplicates (entity, message_id, first_seen_at, dropped_at) VALUES (?, ?, ?, ?)'),
      readDroppedDuplicates: this.db.prepare(
        'SELECT message_id, first_seen_at, dropped_at FROM dropped_duplicates WHERE entity = ? ORDER BY dropped_at, rowid LIMIT ?',
      ),
    };
  }

  /** Everything persisted, read once at start (messages in sequence order). */
  load(): StoredState {
    const messages = (this.db.prepare('SELECT * FROM messages ORDER BY entity, seq').all() as DbMessageRow[]).map(fromDb);
    const sequences = new Map<string, number>();
    for (const r of this.db.prepare('SELECT entity, last_seq FROM sequences').all() as Array<{ entity: string; last_seq: number }>) {
      sequences.set(r.entity, r.last_seq);
    }
    const duplicates = (
      this.db.prepare('SELECT entity, message_id, seen_at FROM duplicates').all() as Array<{ entity: string; message_id: string; seen_at: number }>
    ).map((r) => ({ entity: r.entity, messageId: r.message_id, seenAt: r.seen_at }));
    const sessionStates = (
      this.db.prepare('SELECT entity, session_id, state FROM session_states').all() as Array<{ entity: string; session_id: string; state: Buffer }>
    ).map((r) => ({ entity: r.entity, sessionId: r.session_id, state: r.state }));
    const ruleSets = this.db.prepare('SELECT entity, definitions FROM rule_sets').all() as Array<{ entity: string; definitions: string }>;
    return { messages, sequences, duplicates, sessionStates, ruleSets };
  }

  insertMessage(row: MessageRow): void {
    this.queue(() =>
      this.statements.insert.run(
        row.entity,
        row.sequenceNumber,
        row.subQueue === 'deadletter' ? 1 : 0,
        row.deferred ? 1 : 0,
        row.sessionId,
        row.messageId,
        row.enqueuedAt,
        row.scheduledAt,
        row.expiresAt,
        row.deliveryCount,
        row.payload,
        row.deadLetterReason,
        row.deadLetterDescription,
        row.deadLetterSource,
      ),
    );
  }

  deleteMessage(entity: string, sequenceNumber: number): void {
    this.queue(() => this.statements.delete.run(entity, sequenceNumber));
  }

  setDeliveryCount(entity: string, sequenceNumber: number, deliveryCount: number): void {
    this.queue(() => this.statements.deliveryCount.run(deliveryCount, entity, sequenceNumber));
  }

  setDeferred(entity: string, sequenceNumber: number): void {
    this.queue(() => this.statements.deferred.run(entity, sequenceNumber));
  }

  deadLetter(entity: string, sequenceNumber: number, reason: string | null, description: string | null, source: string | null): void {
    this.queue(() => this.statements.deadLetter.run(reason, description, source, entity, sequenceNumber));
  }

  setLastSequenceNumber(entity: string, sequenceNumber: number): void {
    this.queue(() => this.statements.sequence.run(entity, sequenceNumber));
  }

  rememberMessageId(entity: string, messageId: string, seenAt: number): void {
    this.queue(() => this.statements.duplicate.run(entity, messageId, seenAt));
  }

  /** A send dropped by duplicate detection (kept for the admin API: a harness counts what was sent twice). */
  recordDroppedDuplicate(entity: string, messageId: string, firstSeenAt: number, droppedAt: number): void {
    this.queue(() => this.statements.droppedDuplicate.run(entity, messageId, firstSeenAt, droppedAt));
  }

  /** Committed drops of an entity, oldest first. */
  droppedDuplicates(entity: string, maxCount: number): Array<{ messageId: string; firstSeenAt: number; droppedAt: number }> {
    return (this.statements.readDroppedDuplicates.all(entity, maxCount) as Array<{ message_id: string; first_seen_at: number; dropped_at: number }>).map((r) => ({
      messageId: r.message_id,
      firstSeenAt: r.first_seen_at,
      droppedAt: r.dropped_at,
    }));
  }

  forgetMessageIdsBefore(entity: string, before: number): void {
    this.queue(() => this.statements.pruneDuplicates.run(entity, before));
  }

  setSessionState(entity: string, sessionId: string, state: Buffer | null): void {
    this.queue(() =>
      state === null ? this.statements.clearSessionState.run(entity, sessionId) : this.statements.setSessionState.run(entity, sessionId, state),
    );
  }

  saveRuleSet(entity: string, definitions: string): void {
    this.queue(() => this.statements.saveRuleSet.run(entity, definitions));
  }

  /** Resolves once every write queued so far is committed. */
  commit(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The message store is closed.'));
    if (this.pending.length === 0 && !this.flushScheduled) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  private queue(write: Write): void {
    if (this.closed) throw new Error('The message store is closed.');
    this.pending.push(write);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const writes = this.pending;
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      if (writes.length > 0) {
        this.db.transaction(() => {
          for (const write of writes) write();
        })();
      }
      for (const w of waiters) w.resolve();
    } catch (e) {
      for (const w of waiters) w.reject(e as Error);
    }
  }
}

function fromDb(r: DbMessageRow): MessageRow {
  return {
    entity: r.entity,
    sequenceNumber: r.seq,
    subQueue: r.sub_queue === 1 ? 'deadletter' : 'main',
    deferred: r.deferred === 1,
    sessionId: r.session_id,
    messageId: r.message_id,
    enqueuedAt: r.enqueued_at,
    scheduledAt: r.scheduled_at,
    expiresAt: r.expires_at,
    deliveryCount: r.delivery_count,
    payload: r.payload,
    deadLetterReason: r.dl_reason,
    deadLetterDescription: r.dl_description,
    deadLetterSource: r.dl_source,
  };
}
