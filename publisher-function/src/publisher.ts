// The outbox publisher: publish cycles plugged into the shared host loop (core/hostLoop.ts), which runs them
// continuously (worker) or within a time budget (Functions timer), draining while work remains and polling adaptively
// when idle. This file wires the Dataverse and Service Bus adapters to the cycle and adds the worker's side jobs
// (acknowledgement listener, dead-letter monitor, pending-age gauge).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ServiceBusClient } from '@azure/service-bus';
import type { BackoffOptions } from './core/backoff';
import { describeError } from './core/errors';
import type { OutboxHealth } from './core/health';
import { DEFAULT_LEASE_DURATION_MS, LeaseKeeper } from './core/lease';
import { KeyBlockers } from './core/ordering';
import { partitionLeaseScope, type PartitionRef } from './core/partitions';
import { partitionSlotRange } from '@dataverse-outbox/contract';
import { HostLoop, leaseRenewalGap, type CycleVerdict, type LoopTimer } from './core/hostLoop';
import { RefreshingSettings } from './core/refreshingSettings';
import { noMetrics, silentLogger, systemClock, type Clock, type Logger, type OperationOptions, type PublisherMetrics } from './core/ports';
import { runPublishCycle, type MarkSummary, type PublishCycleDeps, type PublishCycleResult } from './core/publishCycle';
import { parseSettings, type OutboxSettings } from './core/settings';
import type { DataverseClient } from '@dataverse-outbox/web-api';
import { DataverseLeaseStore } from './dataverse/leaseStore';
import { DataverseOutboxStore } from './dataverse/outboxStore';
import { readSettingsFromDataverse } from './dataverse/settingsSource';
import { getOutboxHealth } from './health';
import { AckListener } from './servicebus/ackListener';
import { PendingAgeGauge } from './pendingAgeGauge';
import { runDeadLetterMonitor, type DeadLetterMonitorResult } from './servicebus/deadLetterMonitor';
import { ServiceBusMessageSender, type ServiceBusClientFactory } from './servicebus/sender';

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
  /**
   * Makes the Service Bus client the publisher sends with: the publisher (each partition lane) then owns that client,
   * replaces it when a send hits `sendTimeoutInMs` or it keeps failing (a connection the SDK lost and never re-opened),
   * and closes it on close(). Default: send through `serviceBus`, shared with the acknowledgement listener and the
   * dead-letter monitor, never replaced.
   */
  createSendClient?: ServiceBusClientFactory;
  /** Worker only: listen on obx_AckQueue. Default true. */
  ackListener?: boolean;
  /** Worker only: dead-letter monitor interval; 0 turns it off. Default 60 s. */
  deadLetterMonitorIntervalInMs?: number;
  /** Worker only: how often the oldest Pending row's age is measured for metrics (stall alerts); 0 = never. Default 60 s. */
  pendingAgeIntervalInMs?: number;
  /** The loop's time and sleep (tests). Default real time. */
  loopTimer?: LoopTimer;
  /**
   * Publish one partition of the scope only (its slot range; partition 0 also takes rows without a slot), under the
   * partition's own lease. Set by PartitionedPublisher. Default: the whole scope, under the scope's lease.
   */
  partition?: PartitionRef;
  /** Asked after the lease is taken, before anything is sent (LeaseKeeperOptions.confirm). */
  confirmLease?: (options: OperationOptions) => Promise<boolean>;
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
  /** The partition this publisher publishes (0 of 1: the whole scope). */
  readonly partition: PartitionRef;
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
  private readonly loop: HostLoop<OutboxSettings, PublishCycleResult>;
  private ackListener?: AckListener;
  private dlqTimer?: NodeJS.Timeout;
  private readonly pendingAge: PendingAgeGauge;
  private dlqRunning?: Promise<unknown>;
  /** Time of the last successful publish by this instance. */
  lastPublishedAt?: Date;

  constructor(private readonly options: PublisherOptions) {
    this.scope = options.scope ?? 'default';
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noMetrics;
    this.clock = options.clock ?? systemClock;
    this.partition = options.partition ?? { index: 0, count: 1 };
    const slots = this.partition.count > 1 ? partitionSlotRange(this.partition.index, this.partition.count) : undefined;
    this.store = new DataverseOutboxStore(options.dataverse, slots ? { partitionSlots: { ...slots, unassigned: this.partition.index === 0 } } : {});
    this.pendingAge = new PendingAgeGauge(this.store, this.clock, this.metrics, this.logger, { scope: this.scope });
    this.leaseStore = new DataverseLeaseStore(options.dataverse, () => this.clock.now());
    this.sender = new ServiceBusMessageSender(options.createSendClient ?? options.serviceBus, { operationTimeoutInMs: options.sendTimeoutInMs, logger: this.logger });
    this.lease = new LeaseKeeper(this.leaseStore, {
      scope: partitionLeaseScope(this.scope, this.partition),
      owner: this.owner,
      durationInMs: options.leaseDurationInMs ?? DEFAULT_LEASE_DURATION_MS,
      clock: this.clock,
      logger: this.logger,
      confirm: options.confirmLease,
    });
    this.settingsSource = new RefreshingSettings({
      read: async (o) => parseSettings(await readSettingsFromDataverse(options.dataverse, o), options.appSettings ?? process.env),
      refreshIntervalInMs: options.settingsRefreshIntervalInMs ?? 300_000,
      logger: this.logger,
      what: 'settings',
      onChange: () => this.logger.info('settings changed', { scope: this.scope }),
    });
    this.loop = new HostLoop({
      name: 'publisher',
      cycleFailedMessage: 'publish cycle failed',
      logFields: this.partition.count > 1 ? { scope: this.scope, partition: `${this.partition.index}/${this.partition.count}` } : { scope: this.scope },
      settings: this.settingsSource,
      cycle: (settings, o) => this.cycle(settings, o),
      verdict: publishVerdict,
      // An idle cycle says when the next row comes due: a scheduled event goes out then, not after the idle wait.
      wakeAt: (r) => r.nextDueOn,
      waits: () => ({
        minIntervalInMs: options.polling?.minIntervalInMs ?? 100,
        maxIntervalInMs: options.polling?.maxIntervalInMs ?? 5000,
        // A standby looks again soon: a released lease is taken within one poll, an expired one after its duration.
        standbyPollInMs: this.standbyPollInMs,
        leaseRenewalGapInMs: leaseRenewalGap(this.lease.durationInMs),
      }),
      leases: () => [this.lease],
      logger: this.logger,
      timer: options.loopTimer,
      onStart: (settings) => this.startSideJobs(settings),
      onStop: () => this.stopSideJobs(),
      onClose: () => this.sender.close(),
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
      environmentUrl: this.options.dataverse.url,
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

  /** One publish cycle, its bulk write included. */
  async runOnce(options: OperationOptions = {}): Promise<PublishCycleResult> {
    this.loop.assertOpen();
    const settings = await this.loadSettings(options);
    const result = await runPublishCycle(this.deps(settings), { ...options, inFlight: this.inFlight, settleInFlight: () => this.flush() });
    if (result.published > 0) this.lastPublishedAt = this.clock.now();
    return result;
  }

  /** Drains for at most `budgetInMs` (Functions timer invocations), pipelining bulk writes; all writes are done on return. */
  async runFor(budgetInMs: number, options: OperationOptions & { untilDeadline?: boolean } = {}): Promise<RunForResult> {
    this.loop.assertOpen();
    const total: RunForResult = { cycles: 0, published: 0, failed: 0, retrying: 0, outcome: 'ran' };
    try {
      // Functions timer with untilDeadline: keep polling adaptively until the budget ends, so latency does not wait for
      // the next tick; without the lease (an instance that died holding it), look for it every standby poll.
      await this.loop.runFor(budgetInMs, options, (r) => {
        total.cycles++;
        total.published += r.published;
        total.failed += r.failed;
        total.retrying += r.retrying;
        total.outcome = r.outcome;
      });
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
    if (this.loop.isRunning) return;
    const settings = await this.loop.start();
    this.logger.info('publisher started', { scope: this.scope, owner: this.owner, batchSize: settings.batchSize, targets: settings.allowedTargets });
  }

  /** The worker's side jobs: acknowledgement listener, dead-letter monitor (lease holder only), pending-age gauge. */
  private startSideJobs(settings: OutboxSettings): void {
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
    this.pendingAge.start(this.options.pendingAgeIntervalInMs ?? 60_000);
  }

  private async stopSideJobs(): Promise<void> {
    if (this.dlqTimer) clearInterval(this.dlqTimer);
    this.dlqTimer = undefined;
    await this.pendingAge.stop();
    await this.ackListener?.close();
    this.ackListener = undefined;
    await this.dlqRunning?.catch(() => undefined);
    await this.flush();
  }

  /**
   * Measures the age of the oldest Pending row (one request) and reports it to the metrics (`outbox.pending.oldest_age`).
   * Returns it in seconds (0 when none is Pending), or undefined when Dataverse could not be read.
   */
  measurePendingAge(options: OperationOptions = {}): Promise<number | undefined> {
    return this.pendingAge.measure(options);
  }

  /** One pass of the dead-letter monitor over the allowed targets. */
  async monitorDeadLetters(options: OperationOptions = {}): Promise<DeadLetterMonitorResult[]> {
    const settings = await this.loadSettings(options);
    return runDeadLetterMonitor(this.options.serviceBus, this.store, settings.allowedTargets, { ...options, logger: this.logger, metrics: this.metrics });
  }

  /** Cuts the current idle wait short (e.g. after an in-process producer committed). */
  wake(): void {
    this.loop.wake();
  }

  /** Graceful stop: finishes the batch in hand, waits for its bulk write, releases the lease. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  async health(options: OperationOptions = {}): Promise<OutboxHealth> {
    const settings = await this.loadSettings(options);
    return getOutboxHealth({ store: this.store, lease: this.leaseStore, scope: this.scope, settings, now: () => this.clock.now() }, options);
  }

  /** Stops and closes the Service Bus senders. The clients passed in stay open (their owner closes them). */
  close(): Promise<void> {
    return this.loop.close();
  }
}

/** How a publish cycle paces the loop. */
function publishVerdict(r: PublishCycleResult): CycleVerdict {
  if (r.outcome === 'no-lease') return 'standby';
  if (r.outcome === 'disabled') return 'disabled';
  if (r.more) return 'more';
  return r.read > 0 ? 'worked' : 'idle';
}
