// The invariant checks of a chaos run, from the stores alone: what the producers saw is only used to know which change
// sets to look for; every outcome is settled by reading Dataverse (resolveOrders), and every effect by reading the
// consumers' databases. Pure: stores in, violations and figures out.
import { partitionOfSlot } from '@dataverse-outbox/contract';
import { outOfOrderKeys, reasonKey } from '@dataverse-outbox/stack';
import type { AuditSummary } from './audit';
import { CT_QUEUE } from './ctStore';
import type { ChaosOrder } from './producers';
import type { FinalStores } from './stores';
import { checkInjectedFaults, noInjectedFaults, type InjectedFaultFigures, type InjectedFaults } from './faultChecks';
import { auditResends, type ActionWindow, type PublisherEvent, type ResendFigures } from './resends';

export const invariantNames = [
  'nothing-lost',
  'no-rolled-back-work',
  'effect-exactly-once',
  'order-per-key',
  'poison-isolation',
  'no-status-regression',
  'every-row-final',
  'service-bus-drained',
  'dead-letters-explained',
  'no-head-of-line-blocking',
  'partitions-move',
  'no-unexplained-resend',
] as const;
export type InvariantName = (typeof invariantNames)[number];

/** Spec invariant each check stands for (outbox-spec.md), for the report. */
export const invariantTitles: Record<InvariantName, string> = {
  'nothing-lost': '1. every committed order has its effect (outbox: one sales order; change tracking: the final version applied)',
  'no-rolled-back-work': '2. a change set that failed left nothing: no business change, no outbox row, no effect',
  'effect-exactly-once': '3. no effect applied twice, whatever was redelivered',
  'order-per-key': '4. per key (customer / record) effects applied in obx_sequence / row-version order',
  'poison-isolation': '5. every poison row ends Failed or DeadLettered with a reason and has no effect; every poison acknowledgement is dead-lettered alone with its reason',
  'no-status-regression': '6. no status moved backwards (audit of observed transitions)',
  'every-row-final': '1/7. every outbox row Acked, or Failed/DeadLettered with a reason, none left Pending or Published',
  'service-bus-drained': 'no message left active, locked, deferred or scheduled in Service Bus',
  'dead-letters-explained': 'every dead letter accounted for (a poison row, a poison message the run injected, a consumer rejection recorded on its row)',
  'no-head-of-line-blocking': "4/5. a blocked key or a bad row holds back only its own key: other keys' latency not hurt",
  'partitions-move': "a killed publisher's partitions are taken over by the live publishers within lease + standby poll + 2.5 s",
  'no-unexplained-resend': 'the publisher sends a row again only after a kill, a pause, a lost lease, an outage, a send it saw fail or an outcome it could not write (every send dropped by duplicate detection explained)',
};

export interface Violation {
  invariant: InvariantName;
  flow: 'outbox' | 'change-tracking';
  message: string;
  count: number;
  examples: string[];
}

export interface CheckFigures {
  outbox: {
    changeSets: number;
    committed: number;
    rolledBack: number;
    /** The producer saw a failure but the change set had committed (response lost): settled by reading the store. */
    ambiguousCommitted: number;
    /** The producer saw a failure and the store confirms nothing was written. */
    failedAndRolledBack: number;
    deliberateRollbacks: number;
    goodOrders: number;
    effects: number;
    poisonRows: number;
    rowsByStatus: Record<string, number>;
    failureReasons: Record<string, number>;
    /** Rows whose effect is there but whose acknowledgement never arrived (consumer killed between complete and ack). */
    acksLost: number;
    /** Good orders' commit-to-publish (createdon -> obx_publishedon, whole seconds) per partition: a stalled lane shows here. */
    latencyByPartition: PartitionLatency[];
  };
  changeTracking: {
    changeSets: number;
    committed: number;
    rolledBack: number;
    ambiguousCommitted: number;
    deliberateRollbacks: number;
    opportunities: number;
    changesApplied: number;
  };
  serviceBus: { entity: string; active: number; locked: number; deadLettered: number }[];
  injected: InjectedFaultFigures;
  /** The duplicate-send audit (when the stores carry the dropped duplicates). */
  resends?: ResendFigures;
}

/** What the run's own logs say, for the duplicate-send audit. */
export interface RunEvidence {
  publisherEvents: readonly PublisherEvent[];
  actions: readonly ActionWindow[];
  /** The queues the outbox publisher sends to. */
  publisherTargets: readonly string[];
}

export interface PartitionLatency {
  partition: number;
  rows: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
}

export interface CheckResult {
  ok: boolean;
  violations: Violation[];
  figures: CheckFigures;
}

const EXAMPLES = 8;

/** Settles every order's outcome from the store: committed, rolled back, or partial (a broken change set). */
export function resolveOrders(orders: ChaosOrder[], stores: Pick<FinalStores, 'rows' | 'opportunities'>): void {
  const rows = new Set(stores.rows.map((r) => r.messageId.toLowerCase()));
  const won = new Map(stores.opportunities.map((o) => [o.id, o.statecode === 1]));
  for (const o of orders) {
    const isWon = o.opportunityId ? won.get(o.opportunityId.toLowerCase()) === true : undefined;
    if (o.flow === 'change-tracking') o.resolved = isWon ? 'committed' : 'rolled-back';
    else {
      const hasRow = o.messageId ? rows.has(o.messageId.toLowerCase()) : false;
      if (isWon === undefined) o.resolved = hasRow ? 'committed' : 'rolled-back';
      else o.resolved = hasRow && isWon ? 'committed' : !hasRow && !isWon ? 'rolled-back' : 'partial';
    }
  }
}

class Violations {
  readonly list: Violation[] = [];
  add(invariant: InvariantName, flow: Violation['flow'], message: string, items: readonly string[]): void {
    if (items.length === 0) return;
    this.list.push({ invariant, flow, message, count: items.length, examples: items.slice(0, EXAMPLES) });
  }
}

const isFinalWithReason = (status: string, reason: string): boolean =>
  status === 'Acked' || status === 'Cancelled' || ((status === 'Failed' || status === 'DeadLettered') && reason.trim() !== '');

export function checkInvariants(orders: ChaosOrder[], stores: FinalStores, audit: AuditSummary, injected: InjectedFaults = noInjectedFaults, evidence?: RunEvidence): CheckResult {
  resolveOrders(orders, stores);
  const v = new Violations();
  const rowByMessageId = new Map(stores.rows.map((r) => [r.messageId.toLowerCase(), r]));
  const effects = new Map<string, number>();
  for (const s of stores.salesOrders) effects.set(s.outboxMessageId.toLowerCase(), (effects.get(s.outboxMessageId.toLowerCase()) ?? 0) + 1);
  const effectsOf = (o: ChaosOrder): number => (o.messageId ? (effects.get(o.messageId.toLowerCase()) ?? 0) : 0);

  // ---- outbox flow
  const outbox = orders.filter((o) => o.flow === 'outbox');
  v.add('no-rolled-back-work', 'outbox', 'change set only partly committed (business change without outbox row or the reverse)', outbox.filter((o) => o.resolved === 'partial').map((o) => `${o.kind} ${o.messageId} (producer saw ${o.seen}${o.error ? `: ${o.error}` : ''})`));
  v.add('no-rolled-back-work', 'outbox', 'a change set that had to fail (404 inside it) committed', outbox.filter((o) => o.kind === 'rollback' && o.resolved !== 'rolled-back').map((o) => `${o.messageId}`));
  v.add('nothing-lost', 'outbox', 'the producer was told "committed" but the store has nothing of the change set', outbox.filter((o) => o.seen === 'committed' && o.resolved === 'rolled-back').map((o) => `${o.kind} ${o.messageId}`));
  v.add('no-rolled-back-work', 'outbox', 'effect in the ERP for a change set that rolled back', outbox.filter((o) => o.resolved !== 'committed' && effectsOf(o) > 0).map((o) => `${o.kind} ${o.messageId}: ${effectsOf(o)} sales order(s)`));

  const committed = outbox.filter((o) => o.resolved === 'committed');
  const good = committed.filter((o) => o.kind === 'good');
  // Rows that must have exactly one ERP effect: good orders, and the good rows written behind a whitespace target.
  const needEffect = committed.filter((o) => o.kind === 'good' || o.kind === 'whitespace-follower');
  const rowOf = (o: ChaosOrder) => (o.messageId ? rowByMessageId.get(o.messageId.toLowerCase()) : undefined);
  v.add('nothing-lost', 'outbox', 'committed order without a sales order in the ERP', needEffect.filter((o) => effectsOf(o) === 0).map((o) => `${o.messageId}: row ${rowOf(o)?.status ?? 'missing'}${rowOf(o)?.lastError ? ` (${rowOf(o)!.lastError.slice(0, 120)})` : ''}`));
  v.add('effect-exactly-once', 'outbox', 'order applied more than once in the ERP', committed.filter((o) => effectsOf(o) > 1).map((o) => `${o.messageId}: ${effectsOf(o)} sales orders`));
  const poisonKinds = new Set(['target-not-allowed', 'malformed-payload', 'oversize-payload', 'consumer-poison']);
  const poison = committed.filter((o) => poisonKinds.has(o.kind));
  v.add(
    'poison-isolation',
    'outbox',
    'poison row not Failed/DeadLettered with a reason, or with an effect',
    poison
      .filter((o) => {
        const r = rowOf(o);
        const expected = o.kind === 'consumer-poison' ? 'DeadLettered' : 'Failed';
        return !r || r.status !== expected || r.lastError.trim() === '' || effectsOf(o) > 0;
      })
      .map((o) => `${o.kind} ${o.messageId}: ${rowOf(o)?.status ?? 'no row'} "${rowOf(o)?.lastError.slice(0, 100) ?? ''}", ${effectsOf(o)} effect(s)`),
  );
  const known = new Set(outbox.map((o) => o.messageId?.toLowerCase()));
  v.add('effect-exactly-once', 'outbox', 'sales order for a message no producer wrote', [...effects.keys()].filter((id) => !known.has(id)));

  // Every row in the table: final, with a reason when it failed. Published is not final here: the consumer records
  // which acknowledgements it sent and sends lost ones again, so every processed row must end Acked.
  let acksLost = 0;
  const notFinal: string[] = [];
  for (const r of stores.rows) {
    if (isFinalWithReason(r.status, r.lastError)) continue;
    const effectPresent = r.status === 'Published' && (effects.get(r.messageId.toLowerCase()) ?? 0) === 1;
    if (effectPresent) acksLost++;
    notFinal.push(`${r.messageId}: ${r.status}${effectPresent ? ' with its effect present (acknowledgement never applied)' : ''}${r.lastError ? ` (${r.lastError.slice(0, 120)})` : ''}, ${r.attempts} attempt(s)`);
  }
  v.add('every-row-final', 'outbox', 'outbox row not Acked nor Failed/DeadLettered with a reason after quiescence', notFinal);
  v.add('order-per-key', 'outbox', 'customer whose sales orders were applied out of obx_sequence order', outOfOrderKeys(stores.salesOrders));
  v.add('no-status-regression', 'outbox', 'status move the engine may not make', audit.regressions.map((r) => `${r.messageId}: ${r.from} -> ${r.to} (seen ${r.at})`));

  // ---- change-tracking flow
  const ct = orders.filter((o) => o.flow === 'change-tracking');
  v.add('nothing-lost', 'change-tracking', 'the producer was told "committed" but the opportunity is not won', ct.filter((o) => o.seen === 'committed' && o.resolved !== 'committed').map((o) => `${o.kind} ${o.opportunityId}`));
  v.add('no-rolled-back-work', 'change-tracking', 'a change set that had to fail (404 inside it) committed', ct.filter((o) => o.kind === 'ct-rollback' && o.resolved === 'committed').map((o) => `${o.opportunityId}`));
  const changesByOpp = new Map<string, { version: number; statecode: number | null; messageId: string }[]>();
  const ctCount = new Map<string, number>();
  for (const ch of stores.ctChanges) {
    const list = changesByOpp.get(ch.opportunityId) ?? [];
    list.push(ch);
    changesByOpp.set(ch.opportunityId, list);
    ctCount.set(ch.messageId, (ctCount.get(ch.messageId) ?? 0) + 1);
  }
  v.add(
    'no-rolled-back-work',
    'change-tracking',
    'change-tracking consumer applied a Won state of an opportunity whose win rolled back',
    ct.filter((o) => o.resolved !== 'committed' && (changesByOpp.get(o.opportunityId!.toLowerCase()) ?? []).some((c) => c.statecode === 1)).map((o) => `${o.opportunityId}`),
  );
  v.add(
    'nothing-lost',
    'change-tracking',
    "opportunity whose final version never reached the change-tracking consumer",
    stores.opportunities.filter((o) => !(changesByOpp.get(o.id) ?? []).some((c) => c.version === o.version)).map((o) => `${o.id} v${o.version} (applied: ${(changesByOpp.get(o.id) ?? []).map((c) => c.version).join(', ') || 'none'})`),
  );
  v.add('effect-exactly-once', 'change-tracking', 'change applied more than once', [...ctCount].filter(([, n]) => n > 1).map(([id, n]) => `${id}: ${n} times`));
  v.add(
    'order-per-key',
    'change-tracking',
    'record whose versions were applied out of order',
    [...changesByOpp].filter(([, list]) => list.some((c, i) => i > 0 && c.version <= list[i - 1]!.version)).map(([id, list]) => `${id}: ${list.map((c) => c.version).join(' -> ')}`),
  );
  const oppIds = new Set(stores.opportunities.map((o) => o.id));
  v.add('effect-exactly-once', 'change-tracking', 'change applied for an opportunity that does not exist', [...changesByOpp.keys()].filter((id) => !oppIds.has(id)));

  // ---- Service Bus
  const serviceBus: CheckFigures['serviceBus'] = [];
  for (const e of stores.entities) {
    serviceBus.push({ entity: e.name, active: e.activeMessageCount, locked: e.lockedMessageCount, deadLettered: e.deadLetterMessageCount });
    const left = e.activeMessageCount + e.lockedMessageCount + e.deferredMessageCount + e.scheduledMessageCount;
    if (left > 0) v.add('service-bus-drained', e.name === CT_QUEUE ? 'change-tracking' : 'outbox', `messages left in ${e.name}`, [`${e.activeMessageCount} active, ${e.lockedMessageCount} locked, ${e.deferredMessageCount} deferred, ${e.scheduledMessageCount} scheduled`]);
  }
  let resends: ResendFigures | undefined;
  if (stores.droppedDuplicates && evidence) {
    const r = auditResends({ dropped: stores.droppedDuplicates, publisherTargets: evidence.publisherTargets, rows: stores.rows, events: evidence.publisherEvents, actions: evidence.actions });
    resends = r.figures;
    v.add('no-unexplained-resend', 'outbox', 'outbox row sent to Service Bus again with nothing to explain it (duplicate detection dropped the copy)', r.unexplained);
  }
  const injectedFigures = checkInjectedFaults({ committed, stores, rowOf, erpEffectsOf: effectsOf, injected, add: (invariant, flow, message, items) => v.add(invariant, flow, message, items) });

  const rowsByStatus: Record<string, number> = {};
  const failureReasons: Record<string, number> = {};
  for (const r of stores.rows) {
    rowsByStatus[r.status] = (rowsByStatus[r.status] ?? 0) + 1;
    if (r.status === 'Failed' || r.status === 'DeadLettered') failureReasons[reasonKey(r.lastError)] = (failureReasons[reasonKey(r.lastError)] ?? 0) + 1;
  }
  const ctCommitted = ct.filter((o) => o.resolved === 'committed');
  const count = injected.partitions ?? 1;
  const waits = new Map<number, number[]>();
  for (const o of good) {
    const r = rowOf(o);
    if (r?.publishedOn === undefined || r.createdOn === undefined) continue;
    const p = r.partitionSlot === undefined ? 0 : partitionOfSlot(r.partitionSlot, count);
    waits.set(p, [...(waits.get(p) ?? []), r.publishedOn - r.createdOn]);
  }
  const latencyByPartition = [...waits]
    .sort((a, b) => a[0] - b[0])
    .map(([partition, list]): PartitionLatency => {
      const sorted = [...list].sort((a, b) => a - b);
      const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
      return { partition, rows: sorted.length, medianMs: at(0.5), p90Ms: at(0.9), maxMs: sorted[sorted.length - 1]! };
    });
  return {
    ok: v.list.length === 0,
    violations: v.list,
    figures: {
      outbox: {
        // The blocked-key fault's rows behind the head are written in bulk, not as change sets: counted apart.
        changeSets: outbox.filter((o) => o.kind !== 'blocked-follower').length,
        committed: committed.filter((o) => o.kind !== 'blocked-follower').length,
        rolledBack: outbox.filter((o) => o.resolved === 'rolled-back').length,
        ambiguousCommitted: committed.filter((o) => o.seen === 'failed').length,
        failedAndRolledBack: outbox.filter((o) => o.seen === 'failed' && o.resolved === 'rolled-back' && o.kind !== 'rollback').length,
        deliberateRollbacks: outbox.filter((o) => o.kind === 'rollback').length,
        goodOrders: good.length,
        effects: stores.salesOrders.length,
        poisonRows: poison.length,
        rowsByStatus,
        failureReasons,
        acksLost,
        latencyByPartition,
      },
      changeTracking: {
        changeSets: ct.length,
        committed: ctCommitted.length,
        rolledBack: ct.length - ctCommitted.length,
        ambiguousCommitted: ctCommitted.filter((o) => o.seen === 'failed').length,
        deliberateRollbacks: ct.filter((o) => o.kind === 'ct-rollback').length,
        opportunities: stores.opportunities.length,
        changesApplied: stores.ctChanges.length,
      },
      serviceBus,
      injected: injectedFigures,
      ...(resends ? { resends } : {}),
    },
  };
}
