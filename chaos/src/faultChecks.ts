// The checks of the poison and blocking fault kinds (issue 17), from the stores and what the run injected: every dead
// letter accounted for, every poison acknowledgement dead-lettered alone with the expected reason, deep payloads Failed
// with a depth reason, whitespace targets published to the trimmed entity or Failed with a clear reason without holding
// their key, and a blocked key that neither loses its order nor slows the other keys. Pure: stores in, violations out.
import { partitionOfSlot } from '@dataverse-outbox/contract';
import { outOfOrderKeys } from '@dataverse-outbox/stack';
import { CT_QUEUE } from './ctStore';
import type { DeadLetteredMessage } from '@dataverse-outbox/emulators/admin';
import type { BlockedKeyWindow, ChaosOrder } from './producers';
import type { FinalStores, OutboxRowState } from './stores';
import { isInjectedDeadLetter, type InjectedAck, type InjectedDeadLetter } from './serviceBusInjector';

/** A kill-partition-holder action: the publisher holding the most partitions killed, and how fast they moved. */
export interface PartitionMove {
  /** Ms after the chaos phase started. */
  at: number;
  victim: string;
  /** The partitions it held (indexes of `count`). */
  partitions: number[];
  count: number;
  /** Publishers running when it was killed (0: nobody to take over, nothing to check). */
  survivors: number;
  /** Lease duration + standby poll + margin: the partitions must be held by live publishers within it. */
  boundMs: number;
  /** When the victim's last lease row (partitions and membership) ran out, after the kill. */
  leaseEndedAfterMs?: number;
  /** Until every partition it held was held by a live publisher (undefined: not seen within three bounds). */
  movedAfterMs?: number;
  /** Partition -> the publisher that took it. */
  takenBy: Record<number, string>;
  /** Dataverse faults that struck while its partitions were free: taking a lease may have had to wait for them. */
  faultsDuring: string[];
}

/** What the run put into the system beside the producers' rows. */
export interface InjectedFaults {
  acks: readonly InjectedAck[];
  deadLetters: readonly InjectedDeadLetter[];
  blockedWindows: readonly BlockedKeyWindow[];
  partitionMoves?: readonly PartitionMove[];
  /** The scope's partition count (default 1). */
  partitions?: number;
}

export const noInjectedFaults: InjectedFaults = { acks: [], deadLetters: [], blockedWindows: [] };

/** The reasons a dead letter the run put on the target queue can carry (expired by the broker, or refused by the ERP). */
const injectedDeadLetterReasons = new Set(['TTLExpiredException', 'ValidationFailed']);

/** A key waiting longer than this behind a whitespace target is "blocked for long" (the bug: 15 minutes of retries). */
export const KEY_WAIT_LIMIT_MS = 60_000;

export interface LatencyFigures {
  rows: number;
  medianMs: number;
  p90Ms: number;
}

export interface BlockedKeyFigures {
  sessionKey: string;
  rows: number;
  headStatus: string;
  headAttempts: number;
  /** From the head row's commit to its publish. */
  blockedMs?: number;
  /** The partition that publishes the key (rows without a slot: partition 0). */
  partition: number;
  /** Commit-to-publish (createdon -> obx_publishedon) of the other keys' good orders of that partition committed while the key was blocked. */
  otherKeys: LatencyFigures;
  /** The same for the other partitions' keys (reported, not judged: another lane cannot wait behind this key). */
  otherPartitions?: LatencyFigures;
}

export interface PartitionMoveFigures {
  /** Kills of a partition holder with another publisher running. */
  kills: number;
  /** Of them, moves seen within the bound. */
  inTime: number;
  /** Late, but while a Dataverse fault struck (reported, not a violation). */
  lateDuringDataverseFault: number;
  medianMs?: number;
  maxMs?: number;
  boundMs?: number;
}

export interface InjectedFaultFigures {
  poisonAcks: { sent: number; deadLetteredAsExpected: number; byReason: Record<string, number> };
  goodAcksSent: number;
  poisonDeadLetters: { sent: number; stillInQueue: number };
  deepNesting: { rows: number; failedWithDepthReason: number };
  whitespaceTargets: { rows: number; published: number; failed: number; longestFollowerWaitMs?: number };
  blockedKeys: BlockedKeyFigures[];
  /** Commit-to-publish of good orders committed while no key was blocked (the baseline). */
  unblockedLatency: LatencyFigures;
  partitionMoves?: PartitionMoveFigures;
}

type Add = (invariant: 'nothing-lost' | 'effect-exactly-once' | 'order-per-key' | 'poison-isolation' | 'dead-letters-explained' | 'no-head-of-line-blocking' | 'partitions-move', flow: 'outbox' | 'change-tracking', message: string, items: readonly string[]) => void;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function latency(values: number[]): LatencyFigures {
  const sorted = [...values].sort((a, b) => a - b);
  return { rows: sorted.length, medianMs: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9) };
}

/** outboxId of an acknowledgement's body, when it has one. */
/** The row ids a dead-lettered ack names: its own, or each element's for an acknowledgement batch (a JSON array). */
function ackOutboxIds(d: DeadLetteredMessage): string[] {
  const items: unknown[] = Array.isArray(d.body) ? d.body : [d.body];
  return items.flatMap((b) => {
    const id = b && typeof b === 'object' ? (b as { outboxId?: unknown }).outboxId : undefined;
    return typeof id === 'string' ? [id.toLowerCase()] : [];
  });
}

export function checkInjectedFaults(args: {
  committed: readonly ChaosOrder[];
  stores: FinalStores;
  rowOf: (o: ChaosOrder) => OutboxRowState | undefined;
  erpEffectsOf: (o: ChaosOrder) => number;
  injected: InjectedFaults;
  add: Add;
}): InjectedFaultFigures {
  const { committed, stores, rowOf, erpEffectsOf, injected, add } = args;
  const of = (kind: ChaosOrder['kind']): ChaosOrder[] => committed.filter((o) => o.kind === kind);
  const describe = (o: ChaosOrder): string => `${o.messageId}: ${rowOf(o)?.status ?? 'no row'} "${rowOf(o)?.lastError.slice(0, 100) ?? ''}"`;

  // ---- dead letters: every one accounted for
  const consumerPoison = new Set(of('consumer-poison').map((o) => o.messageId!.toLowerCase()));
  const rowMessageIds = new Set(stores.rows.map((r) => r.messageId.toLowerCase()));
  const injectedAcks = new Map(injected.acks.map((a) => [a.messageId, a]));
  const injectedDeadLetterIds = new Set(injected.deadLetters.flatMap((d) => (d.outboxId ? [d.outboxId.toLowerCase()] : [])));
  const byReason: Record<string, number> = {};
  const foundPoisonAcks = new Set<string>();
  let stillInQueue = 0;
  for (const [entity, list] of Object.entries(stores.deadLetters)) {
    const flow = entity === CT_QUEUE ? 'change-tracking' : 'outbox';
    const unexplained: string[] = [];
    const unrecorded: string[] = [];
    const wrongReason: string[] = [];
    for (const d of list) {
      const line = `${d.messageId ?? '(no messageId)'}: ${d.deadLetterReason ?? 'no reason'} ${d.deadLetterErrorDescription ?? ''}`.trim().slice(0, 300);
      if (entity === 'outbox-acks') {
        const mine = d.messageId ? injectedAcks.get(d.messageId) : undefined;
        if (mine && mine.kind !== 'good') {
          foundPoisonAcks.add(mine.messageId);
          byReason[d.deadLetterReason ?? 'none'] = (byReason[d.deadLetterReason ?? 'none'] ?? 0) + 1;
          if (d.deadLetterReason !== mine.expectedReason) wrongReason.push(`${mine.kind} (${mine.what}): ${line}, expected ${mine.expectedReason}`);
        } else if (!mine && ackOutboxIds(d).some((id) => injectedDeadLetterIds.has(id))) {
          // The ERP consumer took one of the run's poison dead letters before it expired and acknowledged its bad id
          // (alone, or in a batch of acks: the batch is dead-lettered after its good acks were applied).
        } else unexplained.push(`${mine ? `${mine.what}: ` : ''}${line}`);
        continue;
      }
      if (entity === 'erp-sales' && isInjectedDeadLetter(d.messageId)) {
        stillInQueue++;
        if (!injectedDeadLetterReasons.has(d.deadLetterReason ?? '')) unexplained.push(line);
        continue;
      }
      const id = d.messageId?.replace(/#r\d+$/, '').toLowerCase();
      if (entity === 'erp-sales' && id && rowMessageIds.has(id)) {
        // An outbox row's dead letter: the dead-letter monitor records it on the row, then takes it out of the queue.
        unrecorded.push(`${line}${consumerPoison.has(id) ? ' (a consumer rejection)' : ''}`);
        continue;
      }
      unexplained.push(line);
    }
    add('dead-letters-explained', flow, `dead-lettered in ${entity} without explanation (not a poison row, nor a poison message the run injected)`, unexplained);
    add('dead-letters-explained', flow, `outbox row's dead letter left in ${entity}: the dead-letter monitor never recorded it`, unrecorded);
    add('poison-isolation', flow, `poison acknowledgement dead-lettered with the wrong reason`, wrongReason);
  }
  const poisonAcks = injected.acks.filter((a) => a.kind !== 'good');
  const foundDeadLetters = new Set((stores.deadLetters['erp-sales'] ?? []).map((d) => d.messageId));
  add(
    'poison-isolation',
    'outbox',
    'poison dead letter the run put on erp-sales no longer in its dead-letter queue (the monitor must set it aside, not drop it)',
    injected.deadLetters.filter((d) => d.confirmed && !foundDeadLetters.has(d.messageId)).map((d) => `${d.kind} (${d.what}): ${d.messageId}`),
  );
  add(
    'poison-isolation',
    'outbox',
    'poison acknowledgement the run sent not found dead-lettered (completed silently, or lost)',
    poisonAcks.filter((a) => a.confirmed && !foundPoisonAcks.has(a.messageId)).map((a) => `${a.kind} (${a.what}): ${a.messageId}`),
  );

  // ---- deep payloads: Failed with a depth reason, no effect
  const deep = of('deep-nesting');
  const depthReason = (r?: OutboxRowState): boolean => r?.status === 'Failed' && /depth|nest/i.test(r.lastError);
  add('poison-isolation', 'outbox', 'deeply nested payload not Failed with a depth reason (or with an effect)', deep.filter((o) => !depthReason(rowOf(o)) || erpEffectsOf(o) > 0).map(describe));

  // ---- whitespace targets: published to the trimmed entity, or Failed naming the target; the key behind it flows
  const ws = of('whitespace-target');
  const wsBad = ws.filter((o) => {
    const r = rowOf(o);
    if (r?.status === 'Acked') return erpEffectsOf(o) !== 1;
    return !(r?.status === 'Failed' && /target/i.test(r.lastError) && !/does not exist/i.test(r.lastError) && erpEffectsOf(o) === 0);
  });
  add('poison-isolation', 'outbox', 'whitespace target neither published to the trimmed entity nor Failed with a clear reason', wsBad.map((o) => `${JSON.stringify(o.target)} ${describe(o)}, ${erpEffectsOf(o)} effect(s)`));
  const followerWaits: number[] = [];
  const slowFollowers: string[] = [];
  for (const o of of('whitespace-follower')) {
    const r = rowOf(o);
    const from = r?.createdOn ?? o.committedAt;
    if (r?.publishedOn === undefined || from === undefined) continue;
    const wait = r.publishedOn - from;
    followerWaits.push(wait);
    if (wait > KEY_WAIT_LIMIT_MS) slowFollowers.push(`${o.messageId}: published ${(wait / 1000).toFixed(1)} s after its commit`);
  }
  add('no-head-of-line-blocking', 'outbox', `row behind a whitespace target waited more than ${KEY_WAIT_LIMIT_MS / 1000} s`, slowFollowers);

  // ---- blocked keys: every row once, in order; other keys not slowed
  const blockedRows = [...of('blocked-head'), ...of('blocked-follower')];
  const blockedCount = new Map<string, number>();
  for (const e of stores.blockedEffects) blockedCount.set(e.messageId.toLowerCase(), (blockedCount.get(e.messageId.toLowerCase()) ?? 0) + 1);
  const countOf = (o: ChaosOrder): number => blockedCount.get(o.messageId!.toLowerCase()) ?? 0;
  add('nothing-lost', 'outbox', 'blocked-key row never reached its consumer', blockedRows.filter((o) => countOf(o) === 0).map((o) => `${o.messageId}: ${rowOf(o)?.status ?? 'no row'}`));
  add('effect-exactly-once', 'outbox', 'blocked-key row applied more than once', blockedRows.filter((o) => countOf(o) > 1).map((o) => `${o.messageId}: ${countOf(o)} times`));
  add(
    'order-per-key',
    'outbox',
    'blocked key whose rows were applied out of obx_sequence order',
    outOfOrderKeys(stores.blockedEffects.map((e) => ({ outboxMessageId: e.messageId, at: 0, sessionKey: e.sessionKey, sequence: e.sequence }))),
  );

  // Commit-to-publish from the store's own times (createdon -> obx_publishedon, both whole seconds), never the producer's
  // clock: a producer may see its commit after the publisher has already sent the row.
  const count = injected.partitions ?? 1;
  const partitionOf = (r: OutboxRowState | undefined): number => (r?.partitionSlot === undefined ? 0 : partitionOfSlot(r.partitionSlot, count));
  const goodLatency = of('good').flatMap((o) => {
    const r = rowOf(o);
    return r?.publishedOn !== undefined && r.createdOn !== undefined ? [{ at: r.createdOn, ms: r.publishedOn - r.createdOn, partition: partitionOf(r) }] : [];
  });
  const windows = injected.blockedWindows.map((w) => {
    const head = stores.rows.find((r) => r.messageId.toLowerCase() === w.headMessageId.toLowerCase());
    const start = head?.createdOn ?? w.startedAt;
    return { w, head, start, end: head?.publishedOn ?? Math.max(w.refusalEndsAt, start) };
  });
  const inAnyWindow = (at: number): boolean => windows.some(({ start, end }) => at >= start && at <= end);
  const unblockedLatency = latency(goodLatency.filter((g) => !inAnyWindow(g.at)).map((g) => g.ms));
  const blockedKeys: BlockedKeyFigures[] = [];
  const slowed: string[] = [];
  for (const { w, head, start, end } of windows) {
    // Only the blocked key's own partition can wait behind it: each partition is a lane of its own. A lane of another
    // partition stalled by other faults meanwhile (a publisher paused while Service Bus dropped its connection, then
    // handed a partition) says nothing about the blocked key, so its keys are reported apart, not judged. A blocked key
    // that stalled something every lane shares (the Service Bus client) slows its own partition too, and is caught there.
    const partition = partitionOf(head);
    const during = goodLatency.filter((g) => g.at >= start && g.at <= end);
    const otherKeys = latency(during.filter((g) => g.partition === partition).map((g) => g.ms));
    const otherPartitions = count > 1 ? latency(during.filter((g) => g.partition !== partition).map((g) => g.ms)) : undefined;
    blockedKeys.push({
      sessionKey: w.sessionKey,
      rows: w.rows,
      headStatus: head?.status ?? 'no row',
      headAttempts: head?.attempts ?? 0,
      blockedMs: head?.publishedOn !== undefined ? head.publishedOn - start : undefined,
      partition,
      otherKeys,
      ...(otherPartitions ? { otherPartitions } : {}),
    });
    // The typical order of another key during the block must wait no longer than the slowest tenth of the orders
    // committed while no key was blocked, plus 5 s. The other faults go on during the window (a publisher or Dataverse
    // killed in it delays every key alike), so a tighter bound would judge the chaos, not the blocked key; the bug this
    // catches made other keys wait for most of the block (over a minute behind 10,000 rows).
    if (otherKeys.rows >= 10 && unblockedLatency.rows >= 10 && otherKeys.medianMs > unblockedLatency.p90Ms + 5000) {
      slowed.push(`${w.sessionKey} (${w.rows} rows, partition ${partition}): other keys' median commit-to-publish ${otherKeys.medianMs} ms over ${otherKeys.rows} orders, p90 ${unblockedLatency.p90Ms} ms while no key was blocked`);
    }
  }
  add('no-head-of-line-blocking', 'outbox', 'other keys slowed down while one key was blocked', slowed);

  const partitionMoves = checkPartitionMoves(injected.partitionMoves ?? [], add);

  return {
    poisonAcks: { sent: poisonAcks.length, deadLetteredAsExpected: poisonAcks.filter((a) => foundPoisonAcks.has(a.messageId)).length, byReason },
    goodAcksSent: injected.acks.length - poisonAcks.length,
    poisonDeadLetters: { sent: injected.deadLetters.length, stillInQueue },
    deepNesting: { rows: deep.length, failedWithDepthReason: deep.filter((o) => depthReason(rowOf(o))).length },
    whitespaceTargets: {
      rows: ws.length,
      published: ws.filter((o) => rowOf(o)?.status === 'Acked').length,
      failed: ws.filter((o) => rowOf(o)?.status === 'Failed').length,
      ...(followerWaits.length ? { longestFollowerWaitMs: Math.max(...followerWaits) } : {}),
    },
    blockedKeys,
    unblockedLatency,
    ...(partitionMoves ? { partitionMoves } : {}),
  };
}

/**
 * A killed publisher's partitions are held again by live publishers within lease + standby poll + margin: its leases
 * end at most one lease duration after the kill (renewed at half), a survivor's balancing round sees them free within a
 * standby poll, and taking a lease is a write and a read. A move slower than that while a Dataverse fault struck is
 * reported, not judged: the claim may have had to wait for Dataverse.
 */
function checkPartitionMoves(moves: readonly PartitionMove[], add: Add): PartitionMoveFigures | undefined {
  const judged = moves.filter((m) => m.survivors > 0);
  if (moves.length === 0) return undefined;
  const late = judged.filter((m) => m.movedAfterMs === undefined || m.movedAfterMs > m.boundMs);
  const describe = (m: PartitionMove): string =>
    `${m.victim} killed at ${(m.at / 1000).toFixed(1)} s holding ${m.partitions.join(', ')} of ${m.count}: ${m.movedAfterMs !== undefined ? `moved after ${m.movedAfterMs} ms` : `not moved within ${3 * m.boundMs} ms`} (bound ${m.boundMs} ms${m.leaseEndedAfterMs !== undefined ? `, its leases ended ${m.leaseEndedAfterMs} ms after the kill` : ''})`;
  add('partitions-move', 'outbox', "a killed publisher's partitions not taken over by the live publishers within lease + standby poll + margin", late.filter((m) => m.faultsDuring.length === 0).map(describe));
  const times = judged.flatMap((m) => (m.movedAfterMs !== undefined ? [m.movedAfterMs] : [])).sort((a, b) => a - b);
  return {
    kills: judged.length,
    inTime: judged.length - late.length,
    lateDuringDataverseFault: late.filter((m) => m.faultsDuring.length > 0).length,
    ...(times.length ? { medianMs: percentile(times, 0.5), maxMs: times[times.length - 1]! } : {}),
    ...(judged.length ? { boundMs: judged[0]!.boundMs } : {}),
  };
}
