// Reads the final state from the stores themselves: every outbox row and every opportunity in the Dataverse emulator,
// the ERP's sales orders, the change-tracking consumer's changes, and Service Bus counts and dead letters.
import { OutboxMessage, OutboxStatus, type OutboxStatusName } from '@dataverse-outbox/contract';
import type { DataverseClient } from '@dataverse-outbox/publisher-function';
import { readSalesOrders, type SalesOrderRow } from '@dataverse-outbox/stack';
import type { ErpSalesDatabaseConfig } from '@dataverse-outbox/consumer/examples/erp-sales';
import { readCtChanges, type CtChange } from './ctStore';
import type { DeadLetteredMessage, DroppedDuplicate, EntitySummary, ServiceBusAdminClient } from '@dataverse-outbox/emulators/admin';
import { readBlockedEffects, type BlockedEffect } from './blockedKey';

const c = OutboxMessage.columns;
const statusNames = new Map<number, OutboxStatusName>(Object.entries(OutboxStatus).map(([k, v]) => [v, k as OutboxStatusName]));

export interface OutboxRowState {
  id: string;
  messageId: string;
  status: OutboxStatusName | 'Unknown';
  lastError: string;
  target: string;
  sessionKey: string;
  attempts: number;
  /** Epoch ms (obx_publishedon), when sent. */
  publishedOn?: number;
  /** Epoch ms (modifiedon): when a Failed row failed, near enough. */
  modifiedOn?: number;
  /** Epoch ms (createdon, whole seconds): the commit, on the same clock family as obx_publishedon. */
  createdOn?: number;
  /** obx_partitionslot (undefined: written without one, published by partition 0). */
  partitionSlot?: number;
}

export interface OpportunityState {
  id: string;
  statecode: number;
  version: number;
}

export interface FinalStores {
  rows: OutboxRowState[];
  opportunities: OpportunityState[];
  salesOrders: SalesOrderRow[];
  ctChanges: CtChange[];
  entities: EntitySummary[];
  deadLetters: Record<string, DeadLetteredMessage[]>;
  /** First deliveries the blocked-key consumer applied, in the order applied. */
  blockedEffects: BlockedEffect[];
  /** Sends each queue with duplicate detection dropped (the emulator's list), per queue. */
  droppedDuplicates?: Record<string, DroppedDuplicate[]>;
}

const epoch = (v: unknown): number | undefined => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? Date.parse(v) : undefined);

export async function readOutboxRows(client: DataverseClient): Promise<OutboxRowState[]> {
  const rows: OutboxRowState[] = [];
  for await (const r of client.listAll(OutboxMessage.entitySetName, {
    select: [c.id, c.messageId, c.status, c.lastError, c.target, c.sessionKey, c.attempts, c.publishedOn, c.modifiedOn, c.createdOn, c.partitionSlot],
    maxPageSize: 5000,
  })) {
    rows.push({
      id: String(r[c.id]),
      messageId: String(r[c.messageId] ?? ''),
      status: statusNames.get(Number(r[c.status])) ?? 'Unknown',
      lastError: typeof r[c.lastError] === 'string' ? (r[c.lastError] as string) : '',
      target: String(r[c.target] ?? ''),
      sessionKey: String(r[c.sessionKey] ?? ''),
      attempts: Number(r[c.attempts] ?? 0),
      publishedOn: epoch(r[c.publishedOn]),
      modifiedOn: epoch(r[c.modifiedOn]),
      createdOn: epoch(r[c.createdOn]),
      ...(typeof r[c.partitionSlot] === 'number' ? { partitionSlot: r[c.partitionSlot] as number } : {}),
    });
  }
  return rows;
}

export async function readOpportunities(client: DataverseClient): Promise<OpportunityState[]> {
  const out: OpportunityState[] = [];
  for await (const r of client.listAll('opportunities', { select: ['opportunityid', 'statecode'], maxPageSize: 5000 })) {
    const etag = typeof r['@odata.etag'] === 'string' ? /"(\d+)"/.exec(r['@odata.etag'])?.[1] : undefined;
    out.push({ id: String(r.opportunityid).toLowerCase(), statecode: Number(r.statecode ?? 0), version: Number(etag ?? NaN) });
  }
  return out;
}

export async function readFinalStores(args: {
  client: DataverseClient;
  erpDatabase: ErpSalesDatabaseConfig;
  ctFile: string;
  blockedFile: string;
  serviceBus: ServiceBusAdminClient;
  queues: readonly string[];
  /** Queues with duplicate detection: their dropped sends are read too. */
  deduplicatedQueues: readonly string[];
}): Promise<FinalStores> {
  const entities = await args.serviceBus.listEntities();
  const deadLetters: Record<string, DeadLetteredMessage[]> = {};
  for (const q of args.queues) deadLetters[q] = await args.serviceBus.peekDeadLetters(q, 100_000);
  const droppedDuplicates: Record<string, DroppedDuplicate[]> = {};
  for (const q of args.deduplicatedQueues) droppedDuplicates[q] = await args.serviceBus.droppedDuplicates(q, 1_000_000);
  return {
    rows: await readOutboxRows(args.client),
    opportunities: await readOpportunities(args.client),
    salesOrders: await readSalesOrders(args.erpDatabase),
    ctChanges: readCtChanges(args.ctFile),
    blockedEffects: readBlockedEffects(args.blockedFile),
    entities,
    deadLetters,
    droppedDuplicates,
  };
}
