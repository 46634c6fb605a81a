// The stall gauge (spec invariant 7): the age of the oldest Pending row, measured on a timer by every running instance
// (lease or not: a switched-off or starved publisher is exactly the stall to alert on) and on demand (Functions timer).
import { describeError } from './core/errors';
import type { Clock, Logger, OperationOptions, PublisherMetrics } from './core/ports';
import type { DataverseOutboxStore } from './dataverse/outboxStore';

export class PendingAgeGauge {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number | undefined>;

  constructor(
    private readonly store: Pick<DataverseOutboxStore, 'oldestPending'>,
    private readonly clock: Clock,
    private readonly metrics: Pick<PublisherMetrics, 'pendingAge'> | undefined,
    private readonly logger: Logger,
    private readonly logFields: Readonly<Record<string, string>>,
  ) {}

  /** Measures once (one request; concurrent calls share it): seconds, 0 when nothing is Pending, undefined when unreadable. */
  measure(options: OperationOptions = {}): Promise<number | undefined> {
    this.running ??= (async () => {
      try {
        const oldest = await this.store.oldestPending(options);
        const age = oldest?.createdOn ? Math.max(0, Math.round((this.clock.now().getTime() - oldest.createdOn.getTime()) / 1000)) : 0;
        this.metrics?.pendingAge?.(age);
        return age;
      } catch (e) {
        this.logger.warn('could not measure the oldest pending age', { ...this.logFields, error: describeError(e) });
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Measures now and every `everyInMs` (0: never). */
  start(everyInMs: number): void {
    if (everyInMs <= 0 || this.timer) return;
    void this.measure();
    this.timer = setInterval(() => void this.measure(), everyInMs);
  }

  /** Stops the timer and waits for a measurement in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
