// The balancing rule alone (core/partitions.ts): who claims, who hands over, and the fence between partition counts.
import { classifyLease, memberLeaseScope, partitionLeaseScope, planBalance, type BalanceInput } from '../../src/core/partitions';
import type { LeaseState } from '../../src/core/ports';

const now = new Date('2026-12-07T12:00:00Z');
const live = new Date(now.getTime() + 30_000);
const expired = new Date(now.getTime() - 1);

function partitionLease(index: number, count: number, owner: string, until = live): LeaseState {
  return { scope: partitionLeaseScope('default', { index, count }), owner, until };
}
function member(owner: string, until = live): LeaseState {
  return { scope: memberLeaseScope('default', owner), owner, until };
}
function plan(owner: string, leases: LeaseState[], extra: Partial<BalanceInput> = {}) {
  const held = leases.map((l) => classifyLease('default', l)).flatMap((l) => (l?.kind === 'partition' && l.owner === owner && l.partition.count === (extra.count ?? 4) ? [l.partition.index] : []));
  return planBalance({ scope: 'default', count: 4, owner, leases, held, now, ...extra });
}

/** Runs rounds for every instance until nothing changes; returns partition -> owner. */
function settle(owners: string[], start: Map<number, string>, count = 4): Map<number, string> {
  const held = new Map(start);
  for (let round = 0; round < 20; round++) {
    let changed = false;
    for (const owner of owners) {
      const leases = [...owners.map((o) => member(o)), ...[...held].map(([i, o]) => partitionLease(i, count, o))];
      const p = plan(owner, leases, { count });
      for (const i of p.release) {
        held.delete(i);
        changed = true;
      }
      for (const i of p.claim) {
        if (!held.has(i)) {
          held.set(i, owner);
          changed = true;
        }
      }
    }
    if (!changed) return held;
  }
  throw new Error('balancing did not settle in 20 rounds');
}

describe('lease names', () => {
  it('keeps the scope name for one partition and names partitions and members under it', () => {
    expect(partitionLeaseScope('default', { index: 0, count: 1 })).toBe('default');
    expect(partitionLeaseScope('default', { index: 2, count: 4 })).toBe('default:p2of4');
    expect(classifyLease('default', { scope: 'DEFAULT:P2OF4', owner: 'a', until: live })).toMatchObject({ kind: 'partition', partition: { index: 2, count: 4 } });
    expect(classifyLease('default', { scope: 'default', owner: 'a' })).toMatchObject({ kind: 'partition', partition: { index: 0, count: 1 } });
    expect(classifyLease('default', { scope: 'default:instance:ab12', owner: 'a' })).toMatchObject({ kind: 'member', instanceId: 'ab12' });
    // Other scopes, a LIKE match of "_" and malformed partition names are not this scope's leases.
    for (const scope of ['defaultx:p0of4', 'other', 'default:p4of4', 'default:p0of1', 'default:p0of65', 'default:x']) expect(classifyLease('default', { scope })).toBeUndefined();
    expect(classifyLease('a_b', { scope: 'axb:p0of2' })).toBeUndefined();
  });
});

describe('planBalance', () => {
  it('a lone instance claims every free partition (up to its limit)', () => {
    expect(plan('a', []).claim).toEqual([0, 1, 2, 3]);
    expect(plan('a', [], { maxPerInstance: 2 }).claim).toEqual([0, 1]);
    expect(plan('a', [partitionLease(1, 4, 'b', expired)]).claim).toEqual([0, 1, 2, 3]);
  });

  it('a joining instance gets its share: the most loaded instance hands one partition over per round', () => {
    const a = ['a'];
    const alone = settle(a, new Map());
    expect([...alone.values()].every((o) => o === 'a')).toBe(true);
    const three = settle(['a', 'b', 'c'], alone);
    const counts = ['a', 'b', 'c'].map((o) => [...three.values()].filter((x) => x === o).length).sort();
    expect(counts).toEqual([1, 1, 2]);
    expect(three.size).toBe(4);
  });

  it('an instance that died loses its partitions to the live ones once its leases expire', () => {
    const held = new Map([[0, 'a'], [1, 'a'], [2, 'b'], [3, 'c']]);
    const leases = [member('b'), member('c'), member('a', expired), ...[...held].map(([i, o]) => partitionLease(i, 4, o, o === 'a' ? expired : live))];
    const b = plan('b', leases);
    expect(b.instances).toBe(2);
    expect(b.claim).toEqual([0]);
    expect(plan('c', leases).claim).toEqual([0]); // both try: the conditional write picks one, the other tries 1 next round
  });

  it('never hands over while a free partition is left, and a giver does not take its partition back', () => {
    const leases = [member('a'), member('b'), member('c'), partitionLease(0, 4, 'a'), partitionLease(1, 4, 'a'), partitionLease(2, 4, 'b'), partitionLease(3, 4, 'b')];
    const a = plan('a', leases);
    const b = plan('b', leases);
    // a and b both hold 2 while c holds none: exactly one of them (the greater owner name) gives one back.
    expect([a.release.length, b.release.length]).toEqual([0, 1]);
    const after = leases.filter((l) => l.scope !== partitionLeaseScope('default', { index: 3, count: 4 }));
    expect(plan('b', after).claim).toEqual([]);
    expect(plan('a', after).claim).toEqual([]);
    expect(plan('c', after).claim).toEqual([3]);
  });

  it('a live lease of another partition count blocks every claim (two counts never publish at once)', () => {
    const old = [partitionLease(0, 1, 'old-instance')];
    const p = plan('a', old);
    expect(p.claim).toEqual([]);
    expect(p.otherCountOwners).toEqual(['old-instance']);
    expect(plan('a', [partitionLease(0, 1, 'old-instance', expired)]).claim).toEqual([0, 1, 2, 3]);
    expect(plan('a', [partitionLease(1, 2, 'b')], { count: 4 }).otherCountOwners).toEqual(['b']);
  });

  it('more instances than partitions: each partition has one owner and the rest stand by', () => {
    const owners = ['a', 'b', 'c', 'd', 'e', 'f'];
    const held = settle(owners, new Map());
    expect(held.size).toBe(4);
    expect(new Set(held.values()).size).toBe(4);
  });

  describe('a stranded partition (its lease ran out while its owner is a live member)', () => {
    // Two instances share 2 partitions; b is alive (renews its membership) but its lane for p1 stopped renewing.
    const stuck = [member('a'), member('b'), partitionLease(0, 2, 'a'), partitionLease(1, 2, 'b', expired)];

    it('is claimed by an instance at its share, above its ceiling', () => {
      const a = plan('a', stuck, { count: 2 });
      expect(a.share).toBe(1);
      expect(a.claim).toEqual([1]);
      expect(a.stranded).toEqual([1]);
      expect(a.release).toEqual([]);
      // Its owner does not claim it as stranded: its own lane for it is still there.
      expect(plan('b', stuck, { count: 2 }).stranded).toEqual([]);
    });

    it('is claimed by every instance at its share, never above OUTBOX_MAX_PARTITIONS_PER_INSTANCE', () => {
      const leases = [member('a'), member('b'), member('c'), partitionLease(0, 4, 'a'), partitionLease(1, 4, 'a'), partitionLease(2, 4, 'b'), partitionLease(3, 4, 'c', expired)];
      // c counts as a member below its floor: by the share alone a and b would both wait for it.
      expect(plan('a', leases).claim).toEqual([3]);
      expect(plan('b', leases).claim).toEqual([3]);
      expect(plan('a', leases, { maxPerInstance: 2 }).claim).toEqual([]);
      expect(plan('b', leases, { maxPerInstance: 2 }).claim).toEqual([3]);
    });

    it('a partition given back (the release clears the owner) is not stranded: claimed up to the share only', () => {
      const released: LeaseState = { scope: partitionLeaseScope('default', { index: 1, count: 2 }), owner: undefined, until: undefined };
      const a = plan('a', [member('a'), member('b'), partitionLease(0, 2, 'a'), released], { count: 2 });
      expect(a.claim).toEqual([]);
      expect(a.stranded).toEqual([]);
    });

    it("a dead instance's partition (membership ran out too) is free as before: claimed up to the share", () => {
      const dead = [member('a'), member('b', expired), partitionLease(0, 2, 'a'), partitionLease(1, 2, 'b', expired)];
      const a = plan('a', dead, { count: 2 });
      expect(a.instances).toBe(1);
      expect(a.claim).toEqual([1]);
      expect(a.stranded).toEqual([]);
      const three = [member('a'), member('b'), member('c', expired), partitionLease(0, 4, 'a'), partitionLease(1, 4, 'a'), partitionLease(2, 4, 'b'), partitionLease(3, 4, 'c', expired)];
      expect(plan('a', three).claim).toEqual([]); // at its ceiling of 2 (2 live instances)
      expect(plan('b', three).claim).toEqual([3]);
      expect(plan('b', three).stranded).toEqual([]);
    });

    it('is kept while the host says so, then handed back once to the instance below its floor, and the split stays', () => {
      // a took p1: it holds 2, b none.
      const taken = [member('a'), member('b'), partitionLease(0, 2, 'a'), partitionLease(1, 2, 'a')];
      const kept = plan('a', taken, { count: 2, keep: [1] });
      expect(kept.release).toEqual([]);
      expect(kept.claim).toEqual([]);
      expect(plan('b', taken, { count: 2 }).claim).toEqual([]); // nothing free for b meanwhile
      // Once no longer kept, a is above its ceiling while b is below its floor: it hands one back.
      const after = plan('a', taken, { count: 2 });
      expect(after.release).toEqual([1]);
      // Given back (owner cleared): b claims it, a does not take it again.
      const given: LeaseState = { scope: partitionLeaseScope('default', { index: 1, count: 2 }) };
      const handedBack = [member('a'), member('b'), partitionLease(0, 2, 'a'), given];
      expect(plan('a', handedBack, { count: 2 }).claim).toEqual([]);
      expect(plan('b', handedBack, { count: 2 }).claim).toEqual([1]);
      // b holds it: no instance claims or hands over anything, round after round.
      const settled = [member('a'), member('b'), partitionLease(0, 2, 'a'), partitionLease(1, 2, 'b')];
      for (const o of ['a', 'b']) {
        const p = plan(o, settled, { count: 2 });
        expect([p.claim, p.release, p.stranded]).toEqual([[], [], []]);
      }
    });

    it('rounds of every instance end with one partition each, whoever takes the stranded one', () => {
      // b's lane is stuck on p1 for a while: the simulation lets a take it, keeps it some rounds, then balances.
      type Row = { owner?: string; until?: Date };
      const rows = new Map<number, Row>([[0, { owner: 'a', until: live }], [1, { owner: 'b', until: expired }]]);
      const keptSince = new Map<number, number>();
      const history: string[] = [];
      for (let round = 0; round < 12; round++) {
        for (const o of ['a', 'b']) {
          const leases = [member('a'), member('b'), ...[...rows].map(([i, r]) => ({ scope: partitionLeaseScope('default', { index: i, count: 2 }), ...r }))];
          // b's stuck lane: b does not claim p1 again while it is still stuck (the first 3 rounds).
          const keep = [...keptSince].filter(([, since]) => round - since < 3 && o === 'a').map(([i]) => i);
          const p = plan(o, leases, { count: 2, keep });
          for (const i of p.release) rows.set(i, {});
          for (const i of p.claim) {
            if (o === 'b' && round < 3) continue;
            const r = rows.get(i)!;
            if (r.owner && r.until && r.until > now) continue; // the conditional write loses
            rows.set(i, { owner: o, until: live });
            if (p.stranded.includes(i)) keptSince.set(i, round);
          }
        }
        history.push([...rows].map(([i, r]) => `p${i}:${r.owner ?? '-'}`).join(' '));
      }
      expect(history[0]).toBe('p0:a p1:a');
      expect(history.slice(-6)).toEqual(Array(6).fill('p0:a p1:b'));
      // Exactly one move there and one back: no flapping.
      const moves = history.filter((h, i) => i > 0 && h !== history[i - 1]).length;
      expect(moves).toBeLessThanOrEqual(2);
    });
  });
});
