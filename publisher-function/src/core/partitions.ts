// Partitioned publishing: which partitions of a scope this instance should publish, decided from the lease rows alone.
// Every partition has its own lease (`<scope>:p<i>of<count>`; with one partition the scope's own lease, as before
// partitions existed); every live instance keeps a membership lease (`<scope>:instance:<id>`) so the others know how
// many share the work. Pure: the adapter lists the lease rows, this decides, the host starts and stops lanes.
import { partitionCountProblem } from '@dataverse-outbox/contract';
import type { LeaseState } from './ports';

/** A partition of a scope: `index` of `count`. */
export interface PartitionRef {
  index: number;
  count: number;
}

/** The lease scope of a partition. One partition keeps the scope's own name, so a single publisher works as it always did. */
export function partitionLeaseScope(scope: string, partition: PartitionRef): string {
  return partition.count === 1 ? scope : `${scope}:p${partition.index}of${partition.count}`;
}

/** The membership lease of an instance (`instanceId`: letters and digits, e.g. a random hex id). */
export function memberLeaseScope(scope: string, instanceId: string): string {
  return `${scope}:instance:${instanceId}`;
}

/** The lease rows of a scope: its own, its partitions' and its members' names all start with it. */
export function scopeLeasePrefix(scope: string): string {
  return `${scope}:`;
}

export type ScopeLease =
  | { kind: 'partition'; partition: PartitionRef; owner?: string; until?: Date }
  | { kind: 'member'; instanceId: string; owner?: string; until?: Date };

/** What a lease row of `scope` is, or undefined when it belongs to another scope (or is no lease of the publisher). */
export function classifyLease(scope: string, lease: LeaseState): ScopeLease | undefined {
  // Lease names are an alternate key, which Dataverse compares ignoring case.
  const name = lease.scope.toLowerCase();
  if (name === scope.toLowerCase()) return { kind: 'partition', partition: { index: 0, count: 1 }, owner: lease.owner, until: lease.until };
  const prefix = scopeLeasePrefix(scope).toLowerCase();
  if (!name.startsWith(prefix)) return undefined;
  const rest = lease.scope.slice(prefix.length);
  const p = /^p(\d{1,2})of(\d{1,2})$/i.exec(rest);
  if (p) {
    const partition = { index: Number(p[1]), count: Number(p[2]) };
    if (partitionCountProblem(partition.count) || partition.index >= partition.count || partition.count === 1) return undefined;
    return { kind: 'partition', partition, owner: lease.owner, until: lease.until };
  }
  const m = /^instance:([A-Za-z0-9._-]{1,100})$/i.exec(rest);
  return m ? { kind: 'member', instanceId: m[1]!, owner: lease.owner, until: lease.until } : undefined;
}

/** A lease someone holds now. */
export function isLive(lease: { owner?: string; until?: Date }, now: Date): boolean {
  return lease.owner !== undefined && lease.until !== undefined && lease.until.getTime() > now.getTime();
}

export interface BalanceInput {
  scope: string;
  /** The partition count this instance's settings say. */
  count: number;
  /** This instance's owner name (as written in its leases). */
  owner: string;
  /** Most partitions one instance publishes (OUTBOX_MAX_PARTITIONS_PER_INSTANCE); default: no limit. */
  maxPerInstance?: number;
  /** Every lease row of the scope (its own name and the names under `<scope>:`). */
  leases: readonly LeaseState[];
  /** Partitions this instance publishes now (holds their lease). */
  held: readonly number[];
  /**
   * Partitions of `held` this instance took while stranded, a short while ago: not handed over yet, whatever the share
   * says (the instance whose lease ran out may still have a lane stuck on it, which would strand it again).
   */
  keep?: readonly number[];
  now: Date;
}

export interface BalancePlan {
  /** Partitions to try to take (free now); taking is still a conditional write that may lose. */
  claim: number[];
  /** The partitions of `claim` that are stranded (see planBalance): claimed even above the share. */
  stranded: number[];
  /** Partitions to hand over (drain, then release): this instance holds more than its share while another has less. */
  release: number[];
  /** Live leases of another partition count (a count change in progress): publish nothing until they are gone. */
  otherCountOwners: string[];
  /** Live instances, this one included. */
  instances: number;
  /** The most this instance should hold now. */
  share: number;
}

/**
 * The balancing rule (as Event Hubs' processors share partitions through ownership records): with P partitions and M
 * live instances, every instance should hold at least floor(P/M) and at most ceil(P/M). Free partitions are claimed up to
 * the ceiling; an instance above the floor hands one partition over per round while some instance is below it (the one
 * holding most, ties by owner name, so exactly one gives way). A lease of another partition count blocks everything:
 * two counts never publish at once, so no key is published by two partitions.
 *
 * A partition is *stranded* when its lease ran out (the owner is still written: a release clears it, see
 * DataverseLeaseStore.release) while its owner's membership lease is live: the owner is alive but its lane is not
 * renewing (stuck in a send, for one). Counted by the share alone, nobody would take it (the owner counts as a member
 * and the others are at their share), so any instance claims it even above its ceiling (never above
 * maxPerInstance). An instance holding a partition it took while stranded (`keep`) hands nothing over until the host
 * stops listing it; then the share applies as usual and the partition goes back to the instance below its floor. A
 * partition given back, or whose owner's membership ran out too (a dead instance), is just free: claimed up to the share.
 */
export function planBalance(input: BalanceInput): BalancePlan {
  const { scope, count, owner, now } = input;
  const partitionOwners = new Map<number, string>();
  const otherCountOwners = new Set<string>();
  const members = new Set<string>([owner]);
  /** Partitions of this count whose lease ran out, with the owner still written: index -> that owner. */
  const ranOut = new Map<number, string>();
  for (const lease of input.leases) {
    const l = classifyLease(scope, lease);
    if (l?.kind === 'partition' && l.partition.count === count && l.owner !== undefined && l.until !== undefined && !isLive(l, now)) ranOut.set(l.partition.index, l.owner);
    if (!l || !isLive(l, now)) continue;
    if (l.kind === 'member') members.add(l.owner!);
    else if (l.partition.count !== count) otherCountOwners.add(l.owner!);
    else {
      partitionOwners.set(l.partition.index, l.owner!);
      members.add(l.owner!);
    }
  }
  for (const index of input.held) partitionOwners.set(index, owner);
  const instances = members.size;
  const cap = Math.max(1, input.maxPerInstance ?? count);
  const floor = Math.min(cap, Math.floor(count / instances));
  const ceiling = Math.min(cap, Math.ceil(count / instances));
  const blocked = [...otherCountOwners];
  if (blocked.length > 0) return { claim: [], stranded: [], release: [], otherCountOwners: blocked, instances, share: 0 };
  // Owners whose membership lease is live (an owner of a live partition lease only is no proof of a live instance here).
  const liveMembers = new Set<string>();
  for (const lease of input.leases) {
    const l = classifyLease(scope, lease);
    if (l?.kind === 'member' && isLive(l, now)) liveMembers.add(l.owner!);
  }

  const heldBy = new Map<string, number[]>([...members].map((m) => [m, []]));
  for (const [index, o] of partitionOwners) heldBy.set(o, [...(heldBy.get(o) ?? []), index]);
  const mine = [...(heldBy.get(owner) ?? [])].sort((a, b) => a - b);

  // While an instance holds less than the floor, nobody else takes more than the floor (a partition handed over goes
  // to the instance that needs it, not back to the one that gave it up).
  const starving = [...heldBy.values()].some((h) => h.length < floor);
  const limit = starving && mine.length >= floor ? floor : ceiling;
  const claim: number[] = [];
  for (let index = 0; index < count && mine.length + claim.length < limit; index++) {
    if (!partitionOwners.has(index)) claim.push(index);
  }
  // Stranded partitions: claimed above the share, up to the cap. Not our own (our lane for it is still there).
  const stranded: number[] = [];
  for (const [index, o] of [...ranOut].sort((a, b) => a[0] - b[0])) {
    if (o === owner || partitionOwners.has(index) || !liveMembers.has(o)) continue;
    if (claim.includes(index)) stranded.push(index);
    else if (mine.length + claim.length < cap) {
      stranded.push(index);
      claim.push(index);
    }
  }
  claim.sort((a, b) => a - b);
  const release: number[] = [];
  const keeping = (input.keep ?? []).some((i) => mine.includes(i));
  if (keeping) {
    // Just took a stranded partition: hand nothing over yet (see above).
  } else if (mine.length > ceiling) release.push(...mine.slice(ceiling).reverse());
  else if (claim.length === 0 && mine.length > floor) {
    const unclaimed = count - partitionOwners.size;
    if (starving && unclaimed === 0) {
      // The instance that gives way: most partitions held, then the greatest owner name (every instance computes the same).
      const giver = [...heldBy.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0))[0]![0];
      if (giver === owner) release.push(mine[mine.length - 1]!);
    }
  }
  return { claim, stranded, release, otherCountOwners: [], instances, share: ceiling };
}
