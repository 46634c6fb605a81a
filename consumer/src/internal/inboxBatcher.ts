// Groups the inbox transactions of messages in flight into batches (InboxStore.processBatch): one transaction and one
// commit for many messages (savepoints only when a handler of the batch failed). Batching is "natural": nothing waits for a batch to fill; messages that
// arrive while the store's transactions are busy form the next batch, so a lone message goes at once and a busy consumer
// gets large batches. Each message's promise settles only after its batch committed (or failed), so a message is never
// completed before its inbox record is durable.
import type { InboxBatchItem, InboxBatchResult, InboxProcessResult, InboxRecord, InboxStore } from '../inbox';

export interface InboxBatchingOptions {
  /** Messages per transaction at most (1..64; PostgreSQL keeps up to 64 subtransactions cheap). Default 20. */
  maxMessages?: number;
  /** Batch transactions at once (each holds one connection). Default: concurrency / maxMessages, rounded up. */
  maxTransactions?: number;
}

export type ProcessOnce<TTransaction> = (record: InboxRecord, work: (transaction: TTransaction) => Promise<void>) => Promise<InboxProcessResult<void>>;

interface Waiting<TTransaction> {
  item: InboxBatchItem<TTransaction, void>;
  resolve: (result: InboxBatchResult<void>) => void;
  reject: (error: unknown) => void;
}

export const maxBatchMessages = 64;

/** Resolves the options against the consumer's concurrency (validated: positive integers, maxMessages <= 64). */
export function resolveBatching(options: InboxBatchingOptions, concurrency: number): Required<InboxBatchingOptions> {
  const maxMessages = options.maxMessages ?? Math.min(20, concurrency);
  if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > maxBatchMessages) {
    throw new RangeError(`batching.maxMessages must be an integer from 1 to ${maxBatchMessages}, got ${maxMessages}`);
  }
  const maxTransactions = options.maxTransactions ?? Math.ceil(concurrency / maxMessages);
  if (!Number.isInteger(maxTransactions) || maxTransactions < 1) throw new RangeError(`batching.maxTransactions must be a positive integer, got ${maxTransactions}`);
  return { maxMessages, maxTransactions };
}

/** processOnce through batches when the store supports them, else the store's own processOnce. */
export function batchedProcessOnce<TTransaction>(inbox: InboxStore<TTransaction>, options: Required<InboxBatchingOptions>): ProcessOnce<TTransaction> {
  const processBatch = inbox.processBatch?.bind(inbox);
  if (!processBatch || options.maxMessages === 1) return (record, work) => inbox.processOnce(record, work);
  const queue: Waiting<TTransaction>[] = [];
  let running = 0;
  let scheduled = false;

  async function run(batch: Waiting<TTransaction>[]): Promise<void> {
    try {
      // A batch of one needs no savepoint: the plain transaction is cheaper.
      const results =
        batch.length === 1
          ? [await inbox.processOnce(batch[0]!.item.record, batch[0]!.item.work).catch((error: unknown) => ({ status: 'failed' as const, error }))]
          : await processBatch!(batch.map((w) => w.item));
      batch.forEach((waiting, i) => waiting.resolve(results[i]!));
    } catch (error) {
      // The batch did not commit: every message of it fails alike (the inbox's failure is transient for each).
      for (const waiting of batch) waiting.reject(error);
    }
  }

  function take(): Waiting<TTransaction>[] {
    // Two deliveries of one id never share a batch: the later one waits for the next, where it is a duplicate.
    const batch: Waiting<TTransaction>[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < queue.length && batch.length < options.maxMessages; ) {
      const waiting = queue[i]!;
      if (ids.has(waiting.item.record.outboxMessageId)) {
        i++;
        continue;
      }
      ids.add(waiting.item.record.outboxMessageId);
      batch.push(waiting);
      queue.splice(i, 1);
    }
    return batch;
  }

  function pump(): void {
    scheduled = false;
    while (running < options.maxTransactions && queue.length > 0) {
      const batch = take();
      running++;
      void run(batch).finally(() => {
        running--;
        pump();
      });
    }
  }

  return (record, work) =>
    new Promise<InboxBatchResult<void>>((resolve, reject) => {
      queue.push({ item: { record, work }, resolve, reject });
      // Messages delivered in the same turn of the event loop go together.
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    }).then((result) => {
      if (result.status === 'failed') throw result.error;
      return result;
    });
}
