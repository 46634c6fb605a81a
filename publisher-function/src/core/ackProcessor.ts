// Applies a batch of acknowledgements and dead-letter notices to their rows: one read, one conditional bulk write,
// re-read and re-decide on version conflicts. Never regresses a status. Each id gets its own result: a row whose own
// update fails is reported alone, and a failure of the whole store (throttled, unreachable) leaves every id not yet
// written as 'retry' while keeping what was written.
import { OutboxStatus, type Acknowledgement } from '@dataverse-outbox/contract';
import { decideAck } from './acks';
import type { Logger, OperationOptions, OutboxStorePort } from './ports';
import { truncateError, type OutboxRow, type OutboxRowChanges, type RowUpdate } from './row';
import { isRowUpdatesFailedError } from './rowUpdateErrors';
import { describeError } from './errors';
import { startAckSpans } from './ackTracing';

export type NoticeResult = 'applied' | 'recorded-early' | 'ignored' | 'not-found' | 'not-yet-published';

/** What happened to one id. `retry`: not applied now, resend later; `rejected`: Dataverse refused this row's update for good. */
export type NoticeOutcome =
  | { result: NoticeResult }
  | { result: 'retry'; reason: string; retryAfterInMs?: number }
  | { result: 'rejected'; reason: string };

/** Decides per row; returns undefined to leave the row alone. */
type Decide = (row: OutboxRow) => { changes?: OutboxRowChanges; result: NoticeResult };

/** The Retry-After an error carries (Dataverse 429/503), if any: read by shape so the core knows no HTTP types. */
export function retryAfterOf(e: unknown): number | undefined {
  const v = (e as { retryAfterInMs?: unknown } | null | undefined)?.retryAfterInMs;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

async function applyDecisions(store: OutboxStorePort, ids: readonly string[], decide: Decide, logger: Logger, options: OperationOptions): Promise<Map<string, NoticeOutcome>> {
  const results = new Map<string, NoticeOutcome>();
  let pendingIds = [...new Set(ids)];
  const retryAll = (reason: string, retryAfterInMs?: number): void => {
    for (const id of pendingIds) results.set(id, { result: 'retry', reason, retryAfterInMs });
  };
  for (let round = 0; round < 4 && pendingIds.length > 0; round++) {
    let rows: Map<string, OutboxRow>;
    try {
      rows = new Map((await store.readByIds(pendingIds, options)).map((r) => [r.id, r]));
    } catch (e) {
      retryAll(describeError(e), retryAfterOf(e));
      return results;
    }
    const updates: RowUpdate[] = [];
    const decided = new Map<string, NoticeResult>();
    for (const id of pendingIds) {
      const row = rows.get(id);
      if (!row) {
        results.set(id, { result: 'not-found' });
        continue;
      }
      const d = decide(row);
      if (d.changes) {
        updates.push({ id, etag: row.etag, changes: d.changes });
        decided.set(id, d.result);
      } else {
        results.set(id, { result: d.result });
      }
    }
    let conflicts: readonly string[];
    try {
      conflicts = (await store.applyUpdates(updates, options)).conflicts;
    } catch (e) {
      if (!isRowUpdatesFailedError(e)) {
        pendingIds = updates.map((u) => u.id);
        retryAll(describeError(e), retryAfterOf(e));
        return results;
      }
      for (const id of e.written) results.set(id, { result: decided.get(id)! });
      for (const f of e.failures) {
        results.set(f.id, f.permanent ? { result: 'rejected', reason: f.message } : { result: 'retry', reason: f.message, retryAfterInMs: f.retryAfterInMs });
        logger.warn('one row could not take its notice', { rowId: f.id, permanent: f.permanent, error: f.message });
      }
      conflicts = e.conflicts;
    }
    const conflicted = new Set(conflicts);
    for (const [id, result] of decided) if (!conflicted.has(id) && !results.has(id)) results.set(id, { result });
    pendingIds = [...conflicts];
    if (conflicts.length) logger.debug('rows changed while applying notices; deciding again', { rowIds: [...conflicts] });
  }
  retryAll(`row kept changing while applying notices`);
  return results;
}

/** Acknowledgements from obx_AckQueue (outboxIds already normalised GUIDs). Several acks for one row: the first wins. */
export async function applyAcknowledgements(store: OutboxStorePort, acks: readonly Acknowledgement[], logger: Logger, options: OperationOptions = {}): Promise<Map<string, NoticeOutcome>> {
  const byId = new Map<string, Acknowledgement>();
  for (const a of acks) if (!byId.has(a.outboxId)) byId.set(a.outboxId, a);
  const spans = startAckSpans(byId);
  const results = await applyDecisions(
    store,
    [...byId.keys()],
    (row) => {
      spans.rowRead(row.id, row.traceContext);
      const d = decideAck(row, byId.get(row.id)!);
      if (d.kind === 'apply') return { changes: d.changes, result: 'applied' };
      if (d.kind === 'record-early') return { changes: d.changes, result: 'recorded-early' };
      return { result: 'ignored' };
    },
    logger,
    options,
  );
  spans.end(results);
  return results;
}

export interface DeadLetterNotice {
  /** The row id, normalised (bare lower-case GUID). */
  outboxId: string;
  reason?: string;
  description?: string;
  deadLetteredOn: Date;
}

export function deadLetterError(n: Pick<DeadLetterNotice, 'reason' | 'description'>): string {
  return truncateError(`Dead-lettered by Service Bus: ${n.reason ?? 'no reason'}${n.description ? ` - ${n.description}` : ''}`);
}

/**
 * Dead-lettered messages: a Published row becomes DeadLettered with Service Bus's reason. A row not yet marked
 * Published is reported 'not-yet-published' so the caller leaves the dead-lettered message for the next run.
 */
export async function applyDeadLetters(store: OutboxStorePort, notices: readonly DeadLetterNotice[], logger: Logger, options: OperationOptions = {}): Promise<Map<string, NoticeOutcome>> {
  const byId = new Map<string, DeadLetterNotice>();
  for (const n of notices) if (!byId.has(n.outboxId)) byId.set(n.outboxId, n);
  return applyDecisions(
    store,
    [...byId.keys()],
    (row) => {
      const n = byId.get(row.id)!;
      if (row.status === OutboxStatus.Published) return { changes: { status: OutboxStatus.DeadLettered, lastError: deadLetterError(n) }, result: 'applied' };
      if (row.status === OutboxStatus.Pending) return { result: 'not-yet-published' };
      return { result: 'ignored' };
    },
    logger,
    options,
  );
}
