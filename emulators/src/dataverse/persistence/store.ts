// SQLite persistence: one SQL table per Dataverse table, typed columns, unique indexes for alternate keys, a global row
// version (Dataverse's versionnumber, the ETag), a log of deletions for change tracking, and autonumber counters.
// WAL + transactions: a commit survives a kill -9; an interrupted transaction leaves nothing behind.
import Database from 'better-sqlite3';
import { DataverseErrors } from '../core/errors';
import { newGuid, storeDateTime, type SqlValue, type StoredRow } from '../core/values';
import { isLookup, type AttributeDef, type EntityDef, type ManyToManyDef } from '../metadata/model';
import type { Schema } from '../metadata/schema';

export interface StoreOptions {
  /** SQLite file; ':memory:' or undefined for an in-memory database. */
  dataFile?: string;
  /** Reject creates/updates that leave a required column empty (an emulator-only strictness; see docs). */
  enforceRequiredColumns: boolean;
  now: () => number;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function sqlType(a: AttributeDef): string {
  switch (a.type) {
    case 'string':
    case 'memo':
    case 'autonumber':
      // Dataverse (SQL Server) compares text case-insensitively, alternate keys included.
      return 'TEXT COLLATE NOCASE';
    case 'datetime':
    case 'uniqueidentifier':
    case 'lookup':
    case 'owner':
      return 'TEXT';
    case 'decimal':
    case 'money':
      return 'REAL';
    default:
      return 'INTEGER';
  }
}

export interface DeletedRecord {
  id: string;
  version: number;
}

export class DataverseStore {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private version = 0;
  private readonly autonumbers = new Map<string, number>();

  constructor(
    readonly schema: Schema,
    private readonly options: StoreOptions,
  ) {
    this.db = new Database(options.dataFile && options.dataFile !== ':memory:' ? options.dataFile : ':memory:');
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a committed transaction survives a process kill (not necessarily a power cut).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = OFF');
  }

  init(): void {
    const ddl: string[] = [
      'CREATE TABLE IF NOT EXISTS _deleted (version INTEGER PRIMARY KEY, entity TEXT NOT NULL, id TEXT NOT NULL, deletedon TEXT NOT NULL)',
      'CREATE INDEX IF NOT EXISTS _deleted_entity ON _deleted (entity, version)',
      'CREATE TABLE IF NOT EXISTS _autonumber (entity TEXT NOT NULL, attribute TEXT NOT NULL, next INTEGER NOT NULL, PRIMARY KEY (entity, attribute))',
    ];
    for (const e of this.schema.entities) {
      const table = quoteIdent(e.logicalName);
      const cols = [...e.attributes.values()].map(
        (a) => `${quoteIdent(a.logicalName)} ${sqlType(a)}${a.logicalName === e.primaryIdAttribute ? ' PRIMARY KEY NOT NULL' : ''}`,
      );
      ddl.push(`CREATE TABLE IF NOT EXISTS ${table} (${cols.join(', ')})`);
      // Tables created by an older emulator version get new columns added (never dropped).
      ddl.push(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`ix_${e.logicalName}_versionnumber`)} ON ${table} (versionnumber)`);
      for (const k of e.alternateKeys) {
        ddl.push(`CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdent(`ak_${e.logicalName}_${k.logicalName}`)} ON ${table} (${k.columns.map(quoteIdent).join(', ')})`);
      }
      for (const ix of e.indexes) {
        // Ending every index with the primary key lets "filter on a prefix, order by the rest" (the publish query:
        // status = Pending ORDER BY sequence, id) read rows in index order instead of sorting them.
        const cols = ix.includes(e.primaryIdAttribute) ? ix : [...ix, e.primaryIdAttribute];
        ddl.push(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`ix_${e.logicalName}_${cols.join('_')}`)} ON ${table} (${cols.map(quoteIdent).join(', ')})`);
      }
    }
    for (const rel of this.schema.manyToMany) {
      ddl.push(
        `CREATE TABLE IF NOT EXISTS ${quoteIdent(rel.intersectTable)} (${quoteIdent(rel.entity1Attribute)} TEXT NOT NULL, ${quoteIdent(rel.entity2Attribute)} TEXT NOT NULL, PRIMARY KEY (${quoteIdent(rel.entity1Attribute)}, ${quoteIdent(rel.entity2Attribute)}))`,
      );
    }
    this.db.transaction(() => {
      for (const e of this.schema.entities) this.addMissingColumns(e);
      for (const stmt of ddl) this.db.exec(stmt);
    })();
    this.version = this.loadMaxVersion();
    for (const r of this.db.prepare('SELECT entity, attribute, next FROM _autonumber').all() as { entity: string; attribute: string; next: number }[]) {
      this.autonumbers.set(`${r.entity}.${r.attribute}`, r.next);
    }
  }

  private addMissingColumns(e: EntityDef): void {
    const existing = this.db.prepare(`PRAGMA table_info(${quoteIdent(e.logicalName)})`).all() as { name: string }[];
    if (existing.length === 0) return;
    const names = new Set(existing.map((c) => c.name));
    for (const a of e.attributes.values()) {
      if (!names.has(a.logicalName)) this.db.exec(`ALTER TABLE ${quoteIdent(e.logicalName)} ADD COLUMN ${quoteIdent(a.logicalName)} ${sqlType(a)}`);
    }
  }

  private loadMaxVersion(): number {
    let max = (this.db.prepare('SELECT MAX(version) AS v FROM _deleted').get() as { v: number | null }).v ?? 0;
    for (const e of this.schema.entities) {
      const v = (this.db.prepare(`SELECT MAX(versionnumber) AS v FROM ${quoteIdent(e.logicalName)}`).get() as { v: number | null }).v ?? 0;
      if (v > max) max = v;
    }
    return max;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs fn atomically; nested calls become savepoints (better-sqlite3 semantics). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  currentVersion(): number {
    return this.version;
  }

  prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  all(sql: string, params: readonly SqlValue[]): StoredRow[] {
    return this.prepare(sql).all(...params) as StoredRow[];
  }

  get(entity: EntityDef, id: string): StoredRow | undefined {
    return this.prepare(`SELECT * FROM ${quoteIdent(entity.logicalName)} WHERE ${quoteIdent(entity.primaryIdAttribute)} = ?`).get(id.toLowerCase()) as
      | StoredRow
      | undefined;
  }

  findIdByKey(entity: EntityDef, key: Readonly<Record<string, SqlValue>>): string | undefined {
    const cols = Object.keys(key);
    const where = cols.map((c) => `${quoteIdent(c)} IS ?`).join(' AND ');
    const row = this.prepare(`SELECT ${quoteIdent(entity.primaryIdAttribute)} AS id FROM ${quoteIdent(entity.logicalName)} WHERE ${where} LIMIT 1`).get(
      ...cols.map((c) => key[c] ?? null),
    ) as { id: string } | undefined;
    return row?.id;
  }

  private nextVersion(): number {
    this.version += 1;
    return this.version;
  }

  private nextAutonumber(entity: EntityDef, attr: AttributeDef): string {
    const key = `${entity.logicalName}.${attr.logicalName}`;
    // Dataverse seeds autonumber sequences at 1000.
    const n = this.autonumbers.get(key) ?? 1000;
    this.autonumbers.set(key, n + 1);
    this.prepare('INSERT INTO _autonumber (entity, attribute, next) VALUES (?, ?, ?) ON CONFLICT (entity, attribute) DO UPDATE SET next = excluded.next').run(
      entity.logicalName,
      attr.logicalName,
      n + 1,
    );
    return formatAutonumber(attr.autoNumberFormat ?? '{SEQNUM:10}', n, this.options.now());
  }

  insert(entity: EntityDef, values: StoredRow, userId: string | null): StoredRow {
    const now = storeDateTime(this.options.now());
    const row: StoredRow = {};
    const pk = entity.primaryIdAttribute;
    row[pk] = typeof values[pk] === 'string' ? (values[pk] as string).toLowerCase() : newGuid();
    for (const a of entity.attributes.values()) {
      if (a.logicalName === pk) continue;
      const v = values[a.logicalName];
      if (v !== undefined) row[a.logicalName] = v;
      else if (a.type === 'autonumber') row[a.logicalName] = this.nextAutonumber(entity, a);
      else if (a.defaultValue !== undefined && a.type !== 'string' && a.type !== 'memo') {
        row[a.logicalName] = typeof a.defaultValue === 'boolean' ? (a.defaultValue ? 1 : 0) : a.defaultValue;
      } else row[a.logicalName] = null;
    }
    computeColumns(entity, row);
    // overriddencreatedon is how data migrations set createdon (Dataverse semantics).
    row['createdon'] = (values['overriddencreatedon'] as string | undefined) ?? now;
    row['modifiedon'] = now;
    row['versionnumber'] = this.nextVersion();
    if (entity.attributes.has('createdby')) {
      row['createdby'] = userId;
      row['modifiedby'] = userId;
    }
    this.checkRequired(entity, row, undefined);
    const cols = Object.keys(row);
    const sql = `INSERT INTO ${quoteIdent(entity.logicalName)} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;
    try {
      this.prepare(sql).run(...cols.map((c) => row[c] ?? null));
    } catch (e) {
      throw this.mapConstraint(entity, e, row);
    }
    return row;
  }

  update(entity: EntityDef, id: string, values: StoredRow, userId: string | null): StoredRow {
    const existing = this.get(entity, id);
    if (!existing) throw DataverseErrors.recordNotFound(entity.logicalName, id);
    const changes: StoredRow = {};
    for (const [k, v] of Object.entries(values)) {
      if (k === entity.primaryIdAttribute || k === 'overriddencreatedon') continue;
      if (v !== undefined) changes[k] = v;
    }
    const merged: StoredRow = { ...existing, ...changes };
    computeColumns(entity, merged);
    if (entity.logicalName === 'contact') changes['fullname'] = merged['fullname'] ?? null;
    changes['modifiedon'] = storeDateTime(this.options.now());
    changes['versionnumber'] = this.nextVersion();
    if (entity.attributes.has('modifiedby')) changes['modifiedby'] = userId;
    this.checkRequired(entity, { ...merged, ...changes }, changes);
    const cols = Object.keys(changes);
    const sql = `UPDATE ${quoteIdent(entity.logicalName)} SET ${cols.map((c) => `${quoteIdent(c)} = ?`).join(', ')} WHERE ${quoteIdent(entity.primaryIdAttribute)} = ?`;
    try {
      this.prepare(sql).run(...cols.map((c) => changes[c] ?? null), existing[entity.primaryIdAttribute]);
    } catch (e) {
      throw this.mapConstraint(entity, e, { ...merged, ...changes });
    }
    return { ...merged, ...changes };
  }

  delete(entity: EntityDef, id: string): void {
    const info = this.prepare(`DELETE FROM ${quoteIdent(entity.logicalName)} WHERE ${quoteIdent(entity.primaryIdAttribute)} = ?`).run(id.toLowerCase());
    if (info.changes === 0) throw DataverseErrors.recordNotFound(entity.logicalName, id);
    this.recordDeletion(entity, id.toLowerCase());
    for (const rel of this.schema.manyToMany) {
      if (rel.entity1 === entity.logicalName) this.prepare(`DELETE FROM ${quoteIdent(rel.intersectTable)} WHERE ${quoteIdent(rel.entity1Attribute)} = ?`).run(id);
      if (rel.entity2 === entity.logicalName) this.prepare(`DELETE FROM ${quoteIdent(rel.intersectTable)} WHERE ${quoteIdent(rel.entity2Attribute)} = ?`).run(id);
    }
  }

  private recordDeletion(entity: EntityDef, id: string): void {
    if (!entity.changeTrackingEnabled) return;
    this.prepare('INSERT INTO _deleted (version, entity, id, deletedon) VALUES (?, ?, ?, ?)').run(
      this.nextVersion(),
      entity.logicalName,
      id,
      storeDateTime(this.options.now()),
    );
  }

  deletedSince(entity: EntityDef, version: number, upTo: number): DeletedRecord[] {
    return this.prepare('SELECT id, version FROM _deleted WHERE entity = ? AND version > ? AND version <= ? ORDER BY version').all(
      entity.logicalName,
      version,
      upTo,
    ) as DeletedRecord[];
  }

  associate(rel: ManyToManyDef, id1: string, id2: string): boolean {
    const info = this.prepare(
      `INSERT OR IGNORE INTO ${quoteIdent(rel.intersectTable)} (${quoteIdent(rel.entity1Attribute)}, ${quoteIdent(rel.entity2Attribute)}) VALUES (?, ?)`,
    ).run(id1.toLowerCase(), id2.toLowerCase());
    return info.changes > 0;
  }

  disassociate(rel: ManyToManyDef, id1: string, id2: string): boolean {
    const info = this.prepare(
      `DELETE FROM ${quoteIdent(rel.intersectTable)} WHERE ${quoteIdent(rel.entity1Attribute)} = ? AND ${quoteIdent(rel.entity2Attribute)} = ?`,
    ).run(id1.toLowerCase(), id2.toLowerCase());
    return info.changes > 0;
  }

  private checkRequired(entity: EntityDef, row: StoredRow, changes: StoredRow | undefined): void {
    if (!this.options.enforceRequiredColumns) return;
    for (const a of entity.attributes.values()) {
      if (!a.required || isLookup(a) && a.readOnly) continue;
      if (changes && !(a.logicalName in changes)) continue;
      const v = row[a.logicalName];
      if (v === null || v === undefined || v === '') throw DataverseErrors.requiredColumnMissing(a.logicalName, entity.logicalName);
    }
  }

  private mapConstraint(entity: EntityDef, e: unknown, row: StoredRow): unknown {
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return DataverseErrors.duplicatePrimaryKey();
    if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
      const message = String((e as Error).message);
      for (const k of entity.alternateKeys) {
        if (k.columns.every((c) => message.includes(`${entity.logicalName}.${c}`))) {
          return DataverseErrors.duplicateKey(k.logicalName, k.columns.map((c) => row[c]));
        }
      }
      if (message.includes(`${entity.logicalName}.${entity.primaryIdAttribute}`)) return DataverseErrors.duplicatePrimaryKey();
      return DataverseErrors.duplicateRecord();
    }
    return e;
  }
}

/** Platform-computed columns (contact.fullname). */
function computeColumns(entity: EntityDef, row: StoredRow): void {
  if (entity.logicalName === 'contact') {
    const name = [row['firstname'], row['lastname']].filter((p) => typeof p === 'string' && p.length > 0).join(' ');
    row['fullname'] = name.length > 0 ? name : null;
  }
}

const RAND_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** Autonumber formats: {SEQNUM:n}, {RANDSTRING:n}, {DATETIMEUTC:yyyyMMddHHmmss} and literal text (Microsoft Learn, "Autonumber columns"). */
export function formatAutonumber(format: string, seq: number, nowMs: number): string {
  return format.replace(/\{(SEQNUM|RANDSTRING|DATETIMEUTC):([^}]+)\}/g, (_m, kind: string, arg: string) => {
    if (kind === 'SEQNUM') return String(seq).padStart(Number(arg), '0');
    if (kind === 'RANDSTRING') {
      let s = '';
      for (let i = 0; i < Number(arg); i++) s += RAND_CHARS[Math.floor(Math.random() * RAND_CHARS.length)];
      return s;
    }
    const d = new Date(nowMs);
    const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
    return arg
      .replace('yyyy', String(d.getUTCFullYear()))
      .replace('MM', pad(d.getUTCMonth() + 1))
      .replace('dd', pad(d.getUTCDate()))
      .replace('HH', pad(d.getUTCHours()))
      .replace('mm', pad(d.getUTCMinutes()))
      .replace('ss', pad(d.getUTCSeconds()));
  });
}
