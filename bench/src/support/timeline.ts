// Counts what the publisher reports through its metrics port, with timestamps, so a benchmark can ask "how many were
// published between t0 and t1" (e.g. while the cleanup job ran).
import type { PublisherMetrics } from '@dataverse-outbox/publisher-function';

export class PublishTimeline implements PublisherMetrics {
  private readonly events: { at: number; count: number }[] = [];
  total = 0;
  failedTotal = 0;

  published(count: number): void {
    this.total += count;
    this.events.push({ at: performance.now(), count });
  }
  failed(count: number): void {
    this.failedTotal += count;
  }
  retried(): void {}
  publishLatency(): void {}
  backlog(): void {}

  /** When the running total reached `count` (performance.now() clock), or undefined. */
  reachedAt(count: number): number | undefined {
    let n = 0;
    for (const e of this.events) {
      n += e.count;
      if (n >= count) return e.at;
    }
    return undefined;
  }

  /** Messages published with from <= time < to (performance.now() clock). */
  between(from: number, to: number): number {
    let n = 0;
    for (const e of this.events) if (e.at >= from && e.at < to) n += e.count;
    return n;
  }
}
