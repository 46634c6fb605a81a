// Pure parts of the chaos run: the seeded PRNG, the schedule, and the invariant checker fed with hand-made stores
// (each invariant must catch the breakage it names).
import { checkInvariants, resolveOrders } from '../src/invariants';
import { parseSeed, Random } from '../src/random';
import { faultKinds, planSchedule } from '../src/schedule';
import type { AuditSummary } from '../src/audit';
import type { ChaosOrder } from '../src/producers';
import type { FinalStores } from '../src/stores';
import type { InjectedFaults, PartitionMove } from '../src/faultChecks';
import { auditResends, publisherEvents, type ActionWindow, type PublisherEvent } from '../src/resends';

describe('Random', () => {
  test('same seed, same sequence; different seeds differ', () => {
    const a = new Random(42);
    const b = new Random(42);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => new Random(43).next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
  test('int covers its whole range and nothing outside', () => {
    const r = new Random(7);
    const seen = new Set(Array.from({ length: 2000 }, () => r.int(3, 9)));
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(() => r.int(5, 4)).toThrow(RangeError);
  });
  test('fork depends on the seed and label only', () => {
    const a = new Random(1);
    a.next();
    expect(a.fork('x').next()).toBe(new Random(1).fork('x').next());
    expect(new Random(1).fork('x').next()).not.toBe(new Random(1).fork('y').next());
  });
  test('parseSeed: numbers as is, text hashed', () => {
    expect(parseSeed('1234')).toBe(1234);
    expect(parseSeed('nightly')).toBe(parseSeed('nightly'));
    expect(parseSeed('nightly')).not.toBe(parseSeed('nightly2'));
  });
});

describe('planSchedule', () => {
  const opts = { seed: 99, durationMs: 600_000, meanGapMs: 3000, leaseDurationMs: 6000 };
  test('reproducible from the seed', () => {
    expect(planSchedule(opts)).toEqual(planSchedule(opts));
    expect(planSchedule({ ...opts, seed: 100 })).not.toEqual(planSchedule(opts));
  });
  test('every kind appears, actions stay inside the phase, in time order', () => {
    const s = planSchedule(opts);
    expect(new Set(s.map((a) => a.action.kind))).toEqual(new Set(faultKinds));
    expect(s.every((a, i) => a.at > 0 && a.at < opts.durationMs && (i === 0 || a.at >= s[i - 1]!.at))).toBe(true);
  });
  test('a short run (60 s, an action every 2.4 s) still deals every kind, the new ones of issue 17 included', () => {
    const s = planSchedule({ ...opts, durationMs: 60_000, meanGapMs: 2400 });
    expect(new Set(s.map((a) => a.action.kind))).toEqual(new Set(faultKinds));
    for (const k of ['poison-acks', 'poison-dead-letters', 'deep-nesting', 'whitespace-targets', 'blocked-key', 'dataverse-refuse-reads']) expect(faultKinds).toContain(k);
  });
  test('any one-minute run deals every kind: the first round is squeezed into the time left when it has to be', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const s = planSchedule({ ...opts, seed, durationMs: 60_000, meanGapMs: 2400 });
      expect({ seed, missing: faultKinds.filter((k) => !s.some((a) => a.action.kind === k)) }).toEqual({ seed, missing: [] });
    }
  });
  test("kills and pauses pick among the run's publishers only; the partition holder is killed as often as asked", () => {
    const pick = (publishers: number) =>
      new Set(planSchedule({ ...opts, publishers }).flatMap((a) => (a.action.kind === 'kill-publisher' || a.action.kind === 'pause-publisher' ? [a.action.which] : [])));
    expect(pick(2)).toEqual(new Set(['a', 'b', 'holder']));
    expect(pick(3)).toEqual(new Set(['a', 'b', 'c', 'holder']));
    expect(pick(1)).toEqual(new Set(['a', 'holder']));
    expect(planSchedule(opts).filter((a) => a.action.kind === 'kill-partition-holder').length).toBeGreaterThan(5);
    expect(() => planSchedule({ ...opts, publishers: 9 })).toThrow(RangeError);
  });
  test('blocked-key actions carry the rows asked for', () => {
    const s = planSchedule({ ...opts, blockedKeyRows: 2000 });
    const blocked = s.flatMap((a) => (a.action.kind === 'blocked-key' ? [a.action] : []));
    expect(blocked.length).toBeGreaterThan(0);
    for (const b of blocked) expect(b.rows).toBe(2000);
  });
  test('only the kinds asked for; a pause outlasts the lease', () => {
    const s = planSchedule({ ...opts, kinds: ['pause-publisher', 'dataverse-503'] });
    expect(new Set(s.map((a) => a.action.kind))).toEqual(new Set(['pause-publisher', 'dataverse-503']));
    for (const a of s) if (a.action.kind === 'pause-publisher') expect(a.action.pauseMs).toBeGreaterThan(opts.leaseDurationMs);
  });
});

describe('checkInvariants', () => {
  const audit: AuditSummary = { method: 'change-tracking delta of obx_outboxmessage, sampled by the harness', reads: 1, failedReads: 0, transitionsObserved: 0, rowsSeen: 0, regressions: [], intervalMs: 1000 };
  const row = (messageId: string, status: string, lastError = '', sessionKey = 'k1') => ({ id: `row-${messageId}`, messageId, status: status as 'Acked', lastError, target: 'erp-sales', sessionKey, attempts: 1 });
  const sale = (messageId: string, sequence: number, key = 'k1') => ({ outboxMessageId: messageId, at: 0, sessionKey: key, sequence });
  const order = (o: Partial<ChaosOrder>): ChaosOrder => ({ flow: 'outbox', kind: 'good', seen: 'committed', ...o });

  function healthy(): { orders: ChaosOrder[]; stores: FinalStores } {
    return {
      orders: [
        order({ opportunityId: 'o1', messageId: 'm1' }),
        order({ opportunityId: 'o2', messageId: 'm2' }),
        order({ opportunityId: 'o3', messageId: 'm3', seen: 'failed', error: 'socket hang up' }),
        order({ kind: 'rollback', opportunityId: 'o4', messageId: 'm4', seen: 'failed' }),
        order({ kind: 'consumer-poison', messageId: 'p1' }),
        order({ flow: 'change-tracking', kind: 'ct-good', opportunityId: 'o5' }),
      ],
      stores: {
        rows: [row('m1', 'Acked'), row('m2', 'Acked'), row('p1', 'DeadLettered', 'Rejected by consumer: ValidationFailed')],
        blockedEffects: [],
        opportunities: [
          { id: 'o1', statecode: 1, version: 10 },
          { id: 'o2', statecode: 1, version: 11 },
          { id: 'o3', statecode: 0, version: 3 },
          { id: 'o4', statecode: 0, version: 4 },
          { id: 'o5', statecode: 1, version: 12 },
        ],
        salesOrders: [sale('m1', 1), sale('m2', 2)],
        ctChanges: [
          { messageId: 'opportunity:o1:v10', opportunityId: 'o1', version: 10, statecode: 1 },
          { messageId: 'opportunity:o2:v11', opportunityId: 'o2', version: 11, statecode: 1 },
          { messageId: 'opportunity:o3:v3', opportunityId: 'o3', version: 3, statecode: 0 },
          { messageId: 'opportunity:o4:v4', opportunityId: 'o4', version: 4, statecode: 0 },
          { messageId: 'opportunity:o5:v5', opportunityId: 'o5', version: 5, statecode: 0 },
          { messageId: 'opportunity:o5:v12', opportunityId: 'o5', version: 12, statecode: 1 },
        ],
        entities: [{ name: 'erp-sales', kind: 'queue', requiresSession: true, activeMessageCount: 0, scheduledMessageCount: 0, deferredMessageCount: 0, lockedMessageCount: 0, deadLetterMessageCount: 0 }],
        // The consumer's dead letter of p1 was recorded on the row and taken out of the queue by the dead-letter monitor.
        deadLetters: { 'erp-sales': [], 'outbox-acks': [] },
      },
    };
  }
  const names = (r: ReturnType<typeof checkInvariants>): string[] => r.violations.map((v) => `${v.invariant}/${v.flow}`);

  test('a healthy run passes; the failed-looking change set that did not commit counts as rolled back', () => {
    const { orders, stores } = healthy();
    const r = checkInvariants(orders, stores, audit);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.figures.outbox).toMatchObject({ committed: 3, rolledBack: 2, failedAndRolledBack: 1, deliberateRollbacks: 1, goodOrders: 2 });
  });

  test('an ambiguous change set is settled by the store: committed after all, so its effect is required', () => {
    const { orders, stores } = healthy();
    stores.rows.push(row('m3', 'Published'));
    stores.opportunities[2]!.statecode = 1;
    const r = checkInvariants(orders, stores, audit);
    expect(orders[2]!.resolved).toBe('committed');
    expect(names(r)).toEqual(['nothing-lost/outbox', 'every-row-final/outbox']);
  });

  const cases: [string, (s: FinalStores) => void, string[]][] = [
    ['lost effect (row Acked, no sales order)', (s: FinalStores) => void s.salesOrders.pop(), ['nothing-lost/outbox']],
    ['lost effect (row left Published)', (s: FinalStores) => void (s.salesOrders.pop(), (s.rows[1]!.status = 'Published' as 'Acked')), ['nothing-lost/outbox', 'every-row-final/outbox']],
    ['duplicate effect', (s: FinalStores) => void s.salesOrders.push(sale('m2', 2)), ['effect-exactly-once/outbox', 'order-per-key/outbox']],
    ['effect of rolled-back work', (s: FinalStores) => void s.salesOrders.push(sale('m4', 3, 'k2')), ['no-rolled-back-work/outbox']],
    ['half a change set', (s: FinalStores) => void (s.opportunities[3]!.statecode = 1), ['no-rolled-back-work/outbox', 'no-rolled-back-work/outbox']],
    ['out of order', (s: FinalStores) => void s.salesOrders.reverse(), ['order-per-key/outbox']],
    ['poison without reason', (s: FinalStores) => void (s.rows[2]!.lastError = ''), ['poison-isolation/outbox', 'every-row-final/outbox']],
    ['row left Pending', (s: FinalStores) => void s.rows.push(row('x9', 'Pending')), ['every-row-final/outbox']],
    ['row left Published with its effect (acknowledgement never applied)', (s: FinalStores) => void (s.rows[1]!.status = 'Published' as 'Acked'), ['every-row-final/outbox']],
    ['message left in a queue', (s: FinalStores) => void (s.entities[0]!.activeMessageCount = 2), ['service-bus-drained/outbox']],
    ['unexplained dead letter', (s: FinalStores) => void s.deadLetters['erp-sales']!.push({ sequenceNumber: 2, messageId: 'stranger', deadLetterReason: 'MaxDeliveryCountExceeded', deliveryCount: 5, enqueuedTimeUtc: '2026-12-07T12:00:00.000Z', body: {} }), ['dead-letters-explained/outbox']],
    ["a row's dead letter the monitor never recorded", (s: FinalStores) => void s.deadLetters['erp-sales']!.push({ sequenceNumber: 2, messageId: 'p1', deadLetterReason: 'ValidationFailed', deliveryCount: 1, enqueuedTimeUtc: '2026-12-07T12:00:00.000Z', body: {} }), ['dead-letters-explained/outbox']],
    ['a consumer acknowledgement dead-lettered', (s: FinalStores) => void s.deadLetters['outbox-acks']!.push({ sequenceNumber: 3, messageId: 'm1:ack:processed', deadLetterReason: 'MaxDeliveryCountExceeded', deliveryCount: 10, enqueuedTimeUtc: '2026-12-07T12:00:00.000Z', body: { outboxId: 'row-m1' } }), ['dead-letters-explained/outbox']],
    ['change-tracking final version missing', (s: FinalStores) => void s.ctChanges.pop(), ['nothing-lost/change-tracking']],
    ['change-tracking duplicate', (s: FinalStores) => void s.ctChanges.push({ ...s.ctChanges[5]! }), ['effect-exactly-once/change-tracking', 'order-per-key/change-tracking']],
    ['change-tracking out of order', (s: FinalStores) => void s.ctChanges.splice(4, 2, s.ctChanges[5]!, s.ctChanges[4]!), ['order-per-key/change-tracking']],
  ];
  test.each(cases)('%s is caught', (_name, breakIt, expected) => {
    const { orders, stores } = healthy();
    breakIt(stores);
    expect(names(checkInvariants(orders, stores, audit))).toEqual(expected);
  });

  describe('poison and blocking faults (issue 17)', () => {
    const at = '2026-12-07T12:00:00.000Z';
    const dl = (messageId: string, deadLetterReason: string, body: unknown = {}) => ({ sequenceNumber: 9, messageId, deadLetterReason, deliveryCount: 1, enqueuedTimeUtc: at, body });
    const injected = (): InjectedFaults => ({
      acks: [
        { messageId: 'pa1', kind: 'malformed', what: 'text that is not JSON', expectedReason: 'AckNotJson', at, confirmed: true },
        { messageId: 'pa2', kind: 'non-guid-id', what: 'outboxId "x"', outboxId: 'x', expectedReason: 'InvalidOutboxId', at, confirmed: true },
        { messageId: 'pa3', kind: 'unknown-row', what: 'outboxId of no row', outboxId: 'u', expectedReason: 'UnknownOutboxRow', at, confirmed: true },
        { messageId: 'ga1', kind: 'good', what: 'duplicate ack of m1', outboxId: 'row-m1', at, confirmed: true },
      ],
      deadLetters: [{ messageId: 'chaos-poison-dl:non-guid-id:1', kind: 'non-guid-id', what: 'outbox-id "x"', outboxId: 'x', at, confirmed: true }],
      blockedWindows: [],
    });
    function withFaults(): { orders: ChaosOrder[]; stores: FinalStores; injected: InjectedFaults } {
      const { orders, stores } = healthy();
      stores.deadLetters['outbox-acks']!.push(dl('pa1', 'AckNotJson'), dl('pa2', 'InvalidOutboxId'), dl('pa3', 'UnknownOutboxRow'));
      stores.deadLetters['erp-sales']!.push(dl('chaos-poison-dl:non-guid-id:1', 'TTLExpiredException'));
      orders.push(order({ kind: 'deep-nesting', messageId: 'd1' }), order({ kind: 'whitespace-target', messageId: 'w1', target: 'erp-sales\n', sessionKey: 'ws' }), order({ kind: 'whitespace-follower', messageId: 'w2', sessionKey: 'ws', committedAt: 1000 }));
      stores.rows.push(row('d1', 'Failed', 'Payload nests deeper than 64 levels'), row('w1', 'Acked', '', 'ws'), { ...row('w2', 'Acked', '', 'ws'), createdOn: 1000, publishedOn: 3000 });
      stores.salesOrders.push(sale('w1', 10, 'ws'), sale('w2', 11, 'ws'));
      return { orders, stores, injected: injected() };
    }
    const check = (x: ReturnType<typeof withFaults>): string[] => names(checkInvariants(x.orders, x.stores, audit, x.injected));

    test("the ERP consumer's ack of a poison dead letter, alone or in an acknowledgement batch with good acks, is explained", () => {
      const x = withFaults();
      x.stores.deadLetters['outbox-acks']!.push(dl('ack-of-dl', 'UnknownOutboxRow', { outboxId: 'X' }), dl('batch-2', 'UnknownOutboxRow', [{ outboxId: 'row-m1' }, { outboxId: 'x' }, 'not an ack']));
      expect(check(x)).toEqual([]);
    });

    test('every poison message accounted for with its reason, deep and whitespace rows as expected: passes', () => {
      const x = withFaults();
      const r = checkInvariants(x.orders, x.stores, audit, x.injected);
      expect(r.violations).toEqual([]);
      expect(r.figures.injected).toMatchObject({ poisonAcks: { sent: 3, deadLetteredAsExpected: 3 }, goodAcksSent: 1, poisonDeadLetters: { sent: 1, stillInQueue: 1 }, deepNesting: { rows: 1, failedWithDepthReason: 1 }, whitespaceTargets: { rows: 1, published: 1, longestFollowerWaitMs: 2000 } });
    });

    const faultCases: [string, (x: ReturnType<typeof withFaults>) => void, string[]][] = [
      ['a poison ack completed silently', (x) => void x.stores.deadLetters['outbox-acks']!.splice(2, 1), ['poison-isolation/outbox']],
      ['a poison dead letter dropped instead of set aside', (x) => void x.stores.deadLetters['erp-sales']!.pop(), ['poison-isolation/outbox']],
      ['a poison ack dead-lettered only after max deliveries', (x) => void (x.stores.deadLetters['outbox-acks']![1]!.deadLetterReason = 'MaxDeliveryCountExceeded'), ['poison-isolation/outbox']],
      ['the good ack of the batch dead-lettered', (x) => void x.stores.deadLetters['outbox-acks']!.push(dl('ga1', 'AckNotJson')), ['dead-letters-explained/outbox']],
      ['an acknowledgement batch dead-lettered that names no poison of the run', (x) => void x.stores.deadLetters['outbox-acks']!.push(dl('batch-1', 'UnknownOutboxRow', [{ outboxId: 'row-m1' }, { outboxId: 'row-m2' }])), ['dead-letters-explained/outbox']],
      ['deep payload Failed for another reason', (x) => void (x.stores.rows.find((r) => r.messageId === 'd1')!.lastError = 'Send failed'), ['poison-isolation/outbox']],
      ['whitespace target failed as "does not exist"', (x) => void (Object.assign(x.stores.rows.find((r) => r.messageId === 'w1')!, { status: 'Failed', lastError: 'Service Bus entity "erp-sales\n" does not exist' }), x.stores.salesOrders.splice(-2, 1)), ['poison-isolation/outbox']],
      ['the row behind a whitespace target waited 90 s', (x) => void (x.stores.rows.find((r) => r.messageId === 'w2')!.publishedOn = 91_000), ['no-head-of-line-blocking/outbox']],
    ];
    test.each(faultCases)('%s is caught', (_name, breakIt, expected) => {
      const x = withFaults();
      breakIt(x);
      expect(check(x)).toEqual(expected);
    });

    function blocked(): ReturnType<typeof withFaults> {
      const x = withFaults();
      const key = 'blocked-1';
      x.injected = { ...x.injected, blockedWindows: [{ sessionKey: key, headMessageId: 'b0', rows: 2, startedAt: 100_000, refusalEndsAt: 110_000 }] };
      for (let i = 0; i <= 2; i++) {
        x.orders.push(order({ kind: i === 0 ? 'blocked-head' : 'blocked-follower', messageId: `b${i}`, sessionKey: key, committedAt: 100_000 }));
        x.stores.rows.push({ ...row(`b${i}`, 'Acked', '', key), createdOn: 100_000, publishedOn: 120_000 });
        x.stores.blockedEffects.push({ messageId: `b${i}`, sessionKey: key, sequence: 50 + i, appliedAt: at });
      }
      // Other keys' good orders: 12 before the block (1 s each), 12 during it.
      for (let i = 0; i < 24; i++) {
        const committedAt = i < 12 ? 10_000 + i * 1000 : 101_000 + i * 100;
        x.orders.push(order({ opportunityId: `g${i}`, messageId: `g${i}`, sessionKey: `gk${i}`, committedAt }));
        x.stores.opportunities.push({ id: `g${i}`, statecode: 1, version: 100 + i });
        x.stores.ctChanges.push({ messageId: `opportunity:g${i}:v${100 + i}`, opportunityId: `g${i}`, version: 100 + i, statecode: 1 });
        x.stores.rows.push({ ...row(`g${i}`, 'Acked', '', `gk${i}`), createdOn: committedAt, publishedOn: committedAt + 1000 });
        x.stores.salesOrders.push(sale(`g${i}`, 1, `gk${i}`));
      }
      return x;
    }
    test('a blocked key applied once each, in order, other keys unhurt: passes, with its figures', () => {
      const x = blocked();
      const r = checkInvariants(x.orders, x.stores, audit, x.injected);
      expect(r.violations).toEqual([]);
      expect(r.figures.injected.blockedKeys).toEqual([{ sessionKey: 'blocked-1', rows: 2, headStatus: 'Acked', headAttempts: 1, blockedMs: 20_000, partition: 0, otherKeys: { rows: 12, medianMs: 1000, p90Ms: 1000 } }]);
      expect(r.figures.outbox.latencyByPartition).toEqual([{ partition: 0, rows: 24, medianMs: 1000, p90Ms: 1000, maxMs: 1000 }]);
    });
    test("with partitions, only the blocked key's own partition is judged: another lane's stall meanwhile is reported, not blamed on it", () => {
      const x = blocked();
      x.injected = { ...x.injected, partitions: 2 };
      // The keys written during the block fall in partition 1 (slots 512-1023); the blocked key has no slot: partition 0.
      const during = x.stores.rows.filter((r) => /^g(1[2-9]|2\d)$/.test(r.messageId));
      for (const r of during) Object.assign(r, { partitionSlot: 700, publishedOn: 130_000 });
      for (let i = 0; i < 12; i++) {
        x.orders.push(order({ opportunityId: `h${i}`, messageId: `h${i}`, sessionKey: `hk${i}` }));
        x.stores.opportunities.push({ id: `h${i}`, statecode: 1, version: 200 + i });
        x.stores.ctChanges.push({ messageId: `opportunity:h${i}:v${200 + i}`, opportunityId: `h${i}`, version: 200 + i, statecode: 1 });
        x.stores.rows.push({ ...row(`h${i}`, 'Acked', '', `hk${i}`), partitionSlot: 100, createdOn: 102_000, publishedOn: 103_000 });
        x.stores.salesOrders.push(sale(`h${i}`, 1, `hk${i}`));
      }
      const r = checkInvariants(x.orders, x.stores, audit, x.injected);
      expect(r.violations).toEqual([]);
      expect(r.figures.injected.blockedKeys[0]).toMatchObject({ partition: 0, otherKeys: { rows: 12, medianMs: 1000 }, otherPartitions: { rows: 12 } });
      expect(r.figures.outbox.latencyByPartition.map((l) => [l.partition, l.rows, l.maxMs])).toEqual([
        [0, 24, 1000],
        [1, 12, 27_800],
      ]);
      // The same stall in the blocked key's own partition is caught.
      for (const r of during) r.partitionSlot = 100;
      expect(check(x)).toEqual(['no-head-of-line-blocking/outbox']);
    });
    const blockedCases: [string, (x: ReturnType<typeof withFaults>) => void, string[]][] = [
      ['a blocked-key row never consumed', (x) => void x.stores.blockedEffects.pop(), ['nothing-lost/outbox']],
      ['a blocked-key row consumed twice', (x) => void x.stores.blockedEffects.push({ ...x.stores.blockedEffects[2]! }), ['effect-exactly-once/outbox', 'order-per-key/outbox']],
      ['the blocked key out of order', (x) => void x.stores.blockedEffects.reverse(), ['order-per-key/outbox']],
      ['other keys waiting behind the blocked key', (x) => void x.stores.rows.filter((r) => /^g(1[2-9]|2\d)$/.test(r.messageId)).forEach((r) => (r.publishedOn = 130_000)), ['no-head-of-line-blocking/outbox']],
    ];
    test.each(blockedCases)('%s is caught', (_name, breakIt, expected) => {
      const x = blocked();
      breakIt(x);
      expect(check(x)).toEqual(expected);
    });
  });

  describe('kill-partition-holder: partitions taken over in time', () => {
    const move = (m: Partial<PartitionMove>): PartitionMove => ({ at: 30_000, victim: 'publisher-a', partitions: [0, 3], count: 4, survivors: 2, boundMs: 9500, leaseEndedAfterMs: 5200, movedAfterMs: 6100, takenBy: { 0: 'publisher-b', 3: 'publisher-c' }, faultsDuring: [], ...m });
    const run = (moves: PartitionMove[]) => {
      const { orders, stores } = healthy();
      return checkInvariants(orders, stores, audit, { acks: [], deadLetters: [], blockedWindows: [], partitionMoves: moves });
    };
    test('moves within lease + standby poll + margin pass, with their figures', () => {
      const r = run([move({}), move({ movedAfterMs: 8000 }), move({ survivors: 0, movedAfterMs: undefined })]);
      expect(r.violations).toEqual([]);
      expect(r.figures.injected.partitionMoves).toEqual({ kills: 2, inTime: 2, lateDuringDataverseFault: 0, medianMs: 8000, maxMs: 8000, boundMs: 9500 });
    });
    test('a move slower than the bound, or never seen, is caught', () => {
      const r = run([move({ movedAfterMs: 9600 }), move({ movedAfterMs: undefined })]);
      expect(names(r)).toEqual(['partitions-move/outbox']);
      expect(r.violations[0]!.count).toBe(2);
      expect(r.violations[0]!.examples[1]).toMatch(/publisher-a killed at 30\.0 s holding 0, 3 of 4: not moved within 28500 ms/);
    });
    test('a late move while a Dataverse fault struck is reported, not judged', () => {
      const r = run([move({ movedAfterMs: 12_000, faultsDuring: ['Dataverse 429 (Retry-After 2 s) for 50% of requests on obx_outboxleases during 6000 ms'] })]);
      expect(r.violations).toEqual([]);
      expect(r.figures.injected.partitionMoves).toMatchObject({ kills: 1, inTime: 0, lateDuringDataverseFault: 1 });
    });
  });

  describe('duplicate-send audit', () => {
    const t = 1_800_000_000_000;
    const rows = [
      { id: 'ROW-1', messageId: 'M1' },
      { id: 'row-2', messageId: 'm2' },
    ];
    const drop = (messageId: string, firstSeenAt = t, droppedAt = t + 300) => ({ entity: 'erp-sales', messageId, firstSeenAt, droppedAt });
    const window = (kind: ActionWindow['kind'], from: number, to: number, outcome: ActionWindow['outcome'] = 'done'): ActionWindow => ({ kind, from, to, outcome });
    const audit1 = (events: PublisherEvent[], actions: ActionWindow[], dropped = [drop('m1')]) =>
      auditResends({ dropped: { 'erp-sales': dropped, 'erp-sales-ct': [drop('ct-1')] }, publisherTargets: ['erp-sales'], rows, events, actions });

    test('a resend with nothing to explain it is unexplained (the c4cb5d3 bug: the same row sent again 300 ms later)', () => {
      const r = audit1([], [window('kill-consumer', t, t + 5000), window('dataverse-503', t, t + 5000), window('kill-publisher', t, t + 5000, 'skipped')]);
      expect(r.figures).toEqual({ droppedPerEntity: { 'erp-sales': 1, 'erp-sales-ct': 1 }, outboxResends: 1, outboxRowsResent: 1, byCause: { unexplained: 1 } });
      expect(r.unexplained[0]).toMatch(/^m1 on erp-sales: first sent .*, sent again .* \(300 ms later\)/);
    });
    const causes: [string, PublisherEvent[], ActionWindow[], string][] = [
      ['a send the publisher saw fail', [{ at: t + 100, publisher: 'publisher-a', kind: 'send-failed', messageId: 'm1' }], [], 'send-reported-failed'],
      ['an outcome it could not write', [{ at: t + 100, publisher: 'publisher-a', kind: 'mark-failed', rowIds: ['row-9', 'row-1'] }], [], 'mark-not-written'],
      ['a publisher killed in between', [], [window('kill-partition-holder', t + 50, t + 9000)], 'publisher-killed-or-paused'],
      ['a publisher paused in between', [], [window('pause-publisher', t - 3000, t + 100)], 'publisher-killed-or-paused'],
      ['a lease lost in between', [{ at: t + 200, publisher: 'publisher-b', kind: 'lease-lost' }], [], 'lease-lost'],
      ['Dataverse killed in between', [], [window('kill-dataverse', t + 100, t + 4000)], 'dataverse-killed'],
      ['Service Bus holding back send acknowledgements', [], [window('servicebus-delay-sends', t - 2000, t + 1000)], 'service-bus-fault'],
    ];
    test.each(causes)('explained by %s', (_name, events, actions, cause) => {
      const r = audit1(events, actions);
      expect(r.unexplained).toEqual([]);
      expect(r.figures.byCause).toEqual({ [cause]: 1 });
    });
    test('a trace of another row, or outside the window, explains nothing', () => {
      const r = audit1(
        [
          { at: t + 100, publisher: 'publisher-a', kind: 'send-failed', messageId: 'm2' },
          { at: t + 100, publisher: 'publisher-a', kind: 'mark-failed', rowIds: ['row-2'] },
          { at: t - 5000, publisher: 'publisher-a', kind: 'lease-lost' },
        ],
        [window('kill-publisher', t + 2000, t + 4000), window('kill-servicebus', t - 9000, t - 2000)],
      );
      expect(r.figures.byCause).toEqual({ unexplained: 1 });
    });
    test("only outbox rows on the publisher's targets are judged; a replay suffix names its row", () => {
      const r = audit1([], [], [drop('m2#r1'), drop('chaos-poison-dl:x:1')]);
      expect(r.figures).toMatchObject({ outboxResends: 1, outboxRowsResent: 1 });
    });
    test('a resend fails the run; one with a cause does not', () => {
      const { orders, stores } = healthy();
      stores.droppedDuplicates = { 'erp-sales': [drop('m1')] };
      const evidence = (events: PublisherEvent[]) => ({ publisherEvents: events, actions: [], publisherTargets: ['erp-sales'] });
      expect(names(checkInvariants(orders, stores, audit, undefined, evidence([])))).toEqual(['no-unexplained-resend/outbox']);
      const ok = checkInvariants(orders, stores, audit, undefined, evidence([{ at: t + 10, publisher: 'publisher-a', kind: 'send-failed', messageId: 'm1' }]));
      expect(ok.violations).toEqual([]);
      expect(ok.figures.resends).toMatchObject({ outboxResends: 1, byCause: { 'send-reported-failed': 1 } });
    });
    test('publisherEvents reads the lines that explain a resend from a publisher log', () => {
      const line = (fields: object) => `2026-12-08T10:00:00.000Z ${JSON.stringify({ time: '2026-12-08T10:00:00.250Z', level: 'info', ...fields })}`;
      const events = publisherEvents('publisher-b', [
        line({ message: 'row will be retried', rowId: 'R1', messageId: 'M1', code: 'SendFailed' }),
        line({ message: 'could not record the cycle outcome; sent rows stay Pending and will be resent with the same messageId', rowIds: ['R1', 'R2'] }),
        line({ message: 'lease lost to another publisher', scope: 'default:p1of4' }),
        line({ message: 'lease renewal failed', scope: 'default:p1of4' }),
        line({ message: 'partition lane stopped', reason: 'handing over to a less loaded instance' }),
        '2026-12-08T10:00:00.000Z {"time":"2026-12-08T10:00:00.250Z","message":"row will be ret',
      ]);
      const at = Date.parse('2026-12-08T10:00:00.250Z');
      expect(events).toEqual([
        { at, publisher: 'publisher-b', kind: 'send-failed', messageId: 'm1' },
        { at, publisher: 'publisher-b', kind: 'mark-failed', rowIds: ['r1', 'r2'] },
        { at, publisher: 'publisher-b', kind: 'lease-lost' },
        { at, publisher: 'publisher-b', kind: 'lease-lost' },
      ]);
    });
  });

  test('a status regression from the audit is reported', () => {
    const { orders, stores } = healthy();
    const r = checkInvariants(orders, stores, { ...audit, regressions: [{ rowId: 'r', messageId: 'm1', from: 'Acked', to: 'Published', at: 'now' }] });
    expect(names(r)).toEqual(['no-status-regression/outbox']);
  });

  test('resolveOrders: the store decides, not what the producer saw', () => {
    const orders = [order({ opportunityId: 'a', messageId: 'ma', seen: 'failed' }), order({ opportunityId: 'b', messageId: 'mb' }), order({ opportunityId: 'c', messageId: 'mc' })];
    resolveOrders(orders, {
      rows: [row('ma', 'Acked'), row('mc', 'Acked')],
      opportunities: [
        { id: 'a', statecode: 1, version: 1 },
        { id: 'b', statecode: 0, version: 1 },
        { id: 'c', statecode: 0, version: 1 },
      ],
    });
    expect(orders.map((o) => o.resolved)).toEqual(['committed', 'rolled-back', 'partial']);
  });
});
