// Inbox retention: a background timer that purges old entries in batches, off the message-processing path.
// Keep entries longer than the longest redelivery / replay horizon, or a late duplicate would run its effect again.
import type { InboxStore } from './inbox';
import { sleep } from './internal/abort';

export interface InboxRetentionOptions {
  /** Age after which an inbox entry may be deleted. Default 30 days (the outbox keeps rows 7 days by default). */
  retentionInMs?: number;
  /** How often a purge run starts. Default 1 hour. */
  intervalInMs?: number;
  /** Rows per delete statement. Default 1000. */
  batchSize?: number;
  /** Pause between batches so a large backlog never hogs the database. Default 50 ms. */
  pauseBetweenBatchesInMs?: number;
  /** Called after each run with the number of entries deleted. */
  onPurged?: (deleted: number) => void;
  /** Called when a run fails (it is retried at the next interval). */
  onError?: (error: unknown) => void;
}

export const defaultInboxRetentionInMs = 30 * 24 * 60 * 60 * 1000;

export interface InboxRetention {
  /** Runs one purge now (also used by the timer); resolves with the number of entries deleted. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startInboxRetention(inbox: InboxStore<unknown>, options: InboxRetentionOptions = {}): InboxRetention {
  const retentionInMs = options.retentionInMs ?? defaultInboxRetentionInMs;
  const intervalInMs = options.intervalInMs ?? 60 * 60 * 1000;
  const batchSize = options.batchSize ?? 1000;
  const pause = options.pauseBetweenBatchesInMs ?? 50;
  if (!(retentionInMs > 0)) throw new RangeError(`retentionInMs must be positive, got ${retentionInMs}`);
  if (!(intervalInMs > 0)) throw new RangeError(`intervalInMs must be positive, got ${intervalInMs}`);
  const stopping = new AbortController();
  let running: Promise<number> | undefined;

  async function purgeAll(): Promise<number> {
    let total = 0;
    while (!stopping.signal.aborted) {
      const olderThan = new Date(Date.now() - retentionInMs);
      const n = await inbox.purge({ olderThan, batchSize, maxBatches: 1 });
      total += n;
      if (n < batchSize) break;
      await sleep(pause, stopping.signal);
    }
    return total;
  }

  function runOnce(): Promise<number> {
    running ??= purgeAll().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => {
    // A run still in progress is not reported twice: the next tick simply skips.
    if (running) return;
    runOnce().then(
      (n) => options.onPurged?.(n),
      (error: unknown) => options.onError?.(error),
    );
  }, intervalInMs);
  // Retention never keeps a process alive on its own.
  timer.unref();

  return {
    runOnce,
    async stop(): Promise<void> {
      clearInterval(timer);
      stopping.abort();
      await running?.catch(() => undefined);
    },
  };
}
