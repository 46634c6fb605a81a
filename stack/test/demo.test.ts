// The demo's pure parts: which orders carry bad rows, percentiles, per-key order, and the summary's arithmetic.
import { outOfOrderKeys, type ObservedRow, type SalesOrderRow } from '../src/demo/observe';
import { badKinds, planKinds, type DemoOrder, type DemoProducerResult } from '../src/demo/producer';
import { formatSummary, percentiles, reasonKey, summarise } from '../src/demo/summary';

describe('planKinds', () => {
  it('spreads the requested bad rows of each kind through the run, kinds in turn', () => {
    const kinds = planKinds(200, 2);
    expect(kinds).toHaveLength(200);
    for (const k of badKinds) expect(kinds.filter((x) => x === k)).toHaveLength(2);
    const badAt = kinds.flatMap((k, i) => (k === 'good' ? [] : [i]));
    expect(badAt[0]).toBeGreaterThan(0);
    expect(badAt.at(-1)).toBeLessThan(199);
    expect(Math.min(...badAt.slice(1).map((v, i) => v - badAt[i]!))).toBeGreaterThan(20);
  });
  it('never plans more bad rows than orders, and none with 0', () => {
    expect(planKinds(2, 5).filter((k) => k !== 'good')).toHaveLength(2);
    expect(planKinds(10, 0).every((k) => k === 'good')).toBe(true);
  });
});

describe('percentiles', () => {
  it('uses nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(percentiles(v)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([7])).toEqual({ count: 1, p50: 7, p90: 7, p99: 7, max: 7 });
    expect(percentiles([])).toBeUndefined();
  });
});

describe('outOfOrderKeys', () => {
  const row = (sessionKey: string, sequence: number): SalesOrderRow => ({ outboxMessageId: `${sessionKey}${sequence}`, at: 0, sessionKey, sequence });
  it('flags a key whose sales orders were written out of obx_sequence order, and only that key', () => {
    expect(outOfOrderKeys([row('a', 1), row('b', 2), row('a', 3), row('b', 4)])).toEqual([]);
    expect(outOfOrderKeys([row('a', 3), row('b', 2), row('a', 1), row('b', 4)])).toEqual(['a']);
  });
});

describe('summarise', () => {
  const order = (index: number, kind: DemoOrder['kind'], committedAt: number | undefined): DemoOrder => ({
    index,
    kind,
    opportunityId: `opp${index}`,
    customer: 'Contoso Ltd',
    accountId: `acc${index % 2}`,
    amount: 10,
    messageId: `SalesOrderWon:opp${index}`,
    committedAt,
  });
  const run: DemoProducerResult = {
    runId: 'r',
    correlationId: 'demo-r',
    startedAt: 0,
    finishedAt: 4000,
    orders: [order(0, 'good', 1000), order(1, 'good', 2000), order(2, 'target-not-allowed', 3000), order(3, 'good', undefined)],
  };
  const rows: ObservedRow[] = [
    { id: '0', messageId: 'SalesOrderWon:opp0', status: 'Acked', attempts: 1, createdOn: 1000, publishedOn: 1000, ackedOn: 2000 },
    { id: '1', messageId: 'SalesOrderWon:opp1', status: 'Published', attempts: 1, createdOn: 2000, publishedOn: 2000 },
    { id: '2', messageId: 'SalesOrderWon:opp2', status: 'Failed', attempts: 0, createdOn: 3000, lastError: 'Target "erp-legacy" is not in obx_AllowedTargets (allowed: "erp-sales").' },
  ];
  const erp: SalesOrderRow[] = [
    { outboxMessageId: 'SalesOrderWon:opp0', at: 1250, sessionKey: 'acc0', sequence: 1 },
    { outboxMessageId: 'SalesOrderWon:opp1', at: 2100, sessionKey: 'acc1', sequence: 2 },
    { outboxMessageId: 'SalesOrderWon:opp1', at: 2200, sessionKey: 'acc1', sequence: 2 },
  ];

  it('counts from the stores: sent, statuses, reasons, ERP effects (missing, duplicated) and latency', () => {
    const s = summarise(run, rows, erp);
    expect(s).toMatchObject({
      orders: 4,
      sent: 3,
      notCommitted: 1,
      published: 2,
      acked: 1,
      failed: 1,
      inFlight: 1,
      failureReasons: { 'target not allowed': 1 },
      failedWithoutReason: 0,
      complete: false,
      // The duplicate repeats sequence 2 on acc1: not strictly increasing, so acc1 is flagged too.
      erp: { goodOrders: 2, withOneSalesOrder: 1, missing: 0, duplicated: 1, fromBadRows: 0, outOfOrderKeys: ['acc1'] },
    });
    expect(s.latencyCommitToEffectMs).toEqual({ count: 2, p50: 100, p90: 250, p99: 250, max: 250 });
    expect(s.latencyCommitToAckMs).toEqual({ count: 1, p50: 1000, p90: 1000, p99: 1000, max: 1000 });
    const text = formatSummary(s);
    expect(text).toMatch(/1 NOT committed/);
    expect(text).toMatch(/1 DUPLICATED/);
    expect(text).toMatch(/Still in flight 1/);
  });

  it('groups reasons by what went wrong', () => {
    expect(reasonKey('Malformed JSON payload (Unexpected end of JSON input); obx_contenttype is "application/json".')).toBe('malformed payload');
    expect(reasonKey('Payload too large: 300100 bytes, but target "erp-sales" accepts messages up to 262144 bytes')).toBe('payload too large');
  });
});
