// Sends acknowledgements in batches: one Service Bus send (one round trip) for the acknowledgements that are ready
// while the previous send is in flight. Nothing waits for a batch to fill, so a lone acknowledgement goes at once. Each
// caller's promise settles with its own batch's send, so "acknowledgement sent" still means it reached the queue.
export interface SendBatcherOptions {
  /** Items per send at most. */
  maxItems: number;
  /** Sends in flight at once. */
  maxSends: number;
}

export function sendBatcher<T>(send: (items: T[]) => Promise<void>, options: SendBatcherOptions): (item: T) => Promise<void> {
  const queue: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let running = 0;
  let scheduled = false;

  function pump(): void {
    scheduled = false;
    while (running < options.maxSends && queue.length > 0) {
      const batch = queue.splice(0, options.maxItems);
      running++;
      send(batch.map((b) => b.item))
        .then(
          () => batch.forEach((b) => b.resolve()),
          (error: unknown) => batch.forEach((b) => b.reject(error)),
        )
        .finally(() => {
          running--;
          pump();
        });
    }
  }

  return (item) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    });
}
