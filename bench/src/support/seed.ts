// Seeds outbox rows directly with CreateMultiple (1,000 rows per request, two requests in flight so that building the
// next body overlaps the emulator's insert). Used for tables of 10 thousand to 1 million rows.
import type { DataverseClient, EntityRecord } from '@dataverse-outbox/publisher-function';
import { randomBytes, randomUUID } from 'node:crypto';
import { formatTraceParent, newTraceParent, OutboxMessage, OutboxStatus, partitionSlotOfRow, type OutboxStatusValue } from '@dataverse-outbox/contract';
import { TARGET } from './world';

const C = OutboxMessage.columns;
export const SEED_BATCH = 1000;

/** A realistic event body (about 300 bytes of JSON). */
export function samplePayload(i: number): string {
  return JSON.stringify({
    schemaVersion: 1,
    opportunityId: `5c1f0c4e-0000-4000-8000-${String(i).padStart(12, '0')}`,
    customer: { id: `a-${i % 5000}`, name: `Customer ${i % 5000}` },
    amount: 1000 + (i % 97) * 13.5,
    currency: 'EUR',
    wonOn: '2026-11-27T09:00:00Z',
    lines: [{ sku: `SKU-${i % 311}`, quantity: 1 + (i % 7) }],
  });
}

/** A keyless row as the producer's writer builds it: its own row id, the partition slot of that id (so seeded rows
 * spread over the publisher partitions as written rows do) and a trace context of its own (the writer starts a trace per
 * commit), so the publisher's figures include the send span's work and the column's bytes. */
export function outboxRecord(prefix: string, i: number, status: OutboxStatusValue, finishedAt?: string): EntityRecord {
  const id = `${prefix}-${i}`;
  const rowId = randomUUID();
  const rec: EntityRecord = {
    [C.id]: rowId,
    [C.partitionSlot]: partitionSlotOfRow({ rowId }),
    [C.name]: `SalesOrderWon opportunity:${id}`,
    [C.messageId]: id,
    [C.target]: TARGET,
    [C.eventType]: 'SalesOrderWon',
    [C.payload]: samplePayload(i),
    [C.contentType]: 'application/json',
    [C.sourceEntity]: 'opportunity',
    [C.traceContext]: formatTraceParent(newTraceParent(undefined, randomBytes)),
    [C.status]: status,
  };
  if (status !== OutboxStatus.Pending) {
    rec[C.attempts] = 1;
    rec[C.publishedOn] = finishedAt ?? new Date().toISOString();
    if (status === OutboxStatus.Acked) rec[C.ackedOn] = finishedAt ?? new Date().toISOString();
  }
  return rec;
}

export interface SeedPlan {
  /** Prefix of obx_messageid (unique per seeding). */
  prefix: string;
  count: number;
  /** Status of row i. */
  status: (i: number) => OutboxStatusValue;
  /** Called after each request with the rows written so far. */
  onProgress?: (done: number) => void;
  /** Requests in flight. Default 2. */
  concurrency?: number;
  /** Adjusts row i before it is sent (e.g. a backoff time). */
  decorate?: (record: EntityRecord, i: number) => void;
}

export interface SeedResult {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  requests: number;
}

export async function seedOutbox(client: DataverseClient, plan: SeedPlan): Promise<SeedResult> {
  const started = performance.now();
  let next = 0;
  let done = 0;
  let requests = 0;
  const finishedAt = new Date().toISOString();
  const worker = async (): Promise<void> => {
    while (next < plan.count) {
      const from = next;
      const to = Math.min(plan.count, from + SEED_BATCH);
      next = to;
      const records: EntityRecord[] = [];
      for (let i = from; i < to; i++) {
        const rec = outboxRecord(plan.prefix, i, plan.status(i), finishedAt);
        plan.decorate?.(rec, i);
        records.push(rec);
      }
      await client.createMultiple(OutboxMessage.entitySetName, OutboxMessage.logicalName, records);
      requests++;
      done += to - from;
      plan.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency ?? 2 }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { rows: plan.count, seconds: round(seconds, 2), rowsPerSecond: Math.round(plan.count / seconds), requests };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
