// Who holds which partition, read the way an operator reads it: the publisher's own health report over the lease rows
// (getOutboxHealth with the scope's partition count; the status counts are not needed here, so its row store answers
// nothing). The lease names and what makes a lease live are the publisher's rules: the harness never parses them.
import { defaultHealthThresholds } from '@dataverse-outbox/contract';
import { DataverseLeaseStore, getOutboxHealth, type DataverseClient, type OutboxHealthPort } from '@dataverse-outbox/publisher-function';
import type { PublisherName } from './processes';

/** The scope the chaos publishers run (OUTBOX_SCOPE). */
export const CHAOS_SCOPE = 'default';

export interface PartitionHolder {
  partition: number;
  /** The live lease's owner (undefined: nobody holds the partition). */
  owner?: string;
  /** The chaos process behind the owner (its owner name carries the process name, processOwnerName). */
  publisher?: PublisherName;
}

/** Row counts are not what is asked: a health store that reads nothing. */
const noRows: OutboxHealthPort = {
  countByStatus: async () => ({ counts: {}, capped: [] }),
  oldestPending: async () => undefined,
  latest: async () => ({}),
};

/** The chaos process an owner name belongs to (`<host>:publisher-a:<pid>:<random>`). */
export function publisherOfOwner(owner: string | undefined, publishers: readonly PublisherName[]): PublisherName | undefined {
  return owner === undefined ? undefined : publishers.find((p) => owner.includes(`:${p}:`));
}

export async function readPartitionHolders(client: DataverseClient, partitions: number, publishers: readonly PublisherName[]): Promise<PartitionHolder[]> {
  const health = await getOutboxHealth({
    store: noRows,
    lease: new DataverseLeaseStore(client),
    scope: CHAOS_SCOPE,
    settings: { healthThresholds: defaultHealthThresholds, publisherEnabled: true, partitionCount: partitions },
  });
  const list = health.partitions ?? [{ partition: 0, owner: health.leaseActive ? health.leaseOwner : null, active: health.leaseActive }];
  return list.map((p) => {
    const owner = p.active && p.owner ? p.owner : undefined;
    return { partition: p.partition, owner, publisher: publisherOfOwner(owner, publishers) };
  });
}

/** When the last lease row `owner` holds in the scope ends (its partitions' and its membership's), epoch ms. */
export async function victimLeaseEnd(client: DataverseClient, owner: string): Promise<number | undefined> {
  const ends = (await new DataverseLeaseStore(client).listScope(CHAOS_SCOPE)).filter((l) => l.owner === owner && l.until).map((l) => l.until!.getTime());
  return ends.length ? Math.max(...ends) : undefined;
}
