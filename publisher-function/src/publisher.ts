// The publisher: settings, lease and publish cycles run continuously (worker) or within a time budget (Functions
// timer), draining while work remains and polling adaptively when idle.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ServiceBusClient } from '@azure/service-bus';
import type { BackoffOptions } from './core/backoff';
import { describeError, OutboxError } from './core/errors';
import type { OutboxHealth } from './core/health';
import { DEFAULT_LEASE_DURATION_MS, LeaseKeeper } from './core/lease';
import { KeyBlockers } from './core/ordering';
import { RefreshingSettings } from './refreshingSettings';
import { noMetrics, silentLogger, systemClock, type Clock, type Logger, type OperationOptions, type PublisherMetrics } from './core/ports';
import { runPublishCycle, type MarkSummary, type PublishCycleDeps, type PublishCycleResult } from './core/publishCycle';
import { parseSettings, type OutboxSettings } from './core/settings';
import type { DataverseClient } from '@dataverse-outbox/web-api';
import { DataverseLeaseStore } from './dataverse/leaseStore';
import { DataverseOutboxStore } from './dataverse/outboxStore';
import { readSettingsFromDataverse } from './dataverse/settingsSource';
import { getOutboxHealth } from './health';
import { AckListener } from './servicebus/ackListener';
import { runDeadLetterMonitor, type DeadLetterMonitorResult } from './servicebus/deadLetterMonitor';
import { ServiceBusMessageSender } from './servicebus/sender';

export interface PollingOptions {
  /** Wait after a cycle that found work but did not fill a batch. Default 100 ms. */
  minIntervalInMs?: number;
  /** Longest wait when idle; the wait doubles per idle cycle up to this. Default 5 s (0.2 reads/s idle). */
  maxIntervalInMs?: number;
}

export interface PublisherOptions {
  dataverse: DataverseClient;
  serviceBus: ServiceBusClient;
  /** Lease scope (OUTBOX_SCOPE). Default "default". */
  scope?: string;
  /** This instance's name in the lease. Default host:pid:random. */
  owner?: string;
  /** App settings, for OUTBOX_<SETTING> overrides. Default process.env. */
  appSettings?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
  metrics?: PublisherMetrics;
  clock?: Clock;
  /** How long a taken lease lasts (OUTBOX_LEASE_DURATION_SECONDS). Default 60 s. */
  leaseDurationInMs?: number;
  /** How often an instance without the lease looks whether it is free (OUTBOX_STANDBY_POLL_SECONDS). Default 3 s. */
  standbyPollInMs?: number;
  polling?: PollingOptions;
  /** How often settings are re-read from Dataverse. Default 5 min. */
  settingsRefreshIntervalInMs?: number;
  backoff?: BackoffOptions;
  /** Bulk writes of earlier cycles that may still run while the next batch is read and sent. Default 4. */
  maxConcurrentMarks?: number;
  /** Longest wait for one Service Bus batch creation or send before it counts as a transient failure. Default 30 s. */
  sendTimeoutInMs?: number;
  /** Worker only: listen on obx_AckQueue. Default true. */
  ackListener?: boolean;
  /** Worker only: dead-letter monitor interval; 0 turns it off. Default 60 s. */
  deadLetterMonitorIntervalInMs?: number;
  /** Worker only: how often the oldest Pending row's age is measured for metrics (stall alerts); 0 = never. Default 60 s. */
  pendingAgeIntervalInMs?: number;
}

export interface RunForResult {
  cycles: number;
  published: number;
  failed: number;
  retrying: number;
  outcome: PublishCycleResult['outcome'] | 'error';
  error?: string;
}

/** Creates a publisher; nothing connects until `start`, `runOnce` or `runFor`. */
export function createPublisher(options: PublisherOptions): OutboxPublisher {
  return new OutboxPublisher(options);
}

/** Default standby poll: a graceful hand-over takes at most this long plus one cycle. */
const DEFAULT_STANDBY_POLL_MS = 3000;

export class OutboxPublisher {
  readonly scope: string;
  readonly owner: string;
  readonly store: DataverseOutboxStore;
  readonly leaseStore: DataverseLeaseStore;
  private readonly sender: ServiceBusMessageSender;
  private readonly lease: LeaseKeeper;
  private readonly blockers = new KeyBlockers();
  private readonly inFlight = new Set<string>();
  private readonly marks = new Set<Promise<MarkSummary>>();
  private readonly logger: Logger;
  private readonly metrics: PublisherMetrics;
  private readonly clock: Clock;
  private readonly settingsSource: RefreshingSettings<OutboxSettings>;
  private loop?: Promise<void>;
  private stopping = false;
  private wakeUp?: () => void;
  private ackListener?: AckListener;
  private dlqTimer?: NodeJS.Timeout;
  private pendingAgeTimer?: NodeJS.Timeout;
  private pendingAgeRunning?: Promise<number | undefined>;
  private dlqRunning?: Promise<unknown>;
  private closed = false;
  /** Time of the last successful publish by this instance. */
  lastPublishedAt?: Date;

  constructor(private readonly options: PublisherOptions) {
    this.scope = options.scope ?? 'default';
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noMetrics;
    this.clock = options.clock ?? systemClock;
    this.store = new DataverseOutboxStore(options.dataverse);
    this.leaseStore = new DataverseLeaseStore(options.dataverse, () => this.clock.now());
    this.sender = new ServiceBusMessageSender(options.serviceBus, { operationTimeoutInMs: options.sendTimeoutInMs });
    this.lease = new LeaseKeeper(this.leaseStore, { scope: this.scope, owner: this.owner, durationInMs: options.leaseDurationInMs ?? DEFAULT_LEASE_DURATION_MS, clock: this.clock, logger: this.logger });
    this.settingsSource = new RefreshingSettings({
      read: async (o) => parseSettings(await readSettingsFromDataverse(options.dataverse, o), options.appSettings ?? process.env),
      refreshIntervalInMs: options.settingsRefreshIntervalInMs ?? 300_000,
      logger: this.logger,
      what: 'settings',
      onChange: () => this.logger.info('settings changed', { scope: this.scope }),
    });
  }

  /** Current settings (after the first load). */
  get settings(): OutboxSettings | undefined {
    return this.settingsSource.current;
  }

  get holdsLease(): boolean {
    return this.lease.isHeld();
  }

  private get standbyPollInMs(): number {
    return Math.max(100, Math.min(this.options.standbyPollInMs ?? DEFAULT_STANDBY_POLL_MS, this.lease.durationInMs));
  }

  /** Reads and validates settings. The first load throws OutboxError('InvalidSettings'); later refreshes keep the last good ones. */
  loadSettings(options: OperationOptions = {}): Promise<OutboxSettings> {
    return this.settingsSource.get(options);
  }

  private deps(settings: OutboxSettings): PublishCycleDeps {
    return {
      store: this.store,
      sender: this.sender,
      lease: this.lease,
      blockers: this.blockers,
      clock: this.clock,
      logger: this.logger,
      metrics: this.metrics,
      settings,
      backoff: this.options.backoff,
    };
  }

  private track(marked: Promise<MarkSummary>): void {
    this.marks.add(marked);
    void marked.finally(() => this.marks.delete(marked));
  }

  /** Waits until every bulk write started by earlier cycles has settled. */
  async flush(): Promise<void> {
    while (this.marks.size > 0) await Promise.all([...this.marks]);
  }

  private assertOpen(): void {
    if (this.closed) throw new OutboxError('PublisherClosed', 'The publisher is closed; create a new one with createPublisher().');
  }

  /** One publish cycle, its bulk write included. */
  async runOnce(options: OperationOptions = {}): Promise<PublishCycleResult> {
    this.assertOpen();
    const settings = await this.loadSettings(options);
    const result = await runPublishCycle(this.deps(settings), { ...options, inFlight: this.inFlight, settleInFlight: () => this.flush() });
    if (result.published > 0) this.lastPublishedAt = this.clock.now();
    return result;
  }

  /** Drains for at most `budgetInMs` (Functions timer invocations), pipelining bulk writes; all writes are done on return. */
  async runFor(budgetInMs: number, options: OperationOptions & { untilDeadline?: boolean } = {}): Promise<RunForResult> {
    this.assertOpen();
    const deadline = Date.now() + budgetInMs;
    const min = this.options.polling?.minIntervalInMs ?? 100;
    const max = this.options.polling?.maxIntervalInMs ?? 5000;
    let interval = min;
    const total: RunForResult = { cycles: 0, published: 0, failed: 0, retrying: 0, outcome: 'ran' };
    try {
      const settings = await this.loadSettings(options);
      while (Date.now() < deadline && !options.abortSignal?.aborted) {
        const r = await this.cycle(settings, options);
        total.cycles++;
        total.published += r.published;
        total.failed += r.failed;
        total.retrying += r.retrying;
        total.outcome = r.outcome;
        if (r.more) continue;
        // Functions timer: keep polling adaptively until the budget ends, so latency does not wait for the next tick;
        // without the lease (an instance that died holding it), look for it every standby poll instead of a minute.
        if (!options.untilDeadline || (r.outcome !== 'ran' && r.outcome !== 'no-lease')) break;
        const wait = r.outcome === 'no-lease' ? this.standbyPollInMs : (interval = r.read > 0 ? min : Math.min(max, interval * 2));
        const left = deadline - Date.now();
        if (left <= wait) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } catch (e) {
      total.outcome = 'error';
      total.error = describeError(e);
      this.logger.error('publish run failed', { scope: this.scope, error: total.error });
    } finally {
      await this.flush();
    }
    return total;
  }

  private async cycle(settings: OutboxSettings, options: OperationOptions): Promise<PublishCycleResult> {
    const maxMarks = this.options.maxConcurrentMarks ?? 4;
    while (this.marks.size >= maxMarks) await Promise.race([...this.marks]);
    const r = await runPublishCycle(this.deps(settings), { ...options, inFlight: this.inFlight, deferMarks: true, settleInFlight: () => this.flush() });
    this.track(r.marked);
    if (r.published > 0) this.lastPublishedAt = this.clock.now();
    this.metrics.backlog(r.read);
    return r;
  }

  /** Loads settings (throws on invalid ones: a clear error at start), then publishes until stop(). */
  async start(): Promise<void> {
    this.assertOpen();
    if (this.loop) return;
    const settings = await this.loadSettings();
    this.stopping = false;
    this.loop = this.run();
    if ((this.options.ackListener ?? true) && settings.ackQueue) {
      this.ackListener = new AckListener(this.options.serviceBus, this.store, settings.ackQueue, { logger: this.logger, metrics: this.metrics });
      this.ackListener.start();
    }
    const dlqEvery = this.options.deadLetterMonitorIntervalInMs ?? 60_000;
    if (dlqEvery > 0) {
      this.dlqTimer = setInterval(() => {
        if (this.dlqRunning || !this.lease.isHeld()) return;
        this.dlqRunning = this.monitorDeadLetters().finally(() => (this.dlqRunning = undefined));
      }, dlqEvery);
    }
    // Every running instance reports, lease or not: a switched-off or starved publisher is exactly the stall to alert on.
    const ageEvery = this.options.pendingAgeIntervalInMs ?? 60_000;
    if (ageEvery > 0) {
      void this.measurePendingAge();
      this.pendingAgeTimer = setInterval(() => void this.measurePendingAge(), ageEvery);
    }
    this.logger.info('publisher started', { scope: this.scope, owner: this.owner, batchSize: settings.batchSize, targets: settings.allowedTargets });
  }

  /**
   * Measures the age of the oldest Pending row (one request) and reports it to the metrics (`outbox.pending.oldest_age`).
   * Returns it in seconds (0 when none is Pending), or undefined when Dataverse could not be read.
   */
  measurePendingAge(options: OperationOptions = {}): Promise<number | undefined> {
    this.pendingAgeRunning ??= (async () => {
      try {
        const oldest = await this.store.oldestPending(options);
        const age = oldest?.createdOn ? Math.max(0, Math.round((this.clock.now().getTime() - oldest.createdOn.getTime()) / 1000)) : 0;
        this.metrics.pendingAge?.(age);
        return age;
      } catch (e) {
        this.logger.warn('could not measure the oldest pending age', { scope: this.scope, error: describeError(e) });
        return undefined;
      } finally {
        this.pendingAgeRunning = undefined;
      }
    })();
    return this.pendingAgeRunning;
  }

  /** One pass of the dead-letter monitor over the allowed targets. */
  async monitorDeadLetters(options: OperationOptions = {}): Promise<DeadLetterMonitorResult[]> {
    const settings = await this.loadSettings(options);
    return runDeadLetterMonitor(this.options.serviceBus, this.store, settings.allowedTargets, { ...options, logger: this.logger, metrics: this.metrics });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** Cuts the current idle wait short (e.g. after an in-process producer committed). */
  wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    const min = this.options.polling?.minIntervalInMs ?? 100;
    const max = this.options.polling?.maxIntervalInMs ?? 5000;
    let interval = min;
    while (!this.stopping) {
      let wait: number;
      try {
        const settings = await this.loadSettings();
        const r = await this.cycle(settings, {});
        // A standby looks again soon: a released lease is taken within one poll, an expired one after its duration.
        if (r.outcome === 'no-lease') wait = this.standbyPollInMs;
        else if (r.outcome === 'disabled') wait = max;
        else if (r.more) wait = 0;
        else if (r.read > 0) wait = interval = min;
        else wait = interval = Math.min(max, interval * 2);
      } catch (e) {
        this.logger.error('publish cycle failed', { scope: this.scope, error: describeError(e) });
        wait = interval = Math.min(max, Math.max(interval * 2, 1000));
      }
      if (wait > 0 && !this.stopping) await this.sleep(wait);
    }
  }

  /** Graceful stop: finishes the batch in hand, waits for its bulk write, releases the lease. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    if (this.dlqTimer) clearInterval(this.dlqTimer);
    this.dlqTimer = undefined;
    if (this.pendingAgeTimer) clearInterval(this.pendingAgeTimer);
    this.pendingAgeTimer = undefined;
    await this.pendingAgeRunning;
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
    await this.ackListener?.close();
    this.ackListener = undefined;
    await this.dlqRunning?.catch(() => undefined);
    await this.flush();
    try {
      await this.lease.release();
    } catch (e) {
      this.logger.warn('could not release the lease; it expires on its own', { scope: this.scope, error: describeError(e) });
    }
  }

  async health(options: OperationOptions = {}): Promise<OutboxHealth> {
    const settings = await this.loadSettings(options);
    return getOutboxHealth({ store: this.store, lease: this.leaseStore, scope: this.scope, settings, now: () => this.clock.now() }, options);
  }

  /** Stops and closes the Service Bus senders. The clients passed in stay open (their owner closes them). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    await this.sender.close();
    this.closed = true;
  }
}
