// Outbox health from Dataverse: counts by status, oldest pending age, time since the last publish, lease owner.
import { computeHealth, type OutboxHealth } from './core/health';
import type { LeasePort, OperationOptions } from './core/ports';
import type { OutboxSettings } from './core/settings';
import type { DataverseOutboxStore } from './dataverse/outboxStore';

export interface HealthSources {
  store: DataverseOutboxStore;
  lease: LeasePort;
  scope: string;
  settings: Pick<OutboxSettings, 'healthThresholds' | 'publisherEnabled'>;
  now?: () => Date;
}

export async function getOutboxHealth(src: HealthSources, options: OperationOptions = {}): Promise<OutboxHealth> {
  const [counts, oldest, latest, lease] = await Promise.all([
    src.store.countByStatus(options),
    src.store.oldestPending(options),
    src.store.latest(options),
    src.lease.read(src.scope, options),
  ]);
  return computeHealth({
    now: src.now?.() ?? new Date(),
    counts: counts.counts,
    countsCapped: counts.capped,
    oldestPendingCreatedOn: oldest?.createdOn,
    lastPublishedOn: latest.lastPublishedOn,
    leaseOwner: lease?.owner,
    leaseUntil: lease?.until,
    lastError: latest.lastError,
    publisherEnabled: src.settings.publisherEnabled,
    thresholds: src.settings.healthThresholds,
  });
}
