// What the change-tracking cycle needs from the world. The Dataverse adapters implement them.
import type { OperationOptions, PublisherMetrics } from '../../core/ports';
import type { ChangeTrackingSourceConfig } from './config';
import type { TrackedChange } from './mapping';

/** One page of an initial synchronisation or of a delta. The last page carries the next delta token. */
export interface ChangePage {
  changes: TrackedChange[];
  /** Present on the last page only. */
  deltaToken?: string;
}

export interface DeltaReaderPort {
  /**
   * Without a token: every row (initial synchronisation, `Prefer: odata.track-changes`). With one: the changes since.
   * Throws ChangeTrackingError TokenExpired / TokenInvalid when Dataverse refuses the token.
   */
  read(source: ChangeTrackingSourceConfig, deltaToken: string | undefined, options: OperationOptions & { pageSize: number }): AsyncIterable<ChangePage>;
}

export interface ChangeCheckpoint {
  name: string;
  table?: string;
  deltaToken?: string;
  lastSyncOn?: Date;
  lastResyncOn?: Date;
  resyncReason?: string;
  resyncCount: number;
  /** Row id and version, for conditional writes. */
  id?: string;
  etag?: string;
}

export type CheckpointChanges = Partial<Pick<ChangeCheckpoint, 'table' | 'lastSyncOn' | 'lastResyncOn' | 'resyncReason' | 'resyncCount'>> & {
  /** null clears it (the next read is a full synchronisation). */
  deltaToken?: string | null;
};

export interface CheckpointPort {
  read(name: string, options?: OperationOptions): Promise<ChangeCheckpoint | undefined>;
  /**
   * Writes conditionally: only over the version `current` was read at (or only if no row exists when `current` is
   * undefined). Throws ChangeTrackingError CheckpointConflict otherwise. Returns the new state.
   */
  write(name: string, current: ChangeCheckpoint | undefined, changes: CheckpointChanges, options?: OperationOptions): Promise<ChangeCheckpoint>;
}

/** The outbox source's metrics plus the change-tracking ones. */
export interface ChangeTrackingMetrics extends PublisherMetrics {
  /** A source had to re-read its whole table: alert on any increase. */
  resync(source: string, reason: string): void;
  /** A delta token was saved: time since the last one is the source's staleness. */
  checkpointed?(source: string): void;
}

export const noChangeTrackingMetrics: ChangeTrackingMetrics = {
  published: () => {},
  failed: () => {},
  retried: () => {},
  publishLatency: () => {},
  backlog: () => {},
  resync: () => {},
};
