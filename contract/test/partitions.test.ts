import { MAX_PARTITION_COUNT, PARTITION_SLOTS, partitionCountProblem, partitionOfSlot, partitionSlotOfKey, partitionSlotOfRow, partitionSlotRange } from '../src';

describe('partition slots', () => {
  it('hashes the UTF-8 bytes of a key with FNV-1a (the same number in every runtime)', () => {
    // Reference values computed from the FNV-1a definition over Buffer.from(key, 'utf8').
    const reference = (key: string): number => {
      let h = 0x811c9dc5;
      for (const b of Buffer.from(key, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
      return h % PARTITION_SLOTS;
    };
    for (const key of ['order:1', 'Ünïcödé', '客户-42', 'emoji 🚚 key', 'a', ' spaced ', '\u{10FFFF}']) {
      expect(partitionSlotOfKey(key)).toBe(reference(key));
    }
    // A lone surrogate counts as U+FFFD, as TextEncoder (and Buffer) encode it.
    expect(partitionSlotOfKey('x\ud800y')).toBe(reference('x\ufffdy'));
  });

  it('keeps every row of a key in one slot and spreads keyless rows by row id', () => {
    expect(partitionSlotOfRow({ sessionKey: 'k1', rowId: 'A' })).toBe(partitionSlotOfRow({ sessionKey: 'k1', rowId: 'B' }));
    expect(partitionSlotOfRow({ rowId: 'ABC' })).toBe(partitionSlotOfRow({ sessionKey: null, rowId: 'abc' }));
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 4000; i++) counts[partitionOfSlot(partitionSlotOfRow({ rowId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` }), 4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('splits the slots into contiguous ranges that cover each slot exactly once', () => {
    for (const count of [1, 2, 3, 4, 7, 16, MAX_PARTITION_COUNT]) {
      let next = 0;
      for (let p = 0; p < count; p++) {
        const { from, to } = partitionSlotRange(p, count);
        expect(from).toBe(next);
        expect(to).toBeGreaterThan(from);
        for (const s of [from, to - 1]) expect(partitionOfSlot(s, count)).toBe(p);
        next = to;
      }
      expect(next).toBe(PARTITION_SLOTS);
    }
  });

  it('rejects counts and partitions out of range', () => {
    for (const bad of [0, -1, 1.5, MAX_PARTITION_COUNT + 1, Number.NaN, '4']) expect(partitionCountProblem(bad)).toMatch(/whole number from 1 to 64/);
    expect(partitionCountProblem(4)).toBeUndefined();
    expect(() => partitionSlotRange(4, 4)).toThrow(/partition must be 0 .. 3/);
    expect(() => partitionOfSlot(PARTITION_SLOTS, 4)).toThrow(RangeError);
  });
});
