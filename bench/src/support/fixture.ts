// The big outbox table the growth and cleanup benchmarks share: finished rows (mostly Acked) whose last change is older
// than the retention period, seeded through CreateMultiple with the emulator's clock moved back.
import type { DataverseClient } from '@dataverse-outbox/publisher-function';
import { OutboxStatus, Settings, type OutboxStatusValue } from '@dataverse-outbox/contract';
import type { HostedDataverse } from './emulators';
import { seedOutbox, type SeedResult } from './seed';

export const RETENTION_DAYS = Number(Settings.RetentionDays.defaultValue);
/** Finished rows are seeded this long ago: past the retention period, so the cleanup job may delete them. */
export const FINISHED_AGE_MS = (RETENTION_DAYS + 1) * 86_400_000;

/** Mix of final states, per 100 rows: 94 Acked, 3 Published (never acknowledged), 1 Cancelled, 1 Failed, 1 Dead Lettered. */
export function finishedStatus(i: number): OutboxStatusValue {
  const k = i % 100;
  if (k < 94) return OutboxStatus.Acked;
  if (k < 97) return OutboxStatus.Published;
  if (k < 98) return OutboxStatus.Cancelled;
  if (k < 99) return OutboxStatus.Failed;
  return OutboxStatus.DeadLettered;
}

export interface OutboxFixture {
  dataFile: string;
  /** Rows of the table when the fixture was handed over. */
  rows: number;
  finishedSeeded: number;
}

export const OUTBOX_FIXTURE = 'outbox-fixture';

/** Adds `count` old finished rows (continuing the numbering from `from`). */
export async function seedOldFinished(dv: HostedDataverse, client: DataverseClient, from: number, count: number, onProgress: (done: number) => void): Promise<SeedResult> {
  await dv.setClockOffset(-FINISHED_AGE_MS);
  try {
    return await seedOutbox(client, { prefix: `done-${from}`, count, status: (i) => finishedStatus(from + i), onProgress });
  } finally {
    await dv.setClockOffset(0);
  }
}
