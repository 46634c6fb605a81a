// Runs every configured change-tracking source: settings from the solution (overridable by app settings), one lease
// per source (scope `changetracking:<name>`), exponential backoff per source after a failure. One round over every
// source is the cycle the shared host loop (core/hostLoop.ts) runs on an interval. One failing source never stops the others.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ServiceBusClient } from '@azure/service-bus';
import { MessageFormat } from '@dataverse-outbox/contract';
import { backoffDelayInMs, type BackoffOptions } from '../core/backoff';
import { describeError, OutboxError } from '../core/errors';
import { HostLoop, leaseRenewalGap, type LoopTimer } from '../core/hostLoop';
import { LeaseKeeper } from '../core/lease';
import { silentLogger, systemClock, type Clock, type Logger, type OperationOptions } from '../core/ports';
import { parseSettings, type OutboxSettings } from '../core/settings';
import type { DataverseClient } from '@dataverse-outbox/web-api';
import { DataverseLeaseStore } from '../dataverse/leaseStore';
import { readSettingsFromDataverse } from '../dataverse/settingsSource';
import { RefreshingSettings } from '../core/refreshingSettings';
import { ServiceBusMessageSender } from '../servicebus/sender';
import { parseChangeTrackingSources, resolveChangeTrackingSources, type ChangeTrackingSourceConfig } from './core/config';
import { runChangeTrackingCycle, type ChangeCycleResult } from './core/cycle';
import { isChangeTrackingError } from './core/errors';
import { noChangeTrackingMetrics, type ChangeTrackingMetrics, type CheckpointPort, type DeltaReaderPort } from './core/ports';
import { DataverseCheckpointStore } from './dataverse/checkpointStore';
import { DataverseDeltaReader } from './dataverse/deltaReader';

export interface ChangeTrackingPublisherOptions {
  dataverse: DataverseClient;
  serviceBus: ServiceBusClient;
  /** App settings, for OUTBOX_* overrides (OUTBOX_CHANGE_TRACKING_SOURCES included). Default process.env. */
  appSettings?: Readonly<Record<string, string | undefined>>;
  /** Use these sources instead of the setting (tests, embedding). Targets are still checked against obx_AllowedTargets. */
  sources?: readonly ChangeTrackingSourceConfig[];
  logger?: Logger;
  metrics?: ChangeTrackingMetrics;
  clock?: Clock;
  /** This instance's name in the leases. Default host:pid:random. */
  owner?: string;
  /** Default 60 s. */
  leaseDurationInMs?: number;
  /** Wait between cycles of a source. Default 5 s. */
  pollIntervalInMs?: number;
  /** Backoff of a source after a failed cycle. Default 2 s doubling to 5 min. */
  backoff?: BackoffOptions;
  /** How often settings are re-read from Dataverse. Default 5 min. */
  settingsRefreshIntervalInMs?: number;
  /** See ChangeCycleDeps.idleCheckpointIntervalInMs. */
  idleCheckpointIntervalInMs?: number;
  /** Adapters (tests may pass their own). */
  reader?: DeltaReaderPort;
  checkpoints?: CheckpointPort;
  /** The loop's time and sleep (tests). Default real time. */
  loopTimer?: LoopTimer;
}

export type ChangeSourceReport =
  | (ChangeCycleResult & { error?: undefined })
  | { source: string; outcome: 'error'; error: string; code?: string; retryInMs: number }
  | { source: string; outcome: 'disabled' | 'backing-off' };

export interface ChangeTrackingSettings {
  outbox: OutboxSettings;
  sources: ChangeTrackingSourceConfig[];
}

interface SourceState {
  lease: LeaseKeeper;
  failures: number;
  notBefore: number;
}

export function createChangeTrackingPublisher(options: ChangeTrackingPublisherOptions): ChangeTrackingPublisher {
  return new ChangeTrackingPublisher(options);
}

export class ChangeTrackingPublisher {
  readonly owner: string;
  private readonly logger: Logger;
  private readonly metrics: ChangeTrackingMetrics;
  private readonly clock: Clock;
  private readonly sender: ServiceBusMessageSender;
  private readonly reader: DeltaReaderPort;
  private readonly checkpoints: CheckpointPort;
  private readonly leaseStore: DataverseLeaseStore;
  private readonly states = new Map<string, SourceState>();
  private readonly settingsSource: RefreshingSettings<ChangeTrackingSettings>;
  private readonly loop: HostLoop<ChangeTrackingSettings, ChangeSourceReport[]>;

  constructor(private readonly options: ChangeTrackingPublisherOptions) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noChangeTrackingMetrics;
    this.clock = options.clock ?? systemClock;
    this.sender = new ServiceBusMessageSender(options.serviceBus);
    this.reader = options.reader ?? new DataverseDeltaReader(options.dataverse);
    this.checkpoints = options.checkpoints ?? new DataverseCheckpointStore(options.dataverse);
    this.leaseStore = new DataverseLeaseStore(options.dataverse, () => this.clock.now());
    this.settingsSource = new RefreshingSettings({
      read: (o) => this.readSettings(o),
      refreshIntervalInMs: options.settingsRefreshIntervalInMs ?? 300_000,
      logger: this.logger,
      what: 'change tracking settings',
    });
    const every = options.pollIntervalInMs ?? 5000;
    this.loop = new HostLoop({
      name: 'change tracking publisher',
      // Every source's failure is caught and reported by runSource: what reaches the loop is a settings read.
      cycleFailedMessage: 'change tracking settings could not be read',
      logFields: { owner: this.owner },
      settings: this.settingsSource,
      cycle: (settings) => this.runRound(settings),
      // Each source backs off on its own (runSource); the round itself runs every poll interval.
      verdict: () => 'idle',
      waits: { minIntervalInMs: every, maxIntervalInMs: every, standbyPollInMs: every, errorMinWaitInMs: every, leaseRenewalGapInMs: leaseRenewalGap(options.leaseDurationInMs ?? 60_000) },
      leases: () => [...this.states.values()].map((s) => s.lease),
      logger: this.logger,
      timer: options.loopTimer,
      onClose: () => this.sender.close(),
    });
  }

  /** Reads and validates the settings. The first load throws OutboxError('InvalidSettings'); later refreshes keep the last good ones. */
  loadSettings(options: OperationOptions = {}): Promise<ChangeTrackingSettings> {
    return this.settingsSource.get(options);
  }

  private async readSettings(options: OperationOptions): Promise<ChangeTrackingSettings> {
    const app = this.options.appSettings ?? process.env;
    const raw = await readSettingsFromDataverse(this.options.dataverse, options);
    const outbox = parseSettings(raw, app);
    const sources = this.options.sources
      ? parseChangeTrackingSources({ text: JSON.stringify(this.options.sources), where: 'options.sources' }, outbox)
      : parseChangeTrackingSources(resolveChangeTrackingSources(raw.ChangeTrackingSources, app), outbox);
    return { outbox, sources };
  }

  private state(source: ChangeTrackingSourceConfig): SourceState {
    let s = this.states.get(source.name);
    if (!s) {
      const lease = new LeaseKeeper(this.leaseStore, {
        scope: `changetracking:${source.name}`,
        owner: this.owner,
        durationInMs: this.options.leaseDurationInMs ?? 60_000,
        clock: this.clock,
        logger: this.logger,
      });
      s = { lease, failures: 0, notBefore: 0 };
      this.states.set(source.name, s);
    }
    return s;
  }

  /** One cycle of one source; failures are reported, not thrown. `force` ignores the source's backoff. */
  async runSource(source: ChangeTrackingSourceConfig, settings: ChangeTrackingSettings, options: OperationOptions & { force?: boolean } = {}): Promise<ChangeSourceReport> {
    const st = this.state(source);
    if (!settings.outbox.publisherEnabled) return { source: source.name, outcome: 'disabled' };
    if (!options.force && this.clock.now().getTime() < st.notBefore) return { source: source.name, outcome: 'backing-off' };
    try {
      const r = await runChangeTrackingCycle(
        {
          reader: this.reader,
          checkpoints: this.checkpoints,
          sender: this.sender,
          lease: st.lease,
          clock: this.clock,
          logger: this.logger,
          metrics: this.metrics,
          batchSize: settings.outbox.batchSize,
          idleCheckpointIntervalInMs: this.options.idleCheckpointIntervalInMs,
          messageFormat: { format: settings.outbox.messageFormats.get(source.target) ?? MessageFormat.Default, environmentUrl: this.options.dataverse.url },
        },
        source,
        options,
      );
      st.failures = 0;
      st.notBefore = 0;
      return r;
    } catch (e) {
      st.failures++;
      const retryInMs = backoffDelayInMs(st.failures, this.options.backoff);
      st.notBefore = this.clock.now().getTime() + retryInMs;
      if (e instanceof OutboxError && e.code === 'LeaseLost') st.lease.drop();
      const code = isChangeTrackingError(e) || e instanceof OutboxError ? e.code : undefined;
      this.logger.error('change tracking cycle failed; nothing was checkpointed, the source reads again from its last checkpoint', {
        source: source.name,
        code,
        error: describeError(e),
        attempt: st.failures,
        retryInMs,
      });
      return { source: source.name, outcome: 'error', error: describeError(e), code, retryInMs };
    }
  }

  /** One cycle of every source (backoff ignored). */
  async runOnce(options: OperationOptions = {}): Promise<ChangeSourceReport[]> {
    this.loop.assertOpen();
    const settings = await this.loadSettings(options);
    const reports: ChangeSourceReport[] = [];
    for (const source of settings.sources) reports.push(await this.runSource(source, settings, { ...options, force: true }));
    return reports;
  }

  /** One round of the loop: every source not backing off; stop() is honoured between sources. */
  private async runRound(settings: ChangeTrackingSettings): Promise<ChangeSourceReport[]> {
    const reports: ChangeSourceReport[] = [];
    for (const source of settings.sources) {
      if (this.loop.isStopping) break;
      reports.push(await this.runSource(source, settings));
    }
    return reports;
  }

  /** Loads settings (throws on invalid ones), then runs every source until stop(). */
  async start(): Promise<void> {
    if (this.loop.isRunning) return;
    const settings = await this.loop.start();
    this.logger.info('change tracking publisher started', { owner: this.owner, sources: settings.sources.map((s) => s.name) });
  }

  /** Graceful stop: finishes the page in hand, releases the leases. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Stops and closes the Service Bus senders; the clients passed in stay open. */
  close(): Promise<void> {
    return this.loop.close();
  }
}
