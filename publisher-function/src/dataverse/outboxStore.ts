// The outbox table in Dataverse, behind the core's store port, plus the read side used by health and operators.
import { canaryEventType, notScheduledFilter, OutboxMessage, OutboxStatus, odataStringLiteral, requireGuid, type OutboxStatusName, type OutboxStatusValue } from '@dataverse-outbox/contract';
import type { DueQuery, OperationOptions, OutboxStorePort } from '../core/ports';
import type { OutboxHealthPort, StatusCountLimits, StatusCounts } from '../core/health';
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
  C.expiresOn, C.createdOn, C.modifiedOn, C.traceContext,
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
    traceContext: str(r[C.traceContext]),
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
/** readByIds requests in flight at once. */
const READS_AT_ONCE = 4;
/** Requests per $batch (Dataverse's limit). */
const BATCH_LIMIT = 1000;

export type { StatusCounts } from '../core/health';

/** The rows of one publisher partition: its slot range, and the rows without a slot when it is the default partition. */
export interface PartitionSlots {
  from: number;
  to: number;
  /** Rows written by producers that know nothing of partitions (obx_partitionslot empty) belong to partition 0. */
  unassigned: boolean;
}

export interface OutboxStoreOptions {
  /** Publish only this partition's rows (readDue, readBackingOff). Default: every row (one partition). */
  partitionSlots?: PartitionSlots;
}

export class DataverseOutboxStore implements OutboxStorePort, OutboxHealthPort {
  private readonly slotFilter: string;

  constructor(
    private readonly client: DataverseClient,
    options: OutboxStoreOptions = {},
  ) {
    const slots = options.partitionSlots;
    this.slotFilter = slots
      ? ` and ((${C.partitionSlot} ge ${slots.from} and ${C.partitionSlot} lt ${slots.to})${slots.unassigned ? ` or ${C.partitionSlot} eq null` : ''})`
      : '';
  }

  async readDue(query: DueQuery, options: OperationOptions = {}): Promise<OutboxRow[]> {
    const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
      select: ROW_COLUMNS,
      filter: `${C.status} eq ${OutboxStatus.Pending} and (${C.nextAttemptOn} eq null or ${C.nextAttemptOn} le ${odataLiteral(query.now)})${this.slotFilter}${keyExclusion(query.excludeKeys)}`,
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
      select: [C.id, C.messageId, C.sessionKey, C.sequence, C.status, C.nextAttemptOn, C.target, C.attempts, C.replayCount, C.lastError],
      filter: `${C.status} eq ${OutboxStatus.Pending} and ${C.sessionKey} ne null and ${C.nextAttemptOn} gt ${odataLiteral(now)}${this.slotFilter}`,
      orderBy: `${C.sequence} asc`,
      maxPageSize: 5000,
      abortSignal: options.abortSignal,
    })) {
      requireSecuredColumnsReadable([r]);
      rows.push(rowFromRecord(r));
    }
    return rows;
  }

  async readNextDueOn(now: Date, options: OperationOptions = {}): Promise<Date | undefined> {
    const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
      select: [C.nextAttemptOn],
      filter: `${C.status} eq ${OutboxStatus.Pending} and ${C.nextAttemptOn} gt ${odataLiteral(now)}${this.slotFilter}`,
      orderBy: `${C.nextAttemptOn} asc`,
      top: 1,
      abortSignal: options.abortSignal,
    });
    const first = page.value[0];
    return first ? date(first[C.nextAttemptOn]) : undefined;
  }

  /**
   * Rows by id (any GUID form; anything else throws InvalidIdentifierError before a request is made): 50 ids a
   * request, up to 4 requests at once, so a batch of 250 acks costs one request's latency, not five.
   */
  async readByIds(ids: readonly string[], options: OperationOptions & { withPayload?: boolean } = {}): Promise<OutboxRow[]> {
    const unique = [...new Set(ids.map((id) => requireGuid(id, 'outbox row id')))];
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += ID_CHUNK) chunks.push(unique.slice(i, i + ID_CHUNK));
    const pages: OutboxRow[][] = new Array<OutboxRow[]>(chunks.length);
    let next = 0;
    const reader = async (): Promise<void> => {
      for (let i = next++; i < chunks.length; i = next++) {
        const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
          select: options.withPayload ? ROW_COLUMNS : LIST_COLUMNS,
          filter: idFilter(chunks[i]!),
          abortSignal: options.abortSignal,
        });
        pages[i] = page.value.map(rowFromRecord);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, chunks.length) }, reader));
    return pages.flat();
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
   * Rows of each status in `limits`, each read as a `$top`-bounded page of ids in (obx_status, obx_sequence) order: the
   * index range Dataverse (and the emulator) read stops after `limit` rows, so the cost is bounded by the limits, not by
   * the table. A status that fills its page is reported with the limit, listed in `capped` (a lower bound).
   * No aggregate: an aggregate counts every matching row and fails beyond AggregateQueryRecordLimit (0x8004E023).
   */
  async countByStatus(limits: StatusCountLimits, options: OperationOptions = {}): Promise<StatusCounts> {
    const counts: Partial<Record<OutboxStatusName, number>> = {};
    const capped = new Set<OutboxStatusName>();
    const asked = (Object.keys(OutboxStatus) as OutboxStatusName[]).filter((name) => limits[name] !== undefined);
    await Promise.all(
      asked.map(async (name) => {
        const limit = Math.max(1, Math.floor(limits[name] as number));
        const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
          select: [C.id],
          filter: `${C.status} eq ${OutboxStatus[name]}`,
          orderBy: `${C.sequence} asc`,
          top: limit,
          abortSignal: options.abortSignal,
        });
        counts[name] = Math.min(page.value.length, limit);
        if (page.value.length >= limit) capped.add(name);
      }),
    );
    return { counts, capped: asked.filter((name) => capped.has(name)) };
  }

  /** The oldest Pending row (FIFO head) that is due or waiting to retry (not a scheduled event before its time), or undefined. */
  async oldestPending(options: OperationOptions = {}): Promise<OutboxRow | undefined> {
    const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
      select: LIST_COLUMNS,
      filter: `${C.status} eq ${OutboxStatus.Pending} and ${notScheduledFilter(new Date())}`,
      orderBy: `${C.sequence} asc`,
      top: 1,
      abortSignal: options.abortSignal,
    });
    requireSecuredColumnsReadable(page.value);
    return page.value[0] ? rowFromRecord(page.value[0]) : undefined;
  }

  /**
   * The most recent publish time and the most recent failure's error, each from `$top` 1 reads along an index (bounded
   * whatever the table holds): the newest publish (obx_publishedon), the newest Failed row (obx_status, obx_sequence) and
   * the Pending row whose retry is due last (obx_status, obx_nextattempton), i.e. the one that failed most recently.
   */
  async latest(options: OperationOptions = {}): Promise<{ lastPublishedOn?: Date; lastError?: string }> {
    const newest = (filter: string, orderBy: string, select: string[]) =>
      this.client.retrieveMultiple(OutboxMessage.entitySetName, { select, filter, orderBy, top: 1, abortSignal: options.abortSignal });
    const errorColumns = [C.id, C.lastError, C.modifiedOn];
    const [pub, failed, retrying] = await Promise.all([
      newest(`${C.publishedOn} ne null`, `${C.publishedOn} desc,${C.id} desc`, [C.id, C.publishedOn]),
      newest(`${C.status} eq ${OutboxStatus.Failed}`, `${C.sequence} desc,${C.id} desc`, errorColumns),
      // Rows that were attempted: a scheduled event (no attempts) has no error, and a hold's reason is not one.
      newest(`${C.status} eq ${OutboxStatus.Pending} and ${C.nextAttemptOn} ne null and ${C.attempts} gt 0`, `${C.nextAttemptOn} desc,${C.id} desc`, errorColumns),
    ]);
    const errors = [...failed.value, ...retrying.value]
      .filter((r) => str(r[C.lastError]) !== undefined)
      .sort((a, b) => (date(b[C.modifiedOn])?.getTime() ?? 0) - (date(a[C.modifiedOn])?.getTime() ?? 0));
    return {
      lastPublishedOn: pub.value[0] ? date(pub.value[0][C.publishedOn]) : undefined,
      lastError: errors[0] ? str(errors[0][C.lastError]) : undefined,
    };
  }

  /** The most recently Acked canary row (issue 21): one `$top` 1 read, so health stays bounded and keeps no state. */
  async lastCanary(options: OperationOptions = {}): Promise<OutboxRow | undefined> {
    const page = await this.client.retrieveMultiple(OutboxMessage.entitySetName, {
      select: LIST_COLUMNS,
      filter: `${C.eventType} eq ${odataLiteral(canaryEventType)} and ${C.status} eq ${OutboxStatus.Acked}`,
      orderBy: `${C.ackedOn} desc,${C.id} desc`,
      top: 1,
      abortSignal: options.abortSignal,
    });
    return page.value[0] ? rowFromRecord(page.value[0]) : undefined;
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
