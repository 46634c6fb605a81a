// Outbox health: bounded counts of the statuses health judges, oldest pending age, time since the last publish, lease owner, read through the
// core's health port (the Dataverse store in production) and judged by the contract's rules.
import { healthCountLimits } from '@dataverse-outbox/contract';
import { computeHealth, type OutboxHealth, type OutboxHealthPort, type PartitionHealth } from './core/health';
import { classifyLease, isLive } from './core/partitions';
import type { LeasePort, LeaseState, OperationOptions } from './core/ports';
import type { OutboxSettings } from './core/settings';

export interface HealthSources {
  store: OutboxHealthPort;
  lease: Pick<LeasePort, 'read' | 'listScope'>;
  scope: string;
  /** Partition count (obx_PartitionCount); with more than one, every partition's lease is judged. Default 1. */
  settings: Pick<OutboxSettings, 'healthThresholds' | 'publisherEnabled'> & { partitionCount?: number };
  now?: () => Date;
}

export async function getOutboxHealth(src: HealthSources, options: OperationOptions = {}): Promise<OutboxHealth> {
  const count = src.settings.partitionCount ?? 1;
  const [counts, oldest, latest, leases, lastCanary] = await Promise.all([
    src.store.countByStatus(healthCountLimits(src.settings.healthThresholds), options),
    src.store.oldestPending(options),
    src.store.latest(options),
    // One partition: the scope's own lease (one read); several: every lease of the scope in one list.
    count > 1 ? src.lease.listScope(src.scope, options) : src.lease.read(src.scope, options).then((l) => (l ? [l] : [])),
    src.store.lastCanary?.(options),
  ]);
  const now = src.now?.() ?? new Date();
  const lease = count > 1 ? partitionLeases(src.scope, count, leases, now) : { owner: leases[0]?.owner, until: leases[0]?.until };
  return computeHealth({
    now,
    counts: counts.counts,
    countsCapped: counts.capped,
    oldestPendingCreatedOn: oldest?.createdOn,
    lastPublishedOn: latest.lastPublishedOn,
    leaseOwner: lease.owner,
    leaseUntil: lease.until,
    partitions: 'partitions' in lease ? lease.partitions : undefined,
    lastError: latest.lastError,
    lastCanary,
    publisherEnabled: src.settings.publisherEnabled,
    thresholds: src.settings.healthThresholds,
  });
}

/**
 * The lease figures of a partitioned scope: held only while every partition of the current count is held (a partition
 * nobody holds is a key range nobody publishes), until = the earliest end, owners listed once each.
 */
function partitionLeases(scope: string, count: number, leases: readonly LeaseState[], now: Date): { owner?: string; until?: Date; partitions: PartitionHealth[] } {
  const partitions: PartitionHealth[] = Array.from({ length: count }, (_, partition) => ({ partition, owner: null, active: false }));
  let until: Date | undefined;
  for (const lease of leases) {
    const l = classifyLease(scope, lease);
    if (l?.kind !== 'partition' || l.partition.count !== count || !isLive(l, now)) continue;
    partitions[l.partition.index] = { partition: l.partition.index, owner: l.owner ?? null, active: true };
    if (!until || l.until!.getTime() < until.getTime()) until = l.until;
  }
  const owners = [...new Set(partitions.flatMap((p) => (p.owner ? [p.owner] : [])))];
  return { owner: owners.length ? owners.join(', ') : undefined, until: partitions.every((p) => p.active) ? until : undefined, partitions };
}
