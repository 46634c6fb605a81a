// Outbox health: bounded counts of the statuses health judges, oldest pending age, time since the last publish, lease owner, read through the
// core's health port (the Dataverse store in production) and judged by the contract's rules.
import { healthCountLimits } from '@dataverse-outbox/contract';
import { computeHealth, type OutboxHealth, type OutboxHealthPort } from './core/health';
import type { LeasePort, OperationOptions } from './core/ports';
import type { OutboxSettings } from './core/settings';

export interface HealthSources {
  store: OutboxHealthPort;
  lease: Pick<LeasePort, 'read'>;
  scope: string;
  settings: Pick<OutboxSettings, 'healthThresholds' | 'publisherEnabled'>;
  now?: () => Date;
}

export async function getOutboxHealth(src: HealthSources, options: OperationOptions = {}): Promise<OutboxHealth> {
  const [counts, oldest, latest, lease] = await Promise.all([
    src.store.countByStatus(healthCountLimits(src.settings.healthThresholds), options),
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
