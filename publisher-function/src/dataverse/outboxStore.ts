// The outbox table in Dataverse, behind the core's store port, plus the read side used by health and operators.
import { OutboxMessage, OutboxStatus, odataStringLiteral, requireGuid, type OutboxStatusName, type OutboxStatusValue } from '@dataverse-outbox/contract';
import type { DueQuery, OperationOptions, OutboxStorePort } from '../core/ports';
import type { OutboxHealthPort, StatusCounts } from '../core/health';
import type { OutboxRow, OutboxRowChanges, RowUpdate } from '../core/row';
import { isStatusValue } from '@dataverse-outbox/contract';
import { odataLiteral, type DataverseClient, type EntityRecord, DataverseError, errorFromResponse } from '@dataverse-outbox/web-api';
import { RowUpdatesFailedError, type RowUpdateFailure } from '../core/rowUpdateErrors';
import { OutboxError } from '../core/errors';

const C = OutboxMessage.columns;

/** Columns read for publishing (the payload included) and for listing (without it). */
export const ROW_COLUMNS: readonly string[] = [
  C.id, C.name, C.messageId, C.target, C.eventType, C.payload, C.contentType, C.correlationId, C.sessionKey, C.sourceEntity,
  C.sourceId, C.sequence, C.status, C.attempts, C.nextAttemptOn, C.lastError, C.publishedOn, C.ackedOn, C.replayCount,
  C.expiresOn, C.createdOn, C.modifiedOn,
];
export const LIST_COLUMNS: readonly string[] = ROW_COLUMNS.filter((c) => c !== C.payload);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const date = (v: unknown): Date | undefined => {
  if (typeof v !== 'string' || v === '') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
};
const int = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0);

export function rowFromRecord(r: EntityRecord): OutboxRow {
  const status = int(r[C.status]);
  return {
    id: String(r[C.id]).toLowerCase(),
    messageId: str(r[C.messageId]) ?? '',
    name: str(r[C.name]),
    target: str(r[C.target]) ?? '',
    eventType: str(r[C.eventType]),
    payload: typeof r[C.payload] === 'string' ? (r[C.payload] as string) : undefined,
    contentType: str(r[C.contentType]),
    correlationId: str(r[C.correlationId]),
    sessionKey: str(r[C.sessionKey]),
    sourceEntity: str(r[C.sourceEntity]),
    sourceId: str(r[C.sourceId]),
    sequence: str(r[C.sequence]) ?? '',
    status: isStatusValue(status) ? status : OutboxStatus.Pending,
    attempts: int(r[C.attempts]),
    nextAttemptOn: date(r[C.nextAttemptOn]),
    lastError: str(r[C.lastError]),
    publishedOn: date(r[C.publishedOn]),
    ackedOn: date(r[C.ackedOn]),
    replayCount: int(r[C.replayCount]),
    expiresOn: date(r[C.expiresOn]),
    createdOn: date(r[C.createdOn]),
    modifiedOn: date(r[C.modifiedOn]),
    etag: str(r['@odata.etag']),
  };
}

/** What the operator must do when the publisher's user is in no column security profile (docs/operations.md). */
export const COLUMN_SECURITY_FIX = 'add the application user to the Outbox Publisher column security profile';

/**
 * Rows read with an `obx_status eq Pending` filter must come back with their status. Dataverse returns secured columns
 * as null to a caller in no column security profile: such rows would look malformed (no target, no payload) and be
 * failed one by one. Refuse the whole read instead, with what to do; no row is touched.
 */
function requireSecuredColumnsReadable(records: readonly EntityRecord[]): void {
  const hidden = records.filter((r) => r[C.status] === null || r[C.status] === undefined).length;
  if (hidden === 0) return;
  throw new OutboxError(
    'ColumnSecurity',
    `Dataverse returned ${hidden} Pending outbox row(s) with ${C.status}, ${C.target} and ${C.payload} empty: the publisher's ` +
      `application user cannot read the secured columns: ${COLUMN_SECURITY_FIX} (Power Platform admin center > ` +
      `Environments > Settings > Users + permissions > Column security profiles). No row was changed.`,
  );
}

export function recordFromChanges(changes: OutboxRowChanges): EntityRecord {
  const rec: EntityRecord = {};
  const d = (v: Date | null | undefined): string | null | undefined => (v === undefined ? undefined : v === null ? null : v.toISOString());
  if (changes.status !== undefined) rec[C.status] = changes.status;
  if (changes.attempts !== undefined) rec[C.attempts] = changes.attempts;
  if (changes.nextAttemptOn !== undefined) rec[C.nextAttemptOn] = d(changes.nextAttemptOn);
  if (changes.lastError !== undefined) rec[C.lastError] = changes.lastError;
  if (changes.publishedOn !== undefined) rec[C.publishedOn] = d(changes.publishedOn);
  if (changes.ackedOn !== undefined) rec[C.ackedOn] = d(changes.ackedOn);
  if (changes.replayCount !== undefined) rec[C.replayCount] = changes.replayCount;
  return rec;
}

/**
 * `(col eq <guid> or col eq <guid>)`, chunked by the caller. Every id is checked and normalised first: raw text never
 * reaches `$filter` (an id like `<guid> or obx_status eq 612000000` throws InvalidIdentifierError instead).
 */
export function idFilter(ids: readonly string[]): string {
  if (ids.length === 0) throw new RangeError('idFilter needs at least one id');
  return `(${ids.map((id) => `${C.id} eq ${requireGuid(id, 'outbox row id')}`).join(' or ')})`;
}

/** $batch part statuses that refuse one row's update for good (bad value, too large, unprocessable). */
const PERMANENT_ROW_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/** Retry-After of one $batch response part, in ms (seconds form; Dataverse sends seconds). */
function retryAfterOfPart(headers: Record<string, string>): number | undefined {
  const s = Number(headers['retry-after']);
  return Number.isFinite(s) && s >= 0 ? s * 1000 : undefined;
}

/**
 * ` and (obx_sessionkey eq null or (obx_sessionkey ne 'a' and ...))`: leaves out blocked keys (`ne` alone would
 * drop rows without a key too, as a SQL comparison with null does). Dataverse compares text case-insensitively, so a
 * key that differs from a blocked one only by case waits with it (it is delayed, never reordered).
 */
export function keyExclusion(keys: readonly string[] | undefined): string {
  if (!keys || keys.length === 0) return '';
  return ` and (${C.sessionKey} eq null or (${keys.map((k) => `${C.sessionKey} ne ${odataStringLiteral(k)}`).join(' and ')}))`;
}

export interface RowQuery {
  statuses?: readonly OutboxStatusValue[];
  ids?: readonly string[];
  target?: string;
  eventType?: string;
  /** Substring of obx_lasterror. */
  errorContains?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  modifiedAfter?: Date;
  /** Default FIFO (obx_sequence ascending). */
  order?: 'sequence' | 'recently-modified';
  top?: number;
}

const ID_CHUNK = 50;
/** Requests per $batch (Dataverse's limit). */
const BATCH_LIMIT = 1000;

/** Dataverse's AggregateQueryRecordLimit: rows one aggregate FetchXML query may cover. */
export const AGGREGATE_QUERY_RECORD_LIMIT = 50_000;

export type { StatusCounts } from '../core/health';

export interface OutboxStoreOptions {
  /** The environment's AggregateQueryRecordLimit, reported as the lower bound of a capped count. Default 50,000. */
  aggregateQueryRecordLimit?: number;
}

/** Count of rows, grouped by status, or of one status. */
function countFetch(status?: OutboxStatusValue): string {
  const filter = status === undefined ? '' : `<filter><condition attribute="${C.status}" operator="eq" value="${status}"/></filter>`;
  const group = status === undefined ? `<attribute name="${C.status}" alias="status" groupby="true"/>` : '';
  return `<fetch aggregate="true"><entity name="${OutboxMessage.logicalName}">${group}<attribute name="${C.id}" alias="n" aggregate="count"/>${filter}</entity></fetch>`;
}

/** HTTP 400 0x8004E023: the aggregate covers more rows than AggregateQueryRecordLimit. */
export function isAggregateLimitError(e: unknown): boolean {
  return e instanceof DataverseError && e.dataverseCode?.toLowerCase() === '0x8004e023';
}

export class DataverseOutboxStore implements OutboxStorePort, OutboxHealthPort {
  private readonly aggregateQueryRecordLimit: number;

  constructor(
    private readonly client: DataverseClient,
    options: OutboxStoreOptions = {},
  ) {
    this.aggregateQueryRecordLimit = options.aggregateQueryRecordLimit ?? AGGREGATE_QUERY_RECORD_LIMIT;
  }

  async readDue(query: DueQuery, options: OperationOptions = {}): Promise<OutboxRow[]> {
    const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
      select: ROW_COLUMNS,
      filter: `${C.status} eq ${OutboxStatus.Pending} and (${C.nextAttemptOn} eq null or ${C.nextAttemptOn} le ${odataLiteral(query.now)})${keyExclusion(query.excludeKeys)}`,
      orderBy: `${C.sequence} asc`,
      top: query.top,
      abortSignal: options.abortSignal,
    });
    requireSecuredColumnsReadable(page.value);
    return page.value.map(rowFromRecord);
  }

  async readBackingOff(now: Date, options: OperationOptions = {}): Promise<OutboxRow[]> {
    const rows: OutboxRow[] = [];
    for await (const r of this.client.listAll(OutboxMessage.entitySetName, {
      select: [C.id, C.messageId, C.sessionKey, C.sequence, C.status, C.nextAttemptOn, C.target, C.attempts, C.replayCount],
      filter: `${C.status} eq ${OutboxStatus.Pending} and ${C.sessionKey} ne null and ${C.nextAttemptOn} gt ${odataLiteral(now)}`,
      orderBy: `${C.sequence} asc`,
      maxPageSize: 5000,
      abortSignal: options.abortSignal,
    })) {
      requireSecuredColumnsReadable([r]);
      rows.push(rowFromRecord(r));
    }
    return rows;
  }

  /** Rows by id (any GUID form; anything else throws InvalidIdentifierError before a request is made). */
  async readByIds(ids: readonly string[], options: OperationOptions & { withPayload?: boolean } = {}): Promise<OutboxRow[]> {
    const unique = [...new Set(ids.map((id) => requireGuid(id, 'outbox row id')))];
    const rows: OutboxRow[] = [];
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const chunk = unique.slice(i, i + ID_CHUNK);
      const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
        select: options.withPayload ? ROW_COLUMNS : LIST_COLUMNS,
        filter: idFilter(chunk),
        abortSignal: options.abortSignal,
      });
      rows.push(...page.value.map(rowFromRecord));
    }
    return rows;
  }

  /**
   * One $batch request for all changes: a PATCH per row with `If-Match: <etag>`, outside change sets and with
   * `Prefer: odata.continue-on-error`, so each row is written only if it still has the version we read and a row that
   * changed meanwhile (412) does not stop the others. UpdateMultiple would be one request too, but it is all or nothing
   * and the Web API gives it no per-row condition, so it could overwrite an Acked or Cancelled row; $batch counts as
   * one request against the service protection limits, like UpdateMultiple, and costs the same per record.
   */
  async applyUpdates(updates: readonly RowUpdate[], options: OperationOptions = {}): Promise<{ conflicts: string[] }> {
    const conflicts: string[] = [];
    const written: string[] = [];
    const failures: RowUpdateFailure[] = [];
    for (let i = 0; i < updates.length; i += BATCH_LIMIT) {
      const chunk = updates.slice(i, i + BATCH_LIMIT);
      const responses = await this.client.executeBatch(
        chunk.map((u) => ({
          method: 'PATCH' as const,
          url: `${OutboxMessage.entitySetName}(${u.id})`,
          headers: { 'If-Match': u.etag ?? '*' },
          body: recordFromChanges(u.changes),
        })),
        // Safe to resend: a PATCH that already landed changed the ETag, so the resend gets 412 and is re-read.
        { continueOnError: true, idempotent: true, abortSignal: options.abortSignal },
      );
      chunk.forEach((u, j) => {
        const r = responses[j];
        if (!r) {
          failures.push({ id: u.id, permanent: false, message: `$batch answered ${responses.length} of ${chunk.length} requests` });
        } else if (r.status === 412 || r.status === 404) {
          conflicts.push(u.id);
        } else if (r.status >= 400) {
          const e = errorFromResponse(r.status, r.body, `update of outbox row ${u.id}`, retryAfterOfPart(r.headers));
          // Only a refusal of this row's own content is final; 401/403 (credentials, privileges), 408, 429 and 5xx
          // hit every row alike and pass, so they are retried rather than costing good acks their dead-letter.
          failures.push({ id: u.id, permanent: PERMANENT_ROW_STATUSES.has(r.status), message: e.message, retryAfterInMs: e.retryAfterInMs });
        } else {
          written.push(u.id);
        }
      });
    }
    // Per-row failures do not hide what was written: the caller learns each row's fate (one bad row never fails the rest).
    if (failures.length) throw new RowUpdatesFailedError(written, conflicts, failures);
    return { conflicts };
  }

  /** Rows for operators and the CLI, newest first unless statuses include Pending (then FIFO). Payloads are not read. */
  async query(q: RowQuery, options: OperationOptions = {}): Promise<OutboxRow[]> {
    const clauses: string[] = [];
    if (q.statuses?.length) clauses.push(`(${q.statuses.map((s) => `${C.status} eq ${s}`).join(' or ')})`);
    if (q.ids?.length) clauses.push(idFilter(q.ids));
    if (q.target) clauses.push(`${C.target} eq ${odataLiteral(q.target)}`);
    if (q.eventType) clauses.push(`${C.eventType} eq ${odataLiteral(q.eventType)}`);
    if (q.errorContains) clauses.push(`contains(${C.lastError},${odataLiteral(q.errorContains)})`);
    if (q.createdAfter) clauses.push(`${C.createdOn} ge ${odataLiteral(q.createdAfter)}`);
    if (q.createdBefore) clauses.push(`${C.createdOn} le ${odataLiteral(q.createdBefore)}`);
    if (q.modifiedAfter) clauses.push(`${C.modifiedOn} ge ${odataLiteral(q.modifiedAfter)}`);
    const rows: OutboxRow[] = [];
    for await (const r of this.client.listAll(OutboxMessage.entitySetName, {
      select: LIST_COLUMNS,
      filter: clauses.length ? clauses.join(' and ') : undefined,
      orderBy: q.order === 'recently-modified' ? `${C.modifiedOn} asc,${C.sequence} asc` : `${C.sequence} asc`,
      top: q.top,
      maxPageSize: 1000,
      abortSignal: options.abortSignal,
    })) {
      rows.push(rowFromRecord(r));
      if (q.top !== undefined && rows.length >= q.top) break;
    }
    return rows;
  }

  /**
   * Counts per status. One grouped aggregate FetchXML query first; when the table has more rows than an aggregate may
   * cover (0x8004E023, AggregateQueryRecordLimit), one aggregate per status. A status whose own count is still over the
   * limit is reported with the limit as a lower bound and listed in `capped`. Other errors are thrown.
   */
  async countByStatus(options: OperationOptions = {}): Promise<StatusCounts> {
    const names = Object.entries(OutboxStatus) as [OutboxStatusName, OutboxStatusValue][];
    const counts: Partial<Record<OutboxStatusName, number>> = {};
    try {
      for (const r of await this.client.fetchXml(OutboxMessage.entitySetName, countFetch(), options)) {
        const name = names.find(([, v]) => v === Number(r.status))?.[0];
        if (name) counts[name] = Number(r.n);
      }
      return { counts, capped: [] };
    } catch (e) {
      if (!isAggregateLimitError(e)) throw e;
    }
    const capped: OutboxStatusName[] = [];
    await Promise.all(
      names.map(async ([name, value]) => {
        try {
          const [r] = await this.client.fetchXml(OutboxMessage.entitySetName, countFetch(value), options);
          const n = r ? Number(r.n) : 0;
          if (n > 0) counts[name] = n;
        } catch (e) {
          if (!isAggregateLimitError(e)) throw e;
          counts[name] = this.aggregateQueryRecordLimit;
          capped.push(name);
        }
      }),
    );
    return { counts, capped: names.map(([n]) => n).filter((n) => capped.includes(n)) };
  }

  /** The oldest Pending row (FIFO head), or undefined. */
  async oldestPending(options: OperationOptions = {}): Promise<OutboxRow | undefined> {
    const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
      select: LIST_COLUMNS,
      filter: `${C.status} eq ${OutboxStatus.Pending}`,
      orderBy: `${C.sequence} asc`,
      top: 1,
      abortSignal: options.abortSignal,
    });
    requireSecuredColumnsReadable(page.value);
    return page.value[0] ? rowFromRecord(page.value[0]) : undefined;
  }

  /** The most recent publish time and the most recent failure. */
  async latest(options: OperationOptions = {}): Promise<{ lastPublishedOn?: Date; lastError?: string }> {
    const [pub, err] = await Promise.all([
      this.client.retrieveMultiple(OutboxMessage.entitySetName, { select: [C.id, C.publishedOn], filter: `${C.publishedOn} ne null`, orderBy: `${C.publishedOn} desc`, top: 1, abortSignal: options.abortSignal }),
      this.client.retrieveMultiple(OutboxMessage.entitySetName, { select: [C.id, C.lastError, C.modifiedOn], filter: `${C.lastError} ne null and (${C.status} eq ${OutboxStatus.Failed} or ${C.status} eq ${OutboxStatus.Pending})`, orderBy: `${C.modifiedOn} desc`, top: 1, abortSignal: options.abortSignal }),
    ]);
    return {
      lastPublishedOn: pub.value[0] ? date(pub.value[0][C.publishedOn]) : undefined,
      lastError: err.value[0] ? str(err.value[0][C.lastError]) : undefined,
    };
  }

  /** A single conditional update (operators, acks): false when the row changed (412). */
  async updateRow(id: string, etag: string | undefined, changes: OutboxRowChanges, options: OperationOptions = {}): Promise<boolean> {
    try {
      await this.client.update(OutboxMessage.entitySetName, id, recordFromChanges(changes), { ifMatch: etag ?? '*', abortSignal: options.abortSignal });
      return true;
    } catch (e) {
      if (e instanceof DataverseError && e.code === 'PreconditionFailed') return false;
      throw e;
    }
  }
}
