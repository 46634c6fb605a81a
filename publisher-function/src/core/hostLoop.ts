// The one polling loop every publisher runs (the outbox and the change-tracking source plug in as "cycles"). It owns
// what they share: settings refresh before each cycle, the lease (standby polling, release on stop), adaptive
// sleep with wake-up, and the start/stop/close life cycle. Pure: time and sleeping come in through `LoopTimer`.
import { describeError, OutboxError } from './errors';
import type { Logger, OperationOptions } from './ports';

/** What a cycle tells the loop about the work it found; the loop turns it into the wait before the next cycle. */
export type CycleVerdict =
  /** A full batch: there is more, go again at once. */
  | 'more'
  /** Work found but not a full batch: the shortest wait. */
  | 'worked'
  /** Nothing to do: the wait doubles per idle cycle up to the longest. */
  | 'idle'
  /** Another instance holds the lease: look again after the standby poll. */
  | 'standby'
  /** Publishing is switched off (obx_PublisherEnabled): the longest wait. */
  | 'disabled';

/** Time as the loop sees it: injectable so the loop is testable without real waits. */
export interface LoopTimer {
  /** Milliseconds, monotonic enough for deadlines. */
  now(): number;
  /** Resolves after `ms`, or as soon as `wake` aborts. */
  sleep(ms: number, wake: AbortSignal): Promise<void>;
}

export const realTimer: LoopTimer = {
  now: () => Date.now(),
  sleep: (ms, wake) =>
    new Promise<void>((resolve) => {
      if (wake.aborted) return resolve();
      const done = (): void => {
        clearTimeout(t);
        wake.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      wake.addEventListener('abort', done);
    }),
};

/** The settings the loop refreshes before every cycle (a RefreshingSettings: the first read throws, later ones keep the last good). */
export interface SettingsSource<S> {
  get(options?: OperationOptions): Promise<S>;
}

/** A lease the loop releases on stop. */
export interface ReleasableLease {
  readonly scope: string;
  release(): Promise<void>;
}

export interface LoopWaits {
  /** Wait after a cycle that found work but did not fill a batch. */
  minIntervalInMs: number;
  /** Longest wait: when idle (reached by doubling), disabled, or after repeated errors. */
  maxIntervalInMs: number;
  /** Wait of an instance without the lease before it looks again. */
  standbyPollInMs: number;
  /** Shortest wait after a failed cycle (it doubles from there up to the longest). Default 1 s. */
  errorMinWaitInMs?: number;
  /**
   * Longest gap between cycles that still renews a held lease before it lapses (cycles renew it). Caps every other
   * wait: a short lease (OUTBOX_LEASE_DURATION_SECONDS=5) must not run out during an idle wait. Default: no cap.
   */
  leaseRenewalGapInMs?: number;
}

/** The gap that keeps a LeaseKeeper's lease: it renews once half is gone and stops trusting it 10% before the end. */
export function leaseRenewalGap(leaseDurationInMs: number): number {
  return Math.floor(leaseDurationInMs * 0.4);
}

export interface HostLoopOptions<S, R> {
  /** What runs the loop, in messages, e.g. "publisher", "change tracking publisher". */
  name: string;
  /** The error log line of a failed cycle (alerts and runbooks match it). Default "<name> cycle failed". */
  cycleFailedMessage?: string;
  /** Fields added to every log line of the loop (scope, owner). */
  logFields?: Readonly<Record<string, unknown>>;
  settings: SettingsSource<S>;
  /** One cycle with the current settings. Throwing is logged and backs off; it never ends the loop. */
  cycle: (settings: S, options: OperationOptions) => Promise<R>;
  /** What a cycle's result means for the wait before the next one. */
  verdict: (result: R) => CycleVerdict;
  /** When the cycle knows work comes due (e.g. a scheduled row): the wait after it ends then at the latest. */
  wakeAt?: (result: R) => Date | undefined;
  waits: LoopWaits | (() => LoopWaits);
  /** The leases to release on stop (after `onStop`). */
  leases: () => Iterable<ReleasableLease>;
  logger: Logger;
  timer?: LoopTimer;
  /** After the first settings load, before the first cycle (e.g. start an acknowledgement listener). */
  onStart?: (settings: S) => void;
  /** On stop, after the loop ended and before the leases are released (e.g. close listeners, flush writes). */
  onStop?: () => Promise<void>;
  /** On close, after stop (e.g. close senders). */
  onClose?: () => Promise<void>;
}

export interface RunForOptions extends OperationOptions {
  /** Keep polling adaptively until the deadline instead of returning after the first cycle that found no more work. */
  untilDeadline?: boolean;
}

/** The current idle interval of one run of cycles. */
interface Pace {
  interval: number;
}

export class HostLoop<S, R> {
  private readonly timer: LoopTimer;
  private running?: Promise<void>;
  private stopping = false;
  private closed = false;
  private wakeUp = new AbortController();

  constructor(private readonly options: HostLoopOptions<S, R>) {
    this.timer = options.timer ?? realTimer;
  }

  private get waits(): LoopWaits {
    return typeof this.options.waits === 'function' ? this.options.waits() : this.options.waits;
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** True from stop() until the loop has ended: a cycle that runs several steps checks it between them. */
  get isStopping(): boolean {
    return this.stopping;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Throws OutboxError('PublisherClosed') after close(). */
  assertOpen(): void {
    if (this.closed) throw new OutboxError('PublisherClosed', `The ${this.options.name} is closed; create a new one.`);
  }

  /** The wait after a cycle with this verdict; idle waits double from the last one (`pace` carries it between cycles). */
  private waitAfter(verdict: CycleVerdict, pace: Pace): number {
    return Math.min(this.waits.leaseRenewalGapInMs ?? Infinity, this.paced(verdict, pace));
  }

  private paced(verdict: CycleVerdict, pace: Pace): number {
    const w = this.waits;
    switch (verdict) {
      case 'more':
        return 0;
      case 'worked':
        return (pace.interval = w.minIntervalInMs);
      case 'idle':
        return (pace.interval = Math.min(w.maxIntervalInMs, pace.interval * 2));
      case 'standby':
        return w.standbyPollInMs;
      case 'disabled':
        return w.maxIntervalInMs;
    }
  }

  /** The wait, cut short to the time the cycle's result says work comes due. */
  private untilDue(wait: number, result: R): number {
    const due = this.options.wakeAt?.(result);
    return due ? Math.min(wait, Math.max(0, due.getTime() - this.timer.now())) : wait;
  }

  private waitAfterError(pace: Pace): number {
    const w = this.waits;
    pace.interval = Math.min(w.maxIntervalInMs, Math.max(pace.interval * 2, w.errorMinWaitInMs ?? 1000));
    return Math.min(w.leaseRenewalGapInMs ?? Infinity, pace.interval);
  }

  /** Cuts the current wait short (e.g. after an in-process producer committed). */
  wake(): void {
    this.wakeUp.abort();
    this.wakeUp = new AbortController();
  }

  private sleep(ms: number): Promise<void> {
    return this.timer.sleep(ms, this.wakeUp.signal);
  }

  /** Loads settings (the first load throws: a clear error at start), then runs cycles until stop(). Returns the settings. */
  async start(): Promise<S> {
    this.assertOpen();
    const settings = await this.options.settings.get();
    if (this.running) return settings;
    this.stopping = false;
    this.options.onStart?.(settings);
    this.running = this.run();
    return settings;
  }

  private async run(): Promise<void> {
    const pace: Pace = { interval: this.waits.minIntervalInMs };
    while (!this.stopping) {
      let wait: number;
      try {
        const settings = await this.options.settings.get();
        const result = await this.options.cycle(settings, {});
        wait = this.untilDue(this.waitAfter(this.options.verdict(result), pace), result);
      } catch (e) {
        // A failed cycle never ends the loop: it is logged, and the next one comes after a growing wait.
        this.options.logger.error(this.options.cycleFailedMessage ?? `${this.options.name} cycle failed`, { ...this.options.logFields, error: describeError(e) });
        wait = this.waitAfterError(pace);
      }
      if (wait > 0 && !this.stopping) await this.sleep(wait);
    }
  }

  /**
   * Runs cycles for at most `budgetInMs` (a Functions timer invocation) with the same waits as the loop; a cycle's error
   * is thrown to the caller. Without `untilDeadline` it returns after the first cycle that found no more work.
   * `onCycle` sees every cycle's result (e.g. to add up totals).
   */
  async runFor(budgetInMs: number, options: RunForOptions = {}, onCycle?: (result: R) => void): Promise<void> {
    this.assertOpen();
    const deadline = this.timer.now() + budgetInMs;
    const { untilDeadline, ...cycleOptions } = options;
    const settings = await this.options.settings.get(cycleOptions);
    const pace: Pace = { interval: this.waits.minIntervalInMs };
    while (this.timer.now() < deadline && !options.abortSignal?.aborted && !this.closed) {
      const result = await this.options.cycle(settings, cycleOptions);
      onCycle?.(result);
      const verdict = this.options.verdict(result);
      if (verdict === 'more') continue;
      if (!untilDeadline || verdict === 'disabled') return;
      const wait = this.untilDue(this.waitAfter(verdict, pace), result);
      if (deadline - this.timer.now() <= wait) return;
      await this.sleep(wait);
    }
  }

  /** Graceful stop: the cycle in hand finishes, then `onStop`, then every lease is released. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running?.catch(() => undefined);
    this.running = undefined;
    await this.options.onStop?.();
    for (const lease of this.options.leases()) {
      try {
        await lease.release();
      } catch (e) {
        this.options.logger.warn('could not release the lease; it expires on its own', { ...this.options.logFields, scope: lease.scope, error: describeError(e) });
      }
    }
  }

  /** Stops, then `onClose`; afterwards start/runFor throw PublisherClosed. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    await this.options.onClose?.();
    this.closed = true;
  }
}
