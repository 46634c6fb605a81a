// Applies a batch of acknowledgements and dead-letter notices to their rows: one read, one conditional bulk write,
// re-read and re-decide on version conflicts. Never regresses a status.
import { OutboxStatus } from '@dataverse-outbox/solution';
import { decideAck, type Acknowledgement } from './acks';
import type { Logger, OperationOptions, OutboxStorePort } from './ports';
import { truncateError, type OutboxRow, type OutboxRowChanges, type RowUpdate } from './row';

export type NoticeResult = 'applied' | 'recorded-early' | 'ignored' | 'not-found' | 'not-yet-published';

/** Decides per row; returns undefined to leave the row alone. */
type Decide = (row: OutboxRow) => { changes?: OutboxRowChanges; result: NoticeResult };

async function applyDecisions(store: OutboxStorePort, ids: readonly string[], decide: Decide, logger: Logger, options: OperationOptions): Promise<Map<string, NoticeResult>> {
  const results = new Map<string, NoticeResult>();
  let pendingIds = [...new Set(ids)];
  for (let round = 0; round < 4 && pendingIds.length > 0; round++) {
    const rows = new Map((await store.readByIds(pendingIds, options)).map((r) => [r.id, r]));
    const updates: RowUpdate[] = [];
    for (const id of pendingIds) {
      const row = rows.get(id);
      if (!row) {
        results.set(id, 'not-found');
        continue;
      }
      const d = decide(row);
      results.set(id, d.result);
      if (d.changes) updates.push({ id, etag: row.etag, changes: d.changes });
    }
    const { conflicts } = await store.applyUpdates(updates, options);
    pendingIds = conflicts;
    if (conflicts.length) logger.debug('rows changed while applying notices; deciding again', { rowIds: conflicts });
  }
  if (pendingIds.length > 0) throw new Error(`${pendingIds.length} row(s) kept changing while applying acknowledgements`);
  return results;
}

/** Acknowledgements from obx_AckQueue. Several acks for one row: the first wins. */
export async function applyAcknowledgements(store: OutboxStorePort, acks: readonly Acknowledgement[], logger: Logger, options: OperationOptions = {}): Promise<Map<string, NoticeResult>> {
  const byId = new Map<string, Acknowledgement>();
  for (const a of acks) if (!byId.has(a.outboxId)) byId.set(a.outboxId, a);
  return applyDecisions(
    store,
    [...byId.keys()],
    (row) => {
      const d = decideAck(row, byId.get(row.id)!);
      if (d.kind === 'apply') return { changes: d.changes, result: 'applied' };
      if (d.kind === 'record-early') return { changes: d.changes, result: 'recorded-early' };
      return { result: 'ignored' };
    },
    logger,
    options,
  );
}

export interface DeadLetterNotice {
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
export async function applyDeadLetters(store: OutboxStorePort, notices: readonly DeadLetterNotice[], logger: Logger, options: OperationOptions = {}): Promise<Map<string, NoticeResult>> {
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
