// Partitioned publishing: one instance of a scope publishes the partitions it holds, each through its own publisher
// ("lane": its slot range, its lease, its Dataverse client and so its own application user and service protection
// budget), and shares the partitions with the other live instances (core/partitions.ts decides; this file acts).
// With a partition count of 1 it is exactly one publisher of the whole scope, as before partitions existed.
import { randomUUID } from 'node:crypto';
import type { DataverseClient } from '@dataverse-outbox/web-api';
import { describeError, OutboxError } from './core/errors';
import type { OutboxHealth } from './core/health';
import { DEFAULT_LEASE_DURATION_MS, LeaseKeeper, scopeNameProblem } from './core/lease';
import { HostLoop, leaseRenewalGap, type CycleVerdict } from './core/hostLoop';
import { classifyLease, isLive, memberLeaseScope, partitionLeaseScope, planBalance, type BalancePlan, type PartitionRef } from './core/partitions';
import { RefreshingSettings } from './core/refreshingSettings';
import { silentLogger, systemClock, type Clock, type Logger, type OperationOptions } from './core/ports';
import { parseSettings, type OutboxSettings } from './core/settings';
import { DataverseLeaseStore } from './dataverse/leaseStore';
import { DataverseOutboxStore } from './dataverse/outboxStore';
import { readSettingsFromDataverse } from './dataverse/settingsSource';
import { getOutboxHealth } from './health';
import { OutboxPublisher, type PublisherOptions, type RunForResult } from './publisher';
import { AckListener } from './servicebus/ackListener';
import { PendingAgeGauge } from './pendingAgeGauge';
import { runDeadLetterMonitor, type DeadLetterMonitorResult } from './servicebus/deadLetterMonitor';

/** The Dataverse clients of the partitions (one application user each); closed with the publisher. */
export interface PartitionClients {
  forPartition(partition: number): DataverseClient;
  close(): Promise<void>;
}

export interface PartitionedPublisherOptions extends Omit<PublisherOptions, 'partition' | 'confirmLease'> {
  /**
   * The Dataverse client a partition publishes with: give each partition its own application user so that each has
   * its own service protection budget. Default: `dataverse` for every partition. `dataverse` itself is the instance's
   * client: settings, leases, membership and the acknowledgement listener.
   */
  partitionClients?: PartitionClients;
  /** Most partitions this instance publishes at once (OUTBOX_MAX_PARTITIONS_PER_INSTANCE). Default: no limit. */
  maxPartitionsPerInstance?: number;
  /** How often the instance renews its membership and rebalances. Default: the standby poll (3 s). */
  balanceIntervalInMs?: number;
}

/** What one balancing round did. */
export interface BalanceRound {
  count: number;
  instances: number;
  held: number[];
  claimed: number[];
  released: number[];
  /** Owners of live leases of another partition count: nothing new is started while there are any. */
  waitingFor: string[];
  publisherEnabled: boolean;
}

interface Lane {
  partition: PartitionRef;
  publisher: OutboxPublisher;
  startedAt: number;
  /** Started to take a stranded partition (core/partitions.ts): kept, not handed over, until strandedKeepInMs passed. */
  stranded?: boolean;
  closing?: Promise<void>;
}

/** Minimum gap between forced settings reads while another partition count is live (it may be ours that is stale). */
const SETTINGS_RECHECK_MS = 15_000;

const laneKey = (p: PartitionRef): string => `${p.index}of${p.count}`;

export function createPartitionedPublisher(options: PartitionedPublisherOptions): PartitionedPublisher {
  return new PartitionedPublisher(options);
}

export class PartitionedPublisher {
  readonly scope: string;
  readonly owner: string;
  /** Names this instance's membership lease. */
  readonly instanceId: string;
  readonly leaseStore: DataverseLeaseStore;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly durationInMs: number;
  private readonly settingsSource: RefreshingSettings<OutboxSettings>;
  /** This instance's membership lease, made at the first round with more than one partition. */
  private member?: LeaseKeeper;
  private readonly loop: HostLoop<OutboxSettings, BalanceRound>;
  private readonly lanes = new Map<string, Lane>();
  /** The whole scope's rows (no slot range): acknowledgements, health and the stall gauge. */
  readonly store: DataverseOutboxStore;
  private ackListener?: AckListener;
  private readonly pendingAge: PendingAgeGauge;
  private settingsRecheckedAt = 0;
  private lastRound?: BalanceRound;

  constructor(private readonly options: PartitionedPublisherOptions) {
    this.scope = options.scope ?? 'default';
    this.instanceId = randomUUID().replace(/-/g, '').slice(0, 12);
    this.owner = options.owner ?? `${this.instanceId}`;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.durationInMs = options.leaseDurationInMs ?? DEFAULT_LEASE_DURATION_MS;
    this.leaseStore = new DataverseLeaseStore(options.dataverse, () => this.clock.now());
    this.store = new DataverseOutboxStore(options.dataverse);
    this.pendingAge = new PendingAgeGauge(this.store, this.clock, options.metrics, this.logger, { scope: this.scope });
    this.settingsSource = new RefreshingSettings({
      read: async (o) => parseSettings(await readSettingsFromDataverse(options.dataverse, o), options.appSettings ?? process.env),
      refreshIntervalInMs: options.settingsRefreshIntervalInMs ?? 300_000,
      logger: this.logger,
      what: 'settings',
      onChange: (next) => this.logger.info('settings changed', { scope: this.scope, partitionCount: next.partitionCount }),
    });
    const balanceEvery = (): number => Math.max(100, Math.min(this.options.balanceIntervalInMs ?? this.options.standbyPollInMs ?? 3000, leaseRenewalGap(this.durationInMs)));
    this.loop = new HostLoop({
      name: 'partition balancer',
      cycleFailedMessage: 'partition balancing failed',
      logFields: { scope: this.scope, owner: this.owner },
      settings: this.settingsSource,
      cycle: (settings, o) => this.balance(settings, o),
      verdict: (): CycleVerdict => 'standby',
      waits: () => ({ minIntervalInMs: balanceEvery(), maxIntervalInMs: balanceEvery(), standbyPollInMs: balanceEvery(), leaseRenewalGapInMs: leaseRenewalGap(this.durationInMs) }),
      leases: () => (this.member ? [this.member] : []),
      logger: this.logger,
      timer: options.loopTimer,
      onStart: (settings) => this.startSideJobs(settings),
      onStop: () => this.stopAll(),
      onClose: async () => this.options.partitionClients?.close(),
    });
  }

  /** Current settings (after the first load). */
  get settings(): OutboxSettings | undefined {
    return this.settingsSource.current;
  }

  /** Partitions this instance publishes now (holds their lease), in order. */
  get heldPartitions(): number[] {
    return [...this.lanes.values()].filter((l) => !l.closing && l.publisher.holdsLease).map((l) => l.partition.index).sort((a, b) => a - b);
  }

  /** The last balancing round. */
  get lastBalance(): BalanceRound | undefined {
    return this.lastRound;
  }

  /** True while this instance publishes at least one partition. */
  get holdsLease(): boolean {
    return this.heldPartitions.length > 0;
  }

  /** Age in seconds of the oldest Pending row of the scope (the stall gauge), or undefined when unreadable. */
  measurePendingAge(options: OperationOptions = {}): Promise<number | undefined> {
    return this.pendingAge.measure(options);
  }

  /** Every lane's publisher (tests, metrics). */
  get publishers(): OutboxPublisher[] {
    return [...this.lanes.values()].map((l) => l.publisher);
  }

  loadSettings(options: OperationOptions = {}): Promise<OutboxSettings> {
    return this.settingsSource.get(options);
  }

  /** Loads settings (throws on invalid ones), then balances and publishes until stop(). */
  async start(): Promise<void> {
    if (this.loop.isRunning) return;
    const settings = await this.loop.start();
    this.logger.info('publisher started', { scope: this.scope, owner: this.owner, partitionCount: settings.partitionCount, batchSize: settings.batchSize });
  }

  /** Cuts every lane's idle wait short (an in-process producer committed). */
  wake(): void {
    for (const lane of this.lanes.values()) lane.publisher.wake();
  }

  /**
   * Balances, then publishes the partitions held for at most `budgetInMs` (a Functions timer invocation), balancing
   * again every interval meanwhile: partitions taken mid-way publish for the rest of the budget.
   */
  async runFor(budgetInMs: number, options: OperationOptions & { untilDeadline?: boolean } = {}): Promise<RunForResult> {
    const deadline = this.clock.now().getTime() + budgetInMs;
    const total: RunForResult = { cycles: 0, published: 0, failed: 0, retrying: 0, outcome: 'ran' };
    const running = new Map<string, Promise<void>>();
    const add = (r: RunForResult): void => {
      total.cycles += r.cycles;
      total.published += r.published;
      total.failed += r.failed;
      total.retrying += r.retrying;
      if (r.outcome === 'error') {
        total.outcome = 'error';
        total.error = r.error;
      } else if (total.outcome !== 'error') total.outcome = r.outcome;
    };
    const every = this.options.balanceIntervalInMs ?? this.options.standbyPollInMs ?? 3000;
    try {
      for (;;) {
        const settings = await this.settingsSource.get(options);
        await this.balance(settings, options);
        for (const lane of this.lanes.values()) {
          const key = laneKey(lane.partition);
          const left = deadline - this.clock.now().getTime();
          if (lane.closing || running.has(key) || left <= 0) continue;
          running.set(key, lane.publisher.runFor(left, options).then(add));
        }
        const left = deadline - this.clock.now().getTime();
        if (left <= every || options.abortSignal?.aborted || !options.untilDeadline) break;
        await new Promise((r) => setTimeout(r, every));
      }
      await Promise.all(running.values());
    } catch (e) {
      total.outcome = 'error';
      total.error = describeError(e);
      this.logger.error('publish run failed', { scope: this.scope, error: total.error });
      await Promise.allSettled(running.values());
    }
    return total;
  }

  /** One balancing round: renew membership, read the scope's leases, hand over or claim partitions. */
  async balance(settings: OutboxSettings, options: OperationOptions = {}): Promise<BalanceRound> {
    const count = settings.partitionCount;
    // Lanes of an earlier count drain and give their leases back before anything of the new count starts.
    await Promise.all([...this.lanes.values()].filter((l) => l.partition.count !== count).map((l) => this.closeLane(l, 'partition count changed')));
    if (count > 1) await this.membership(count).ensure(options);
    else await this.member?.release(options).catch(() => undefined);

    const now = this.clock.now();
    const leases = await this.leaseStore.listScope(this.scope, options);
    const held = this.heldPartitions;
    // Lanes started moments ago count as ours while they take their lease, so a round does not claim past the share.
    const claiming = [...this.lanes.values()].filter((l) => !l.closing && !l.publisher.holdsLease && l.partition.count === count && now.getTime() - l.startedAt < this.durationInMs / 4).map((l) => l.partition.index);
    // A stranded partition taken is kept long enough for its former owner's stuck lane to end (its send deadline) and
    // let go (a balancing round after a lease period): handed back sooner, it would wait for that lane again.
    const keepInMs = (this.options.sendTimeoutInMs ?? 30_000) + this.durationInMs;
    const keep = [...this.lanes.values()].filter((l) => l.stranded && !l.closing && l.publisher.holdsLease && l.partition.count === count && now.getTime() - l.startedAt < keepInMs).map((l) => l.partition.index);
    const plan: BalancePlan = planBalance({ scope: this.scope, count, owner: this.owner, maxPerInstance: this.options.maxPartitionsPerInstance, leases, held: [...held, ...claiming], keep, now });
    const round: BalanceRound = { count, instances: plan.instances, held, claimed: [], released: [], waitingFor: plan.otherCountOwners, publisherEnabled: settings.publisherEnabled };

    if (plan.otherCountOwners.length > 0) {
      // Another count is live: either an admin changed it and ours is stale (read again soon), or others still drain.
      if (now.getTime() - this.settingsRecheckedAt > SETTINGS_RECHECK_MS) {
        this.settingsRecheckedAt = now.getTime();
        this.settingsSource.expire();
      }
      this.logger.info('waiting for publishers of another partition count to hand over', { scope: this.scope, partitionCount: count, owners: plan.otherCountOwners });
    }
    for (const index of plan.release) {
      const lane = this.lanes.get(laneKey({ index, count }));
      if (lane) {
        round.released.push(index);
        void this.closeLane(lane, 'handing over to a less loaded instance');
      }
    }
    for (const index of plan.claim) {
      if (this.lanes.has(laneKey({ index, count }))) continue;
      round.claimed.push(index);
      const stranded = plan.stranded.includes(index);
      if (stranded) this.logger.warn('claiming a stranded partition above the share: its lease ran out while its owner is live', { scope: this.scope, partition: `${index}/${count}`, share: plan.share });
      this.startLane({ index, count }, settings, stranded);
    }
    // A lane that lost the race for its lease to a live owner stops looking: the balancer starts it again when free.
    const owners = new Map<number, string>();
    for (const lease of leases) {
      const l = classifyLease(this.scope, lease);
      if (l?.kind === 'partition' && l.partition.count === count && isLive(l, now)) owners.set(l.partition.index, l.owner!);
    }
    for (const lane of this.lanes.values()) {
      const other = owners.get(lane.partition.index);
      const waitedInMs = now.getTime() - lane.startedAt;
      if (!lane.closing && !lane.publisher.holdsLease && other !== undefined && other !== this.owner && waitedInMs > this.durationInMs / 4) {
        void this.closeLane(lane, 'partition held by another instance');
      }
    }
    this.lastRound = round;
    return round;
  }

  private membership(count: number): LeaseKeeper {
    // Partition and member lease names add up to 22 characters to the scope's; obx_name holds 200.
    const tooLong = [memberLeaseScope(this.scope, this.instanceId), partitionLeaseScope(this.scope, { index: count - 1, count })].find((name) => scopeNameProblem(name));
    if (tooLong) {
      throw new OutboxError('InvalidSettings', `OUTBOX_SCOPE is ${this.scope.length} characters, too long for partitioned publishing: its lease names would be up to ${tooLong.length} characters and obx_name holds 200; use a scope of at most 178 characters, or obx_PartitionCount 1`);
    }
    this.member ??= new LeaseKeeper(this.leaseStore, { scope: memberLeaseScope(this.scope, this.instanceId), owner: this.owner, durationInMs: this.durationInMs, clock: this.clock, logger: this.logger });
    return this.member;
  }

  private startLane(partition: PartitionRef, settings: OutboxSettings, stranded = false): void {
    const dataverse = this.options.partitionClients?.forPartition(partition.index) ?? this.options.dataverse;
    const first = partition.index === 0;
    const publisher = new OutboxPublisher({
      ...this.options,
      dataverse,
      owner: this.owner,
      partition,
      // Acknowledgements and the stall gauge are the instance's jobs; the dead-letter monitor looks at the whole
      // scope, so partition 0's holder runs it.
      ackListener: false,
      deadLetterMonitorIntervalInMs: first ? this.options.deadLetterMonitorIntervalInMs : 0,
      pendingAgeIntervalInMs: 0,
      confirmLease: (o) => this.noOtherCountLive(partition.count, o),
    });
    const lane: Lane = { partition, publisher, startedAt: this.clock.now().getTime(), stranded };
    this.lanes.set(laneKey(partition), lane);
    this.logger.info('partition lane started', { scope: this.scope, partition: `${partition.index}/${partition.count}`, batchSize: settings.batchSize });
    if (this.loop.isRunning) {
      publisher.start().catch((e: unknown) => {
        this.logger.error('partition lane could not start', { scope: this.scope, partition: `${partition.index}/${partition.count}`, error: describeError(e) });
        void this.closeLane(lane, 'start failed');
      });
    }
  }

  /** The lease check of every lane (acquire, then verify): true when no lease of another partition count is live. */
  private async noOtherCountLive(count: number, options: OperationOptions): Promise<boolean> {
    const now = this.clock.now();
    for (const lease of await this.leaseStore.listScope(this.scope, options)) {
      const l = classifyLease(this.scope, lease);
      if (l?.kind === 'partition' && l.partition.count !== count && isLive(l, now)) return false;
    }
    return true;
  }

  /** Graceful: the lane's batch in hand and its bulk writes finish, then its lease is given back. */
  private closeLane(lane: Lane, why: string): Promise<void> {
    lane.closing ??= (async () => {
      const partition = `${lane.partition.index}/${lane.partition.count}`;
      try {
        await lane.publisher.close();
        this.logger.info('partition lane stopped', { scope: this.scope, partition, reason: why });
      } catch (e) {
        this.logger.warn('partition lane did not stop cleanly; its lease expires on its own', { scope: this.scope, partition, error: describeError(e) });
      } finally {
        if (this.lanes.get(laneKey(lane.partition)) === lane) this.lanes.delete(laneKey(lane.partition));
      }
    })();
    return lane.closing;
  }

  /** The instance's side jobs: one acknowledgement listener (competing consumers across instances) and the stall gauge. */
  private startSideJobs(settings: OutboxSettings): void {
    if ((this.options.ackListener ?? true) && settings.ackQueue) {
      this.ackListener = new AckListener(this.options.serviceBus, this.store, settings.ackQueue, { logger: this.logger, metrics: this.options.metrics });
      this.ackListener.start();
    }
    // Every running instance reports, partitions or not: a starved or switched-off publisher is the stall to alert on.
    this.pendingAge.start(this.options.pendingAgeIntervalInMs ?? 60_000);
  }

  private async stopAll(): Promise<void> {
    await this.pendingAge.stop();
    await Promise.all([...this.lanes.values()].map((l) => this.closeLane(l, 'stopping')));
    await this.ackListener?.close();
    this.ackListener = undefined;
  }

  /** One pass of the dead-letter monitor over the allowed targets (the Functions timer; the worker's partition 0 runs its own). */
  async monitorDeadLetters(options: OperationOptions = {}): Promise<DeadLetterMonitorResult[]> {
    const settings = await this.loadSettings(options);
    return runDeadLetterMonitor(this.options.serviceBus, this.store, settings.allowedTargets, { ...options, logger: this.logger, metrics: this.options.metrics });
  }

  async health(options: OperationOptions = {}): Promise<OutboxHealth> {
    const settings = await this.loadSettings(options);
    return getOutboxHealth({ store: this.store, lease: this.leaseStore, scope: this.scope, settings, now: () => this.clock.now() }, options);
  }

  /** Graceful stop: every lane finishes its batch and writes, gives its lease back; then the membership lease. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  close(): Promise<void> {
    return this.loop.close();
  }
}
