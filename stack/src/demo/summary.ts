// The demo's final summary, computed from the stores: how many change sets committed, what became of each outbox row,
// whether every good order has exactly one sales order, and end-to-end latency percentiles.
import type { OutboxStatusName } from '@dataverse-outbox/contract';
import type { DemoOrder, DemoProducerResult, OrderKind } from './producer';
import { outOfOrderKeys, terminalStatuses, type ObservedRow, type SalesOrderRow } from './observe';

export interface LatencyStats {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface DemoSummary {
  runId: string;
  correlationId: string;
  orders: number;
  /** Change sets committed (business change + outbox row). */
  sent: number;
  /** Change sets that failed (nothing of them was written). */
  notCommitted: number;
  byKind: Record<OrderKind, number>;
  /** Rows by status now. */
  statuses: Record<OutboxStatusName | 'Unknown', number>;
  /** Rows that reached Service Bus at some point (have obx_publishedon). */
  published: number;
  acked: number;
  failed: number;
  deadLettered: number;
  /** Not yet Acked/Failed/DeadLettered/Cancelled. */
  inFlight: number;
  /** Failed rows by the first words of obx_lasterror. */
  failureReasons: Record<string, number>;
  /** Dead-lettered rows by the first words of obx_lasterror. */
  deadLetterReasons: Record<string, number>;
  /** Rows of this run whose final status has no reason (must be 0). */
  failedWithoutReason: number;
  /** Good orders and their sales orders in the ERP. */
  erp: {
    goodOrders: number;
    withOneSalesOrder: number;
    missing: number;
    duplicated: number;
    fromBadRows: number;
    /** Customers (ordering keys) whose orders were applied out of obx_sequence order: must be empty. */
    outOfOrderKeys: string[];
  };
  /** Commit (producer's change set response) -> sales order written in the ERP (millisecond timestamps). */
  latencyCommitToEffectMs?: LatencyStats;
  /** Commit -> Acked, both from Dataverse (createdon -> obx_ackedon; Dataverse stores whole seconds, so +-1 s). */
  latencyCommitToAckMs?: LatencyStats;
  /** Producer throughput, change sets per second. */
  commitRate: number;
  /** True when every committed row is in a final state. */
  complete: boolean;
}

export function percentiles(values: readonly number[]): LatencyStats | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { count: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1]! };
}

/** The first sentence-ish part of a reason, so "Target "x" is not in obx_AllowedTargets (allowed: ...)" groups. */
export function reasonKey(reason: string): string {
  if (/not in obx_AllowedTargets/i.test(reason)) return 'target not allowed';
  if (/malformed/i.test(reason)) return 'malformed payload';
  if (/too large/i.test(reason)) return 'payload too large';
  if (/expired/i.test(reason)) return 'expired';
  return reason.split(/[.:(]/)[0]!.trim().slice(0, 60) || 'unknown';
}

export function summarise(run: DemoProducerResult, rows: readonly ObservedRow[], erpOrders: readonly SalesOrderRow[]): DemoSummary {
  const salesOrders = new Map<string, number[]>();
  for (const o of erpOrders) salesOrders.set(o.outboxMessageId, [...(salesOrders.get(o.outboxMessageId) ?? []), o.at]);
  const runKeys = new Set(run.orders.map((o) => o.accountId));
  const byMessageId = new Map(rows.map((r) => [r.messageId, r]));
  const committed = run.orders.filter((o) => o.committedAt !== undefined);
  const statuses = { Pending: 0, Published: 0, Acked: 0, Failed: 0, DeadLettered: 0, Cancelled: 0, Unknown: 0 };
  for (const r of rows) statuses[r.status]++;
  const failureReasons: Record<string, number> = {};
  const deadLetterReasons: Record<string, number> = {};
  for (const r of rows) {
    const into = r.status === 'Failed' ? failureReasons : r.status === 'DeadLettered' ? deadLetterReasons : undefined;
    if (!into) continue;
    const k = reasonKey(r.lastError ?? '');
    into[k] = (into[k] ?? 0) + 1;
  }
  const good = committed.filter((o) => o.kind === 'good');
  const count = (o: DemoOrder): number => salesOrders.get(o.messageId)?.length ?? 0;
  const effect: number[] = [];
  const ack: number[] = [];
  for (const o of committed) {
    const times = salesOrders.get(o.messageId);
    if (times?.length) effect.push(Math.max(0, Math.min(...times) - o.committedAt!));
    const row = byMessageId.get(o.messageId);
    if (row?.status === 'Acked' && row.ackedOn !== undefined && row.createdOn !== undefined) ack.push(Math.max(0, row.ackedOn - row.createdOn));
  }
  const byKind = { good: 0, 'target-not-allowed': 0, 'malformed-payload': 0, 'oversize-payload': 0 } as Record<OrderKind, number>;
  for (const o of run.orders) byKind[o.kind]++;
  const seconds = Math.max(0.001, (Math.max(...committed.map((o) => o.committedAt!), run.startedAt) - run.startedAt) / 1000);
  return {
    runId: run.runId,
    correlationId: run.correlationId,
    orders: run.orders.length,
    sent: committed.length,
    notCommitted: run.orders.length - committed.length,
    byKind,
    statuses,
    published: rows.filter((r) => r.publishedOn !== undefined || r.status === 'Published' || r.status === 'Acked').length,
    acked: statuses.Acked,
    failed: statuses.Failed,
    deadLettered: statuses.DeadLettered,
    inFlight: rows.filter((r) => !terminalStatuses.has(r.status)).length,
    failureReasons,
    deadLetterReasons,
    failedWithoutReason: rows.filter((r) => (r.status === 'Failed' || r.status === 'DeadLettered') && !r.lastError?.trim()).length,
    erp: {
      goodOrders: good.length,
      withOneSalesOrder: good.filter((o) => count(o) === 1).length,
      missing: good.filter((o) => count(o) === 0).length,
      duplicated: committed.filter((o) => count(o) > 1).length,
      fromBadRows: committed.filter((o) => o.kind !== 'good' && count(o) > 0).length,
      outOfOrderKeys: outOfOrderKeys(erpOrders).filter((k) => runKeys.has(k)),
    },
    latencyCommitToEffectMs: percentiles(effect),
    latencyCommitToAckMs: percentiles(ack),
    commitRate: committed.length / seconds,
    complete: rows.length >= committed.length && rows.every((r) => terminalStatuses.has(r.status)),
  };
}

const ms = (v: number): string => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const stats = (s: LatencyStats | undefined): string => (s ? `p50 ${ms(s.p50)}  p90 ${ms(s.p90)}  p99 ${ms(s.p99)}  max ${ms(s.max)}  (${s.count} orders)` : 'n/a');

const secondsStats = (s: LatencyStats | undefined): string =>
  s ? `p50 ${s.p50 / 1000} s  p90 ${s.p90 / 1000} s  p99 ${s.p99 / 1000} s  max ${s.max / 1000} s  (${s.count} orders)` : 'n/a';

/** The summary as the demo prints it. */
export function formatSummary(s: DemoSummary): string {
  const bad = s.orders - s.byKind.good;
  const lines = [
    `Demo run ${s.runId} (rows tagged obx_correlationid = ${s.correlationId})`,
    `  Sent        ${s.sent} change sets committed (${s.byKind.good} good orders, ${bad} with a deliberately bad outbox row)${s.notCommitted ? `, ${s.notCommitted} NOT committed (nothing written)` : ''}, ${s.commitRate.toFixed(1)}/s`,
    `  Published   ${s.published}`,
    `  Acked       ${s.acked}`,
    `  Failed      ${s.failed}${Object.keys(s.failureReasons).length ? `  (${Object.entries(s.failureReasons).map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`,
    `  Dead-lettered ${s.deadLettered}${Object.keys(s.deadLetterReasons).length ? `  (${Object.entries(s.deadLetterReasons).map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`,
    ...(s.inFlight ? [`  Still in flight ${s.inFlight} (Pending/Published): the run timed out before they finished`] : []),
    `  ERP         ${s.erp.withOneSalesOrder}/${s.erp.goodOrders} good orders have exactly one sales order` +
      (s.erp.missing ? `, ${s.erp.missing} missing` : '') +
      (s.erp.duplicated ? `, ${s.erp.duplicated} DUPLICATED` : '') +
      (s.erp.fromBadRows ? `, ${s.erp.fromBadRows} from bad rows (unexpected)` : '') +
      (s.erp.outOfOrderKeys.length ? `, ${s.erp.outOfOrderKeys.length} customers OUT OF ORDER` : ', in order per customer'),
    `  Latency     commit -> sales order in ERP:  ${stats(s.latencyCommitToEffectMs)}`,
    `              commit -> Acked in Dataverse:  ${secondsStats(s.latencyCommitToAckMs)}  (createdon -> obx_ackedon; Dataverse keeps whole seconds)`,
  ];
  return lines.join('\n');
}
