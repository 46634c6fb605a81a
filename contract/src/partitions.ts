// Partitioned publishing: which publisher partition an outbox row belongs to. Every writer (producer library, web
// resource writer, change-tracking source) stores the row's partition slot, a stable hash of its ordering key into
// PARTITION_SLOTS slots; publishers own contiguous slot ranges. The slot does not depend on the partition count, so the
// count can change without rewriting rows and a writer never needs to know it. One definition: every part imports this.

/** Slots rows hash into (obx_partitionslot is 0 .. PARTITION_SLOTS - 1). A power of two larger than any partition count. */
export const PARTITION_SLOTS = 1024;

/** Most publisher partitions a scope may have (obx_PartitionCount); each may run under its own application user. */
export const MAX_PARTITION_COUNT = 64;

/** Why `count` is not a valid partition count, or undefined. */
export function partitionCountProblem(count: unknown): string | undefined {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_PARTITION_COUNT) {
    return `must be a whole number from 1 to ${MAX_PARTITION_COUNT}; got ${typeof count === 'number' ? String(count) : typeof count}`;
  }
  return undefined;
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text` (written out: the contract has no TextEncoder, and it must give the same
 * number in browsers and Node). */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  const add = (byte: number): void => {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  };
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    // A surrogate pair is one code point (4 UTF-8 bytes); a lone surrogate is encoded as U+FFFD, as TextEncoder does.
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else code = 0xfffd;
    } else if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd;
    if (code < 0x80) add(code);
    else if (code < 0x800) {
      add(0xc0 | (code >> 6));
      add(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      add(0xe0 | (code >> 12));
      add(0x80 | ((code >> 6) & 0x3f));
      add(0x80 | (code & 0x3f));
    } else {
      add(0xf0 | (code >> 18));
      add(0x80 | ((code >> 12) & 0x3f));
      add(0x80 | ((code >> 6) & 0x3f));
      add(0x80 | (code & 0x3f));
    }
  }
  return hash;
}

/** The slot of an ordering key (obx_sessionkey as stored: trimmed, case kept, like the Service Bus sessionId). */
export function partitionSlotOfKey(key: string): number {
  return fnv1a(key) % PARTITION_SLOTS;
}

/**
 * The slot of an outbox row: all rows of one obx_sessionkey share it (so one partition publishes them, in order); a
 * row without a key is spread by its row id (random), so unordered traffic is shared evenly.
 */
export function partitionSlotOfRow(row: { sessionKey?: string | null; rowId: string }): number {
  return row.sessionKey ? partitionSlotOfKey(row.sessionKey) : partitionSlotOfKey(row.rowId.toLowerCase());
}

/** The slots partition `partition` of `count` owns: from (inclusive) to (exclusive). Contiguous, so a publisher reads
 * its rows with one range filter (Dataverse's $filter has no modulo). */
export function partitionSlotRange(partition: number, count: number): { from: number; to: number } {
  const problem = partitionCountProblem(count);
  if (problem) throw new RangeError(`partition count ${problem}`);
  if (!Number.isInteger(partition) || partition < 0 || partition >= count) throw new RangeError(`partition must be 0 .. ${count - 1}; got ${partition}`);
  return { from: Math.floor((partition * PARTITION_SLOTS) / count), to: Math.floor(((partition + 1) * PARTITION_SLOTS) / count) };
}

/** The partition of `count` that owns `slot`. */
export function partitionOfSlot(slot: number, count: number): number {
  for (let p = 0; p < count; p++) if (slot < partitionSlotRange(p, count).to) return p;
  throw new RangeError(`partition slot must be 0 .. ${PARTITION_SLOTS - 1}; got ${slot}`);
}
