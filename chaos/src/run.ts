// One chaos run: start the stack on its own data folder (emulators + ERP consumer from the stack's orchestrator, plus the
// publishers (two by default, sharing the scope's partitions), the change-tracking worker and its consumer), drive the demo producer and the chaos producer while the
// seeded schedule breaks things, then restore everything, wait for quiescence (bounded) and check the invariants from
// the stores. Returns the report; never throws for a failed invariant (the report says so).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataverseAdminClient, ServiceBusAdminClient } from '@dataverse-outbox/emulators/admin';
import { buildEmulatorConfig } from '@dataverse-outbox/emulators/servicebus';
import { createServiceBusClient, DataverseClient } from '@dataverse-outbox/publisher-function';
import {
  ACK_QUEUE,
  countAllByStatus,
  ERP_SALES_QUEUE,
  prepareStack,
  runDemoProducer,
  serviceBusEntities,
  type ComponentProcess,
  type DemoProducerResult,
  type LocalStack,
} from '@dataverse-outbox/stack';
import { StatusAudit } from './audit';
import { BLOCKED_QUEUE, startBlockedKeyConsumer, type BlockedKeyConsumer } from './blockedKey';
import { CT_QUEUE, readCtChanges } from './ctStore';
import { ChaosExecutor } from './executor';
import { isInjectedDeadLetter } from './serviceBusInjector';
import { checkInvariants, type CheckResult } from './invariants';
import { createChaosProcesses, publisherNames, STANDBY_POLL_SECONDS, type ChaosComponent } from './processes';
import { publisherEvents } from './resends';
import { ChaosProducer, type ChaosOrder } from './producers';
import { Random } from './random';
import type { ChaosReport } from './report';
import { faultKinds, MAX_PUBLISHERS, planSchedule, type FaultKind } from './schedule';
import { ServiceBusInjector } from './serviceBusInjector';
import { readFinalStores, readOpportunities } from './stores';

export interface ChaosOptions {
  /** Total orders: outbox flow + change-tracking flow. */
  orders: number;
  seed: number;
  /** Length of the chaos phase (the producers spread their orders over most of it). */
  durationMs: number;
  /** Share of orders that go through change tracking (default 0.2). */
  ctShare?: number;
  /** Outbox change sets made to fail on purpose, as a share of orders (default 0.02, at least 1). */
  rollbackShare?: number;
  /** Default: min(4 s, max(1.5 s, duration / 25)). */
  meanGapMs?: number;
  /** Publisher lease (default 6 s). */
  leaseDurationMs?: number;
  /** The scope's partition count (default 1: one lease, as before partitions). */
  partitions?: number;
  /** Publisher worker processes (default 2). */
  publishers?: number;
  /** Fault kinds (default: all). */
  kinds?: readonly FaultKind[];
  /** Rows behind the head row of each blocked-key action (default: a fifth of the orders, 100 to 2,000). */
  blockedKeyRows?: number;
  /** How long to wait for quiescence after the chaos phase (default 180 s). */
  quiescenceTimeoutMs?: number;
  /** The deliberately broken consumer (completes before commit). */
  brokenConsumer?: boolean;
  /** Data folder (default: a new temporary folder). */
  dataDir?: string;
  /** The command line that reproduces this run (for the report). */
  reproduce?: string;
  onLine?: (line: string) => void;
  abortSignal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function defaultKinds(): FaultKind[] {
  return [...faultKinds];
}

/** A component's log, read once for every figure taken from it. */
function logLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
}

function countLines(lines: readonly string[], pattern: RegExp): number {
  return lines.filter((line) => pattern.test(line)).length;
}

/** Sum of a numeric field over the log lines that match. */
function sumField(lines: readonly string[], pattern: RegExp, field: string): number {
  let n = 0;
  for (const line of lines) {
    if (!pattern.test(line)) continue;
    try {
      const value = (JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>)[field];
      if (typeof value === 'number') n += value;
    } catch {
      // A line cut short by a SIGKILL: nothing to add.
    }
  }
  return n;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const say = options.onLine ?? (() => undefined);
  const random = new Random(options.seed);
  const ctOrders = Math.round(options.orders * (options.ctShare ?? 0.2));
  const rollbacks = Math.max(1, Math.round(options.orders * (options.rollbackShare ?? 0.02)));
  const outboxOrders = Math.max(1, options.orders - ctOrders);
  const meanGapMs = options.meanGapMs ?? Math.min(4000, Math.max(1500, options.durationMs / 25));
  const leaseDurationMs = options.leaseDurationMs ?? 6000;
  const partitions = options.partitions ?? 1;
  const publishers = options.publishers ?? 2;
  if (!(Number.isInteger(publishers) && publishers >= 1 && publishers <= MAX_PUBLISHERS)) throw new RangeError(`publishers must be a whole number from 1 to ${MAX_PUBLISHERS}`);
  const publisherList = publisherNames(publishers);
  const kinds = [...(options.kinds ?? defaultKinds())];
  const dataDir = options.dataDir ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'outbox-chaos-')), 'data');
  const ctFile = path.join(dataDir, 'ct-orders.sqlite');
  const blockedFile = path.join(dataDir, 'blocked-key.sqlite');
  const blockedKeyRows = options.blockedKeyRows ?? Math.min(2000, Math.max(100, Math.round(options.orders / 5)));
  const report: ChaosReport = {
    ok: false,
    seed: options.seed,
    reproduce:
      options.reproduce ??
      `npm run chaos -- --orders ${options.orders} --seed ${options.seed} --duration ${Math.round(options.durationMs / 1000)}${partitions !== 1 ? ` --partitions ${partitions}` : ''}${publishers !== 2 ? ` --publishers ${publishers}` : ''}${options.kinds ? ` --kinds ${kinds.join(',')}` : ''}${options.brokenConsumer ? ' --broken-consumer' : ''}`,
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    options: { orders: options.orders, outboxOrders, ctOrders, rollbacks, durationMs: options.durationMs, meanGapMs, leaseDurationMs, partitions, publishers, brokenConsumer: Boolean(options.brokenConsumer), kinds, blockedKeyRows },
    timings: { startupMs: 0, chaosMs: 0, quiescenceMs: 0, quiesced: false, checkMs: 0, totalMs: 0 },
    faults: {},
    faultsTotal: 0,
    actionsSkipped: 0,
    kills: {},
    killsTotal: 0,
    pauses: {},
    unexpectedExits: [],
    duplicatesAbsorbed: { erpConsumer: 0, ctConsumer: 0 },
    acknowledgementsResent: 0,
    deliveriesProcessed: { erpConsumer: 0, ctConsumer: 0 },
    lost: 0,
    duplicateEffects: 0,
    violations: [],
    actions: [],
    dataDir,
  };

  let stack: LocalStack | undefined;
  let procs: Map<ChaosComponent, ComponentProcess> | undefined;
  let executor: ChaosExecutor | undefined;
  let blockedConsumer: BlockedKeyConsumer | undefined;
  let serviceBusClient: ReturnType<typeof createServiceBusClient> | undefined;
  const clients: DataverseClient[] = [];
  try {
    mkdirSync(dataDir, { recursive: true });
    say(`Starting the stack in ${dataDir}`);
    stack = await prepareStack({
      dataDir,
      components: ['dataverse', 'servicebus', 'consumer'],
      autoRestart: false,
      startTimeoutMs: 120_000,
      // Acknowledgements lost to a kill between complete and acknowledge are sent again within seconds.
      extraEnv: { consumer: { ERP_ACK_SWEEP_MS: '3000', ...(options.brokenConsumer ? { ERP_UNSAFE_COMPLETE_BEFORE_COMMIT: 'true' } : {}) } },
    });
    // The change-tracking flow's queue next to the stack's entities (sessions = record id, duplicate detection).
    writeFileSync(
      stack.layout.serviceBusConfigFile,
      `${JSON.stringify(
        buildEmulatorConfig({
          ...serviceBusEntities,
          queues: [
            ...(serviceBusEntities.queues ?? []),
            { name: CT_QUEUE, requiresSession: true, maxDeliveryCount: 5, lockDurationInMs: 30_000, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 10 * 60_000 },
            // The blocked-key fault's queue (sessions = its one key; the harness consumes it).
            { name: BLOCKED_QUEUE, requiresSession: true, maxDeliveryCount: 5, lockDurationInMs: 30_000, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindowInMs: 10 * 60_000 },
          ],
        }),
        null,
        2,
      )}\n`,
    );
    await stack.start();
    const liveStack = stack;
    procs = createChaosProcesses(stack, { leaseDurationMs, ctFile, partitions, publishers });
    await Promise.all([...procs.values()].map((p) => p.start()));
    blockedConsumer = await startBlockedKeyConsumer({ connectionString: stack.serviceBusConnectionString, file: blockedFile, ackQueue: ACK_QUEUE });
    serviceBusClient = createServiceBusClient({ connectionString: stack.serviceBusConnectionString });
    const injector = new ServiceBusInjector(serviceBusClient, { ack: ACK_QUEUE, target: ERP_SALES_QUEUE });
    report.timings.startupMs = Date.now() - started;
    say(`Stack ready in ${(report.timings.startupMs / 1000).toFixed(1)} s: Dataverse ${stack.urls.dataverse}, Service Bus admin ${stack.urls.serviceBusAdmin}`);

    const client = (retries: number, timeoutInMs: number): DataverseClient => {
      const c = new DataverseClient(liveStack.urls.dataverse, { token: liveStack.dataverseToken }, { retryOptions: { maxRetries: retries, timeoutInMs, retryDelayInMs: 500, maxRetryDelayInMs: 5000 } });
      clients.push(c);
      return c;
    };
    const producerClient = client(6, 15_000);
    const readClient = client(10, 30_000);
    const leaseReader = client(0, 2000);
    const dataverseAdmin = new DataverseAdminClient(stack.urls.dataverse);
    const serviceBusAdmin = new ServiceBusAdminClient(stack.urls.serviceBusAdmin);
    const producer = new ChaosProducer({ client: producerClient, random: random.fork('producer'), ctOrders, rollbacks, durationMs: options.durationMs * 0.8 });
    await producer.setup();

    // The demo producer creates its opportunities first; the faults start once it commits its first change set.
    let firstCommit!: () => void;
    const producing = new Promise<void>((r) => (firstCommit = r));
    let progress = { committed: 0, failed: 0, total: outboxOrders };
    const demo: Promise<DemoProducerResult> = runDemoProducer({
      client: producerClient,
      orders: outboxOrders,
      rate: outboxOrders / ((options.durationMs * 0.8) / 1000),
      concurrency: 8,
      abortSignal: options.abortSignal,
      onProgress: (p) => {
        progress = p;
        firstCommit();
      },
    });
    await Promise.race([producing, demo.then(() => undefined)]);

    const t0 = Date.now();
    const audit = new StatusAudit(client(1, 20_000), 1000);
    audit.start();
    executor = new ChaosExecutor({
      stack,
      procs,
      dataverseAdmin,
      serviceBusAdmin,
      dataverse: readClient,
      producer,
      injector,
      t0,
      publishers: publisherList,
      partitions,
      // The publishers' own lease setting: whole seconds, at least 5 (processes.ts).
      leaseDurationMs: Math.max(5, Math.ceil(leaseDurationMs / 1000)) * 1000,
      standbyPollMs: STANDBY_POLL_SECONDS * 1000,
      leaseReader,
      onLine: say,
    });
    const chaosProducing = producer.run();
    const schedule = planSchedule({ seed: options.seed, durationMs: options.durationMs, meanGapMs, kinds, leaseDurationMs, blockedKeyRows, publishers });
    say(`Chaos phase: ${schedule.length} actions over ${(options.durationMs / 1000).toFixed(0)} s (seed ${options.seed}), ${publishers} publisher${publishers > 1 ? 's' : ''} sharing ${partitions} partition${partitions > 1 ? 's' : ''}`);
    const ticker = setInterval(() => {
      const k = Object.values(executor!.kills).reduce((a, b) => a + (b ?? 0), 0);
      say(`${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s  outbox change sets ${progress.committed + progress.failed}/${progress.total} (${progress.failed} failed), change-tracking ${producer.orders.filter((o) => o.flow === 'change-tracking').length}, actions ${executor!.log.length}, kills ${k}`);
    }, 10_000);
    try {
      for (const { at, action } of schedule) {
        if (options.abortSignal?.aborted) break;
        await sleep(t0 + at - Date.now());
        await executor.run(action);
      }
      await sleep(t0 + options.durationMs - Date.now());
      say('Chaos phase over: waiting for the producers, restoring every component, clearing faults');
      const [demoResult] = await Promise.all([demo, chaosProducing]);
      await executor.settle();
      report.timings.chaosMs = Date.now() - t0;

      const orders: ChaosOrder[] = [
        ...demoResult.orders.map(
          (o): ChaosOrder => ({ flow: 'outbox', kind: o.kind, opportunityId: o.opportunityId, messageId: o.messageId, sessionKey: o.accountId, seen: o.committedAt !== undefined ? 'committed' : 'failed', error: o.error, committedAt: o.committedAt }),
        ),
        ...producer.orders,
      ];

      // Quiescence: no Pending or Published row, nothing active or locked in any queue, the change-tracking consumer has every
      // opportunity's latest version, the dead-letter monitor has taken every outbox row's dead letter out of the target's
      // dead-letter queue (only the poison ones the run put there may stay), and nothing changed between two looks.
      const q0 = Date.now();
      const timeout = options.quiescenceTimeoutMs ?? 180_000;
      let previous = '';
      let lastSay = 0;
      while (Date.now() - q0 < timeout && !options.abortSignal?.aborted) {
        try {
          const counts = await countAllByStatus(readClient);
          const entities = (await serviceBusAdmin.listEntities()).filter((e) => [ERP_SALES_QUEUE, ACK_QUEUE, CT_QUEUE, BLOCKED_QUEUE].includes(e.name));
          const busy = entities.reduce((a, e) => a + e.activeMessageCount + e.lockedMessageCount + e.scheduledMessageCount, 0);
          const unrecorded = (await serviceBusAdmin.peekDeadLetters(ERP_SALES_QUEUE, 5000)).filter((d) => !isInjectedDeadLetter(d.messageId)).length;
          const opportunities = await readOpportunities(readClient);
          const applied = new Set(readCtChanges(ctFile).map((c) => `${c.opportunityId}:${c.version}`));
          const ctMissing = opportunities.filter((o) => !applied.has(`${o.id}:${o.version}`)).length;
          const state = JSON.stringify({ counts, busy, ctMissing, unrecorded });
          if (Date.now() - lastSay > 10_000) {
            lastSay = Date.now();
            say(`  quiescing: Pending ${counts.Pending}, Published ${counts.Published}, Acked ${counts.Acked}, queued ${busy}, change-tracking versions missing ${ctMissing}, dead letters not yet recorded ${unrecorded}`);
          }
          if (counts.Pending === 0 && counts.Published === 0 && busy === 0 && ctMissing === 0 && unrecorded === 0 && state === previous) {
            report.timings.quiesced = true;
            break;
          }
          previous = state;
        } catch {
          previous = '';
        }
        await sleep(1500);
      }
      report.timings.quiescenceMs = Date.now() - q0;
      say(report.timings.quiesced ? `Quiescent after ${(report.timings.quiescenceMs / 1000).toFixed(1)} s` : `NOT quiescent after ${(report.timings.quiescenceMs / 1000).toFixed(1)} s: checking anyway`);

      const c0 = Date.now();
      await audit.stop();
      const stores = await readFinalStores({
        client: readClient,
        erpDatabase: stack.erpDatabase,
        ctFile,
        blockedFile,
        serviceBus: serviceBusAdmin,
        queues: [ERP_SALES_QUEUE, ACK_QUEUE, CT_QUEUE, BLOCKED_QUEUE],
        deduplicatedQueues: [ERP_SALES_QUEUE, CT_QUEUE, BLOCKED_QUEUE],
      });
      const logs = stack.layout.logs;
      const result: CheckResult = checkInvariants(
        orders,
        stores,
        audit.summary(),
        { acks: injector.acks, deadLetters: injector.deadLetters, blockedWindows: executor.blockedWindows, partitionMoves: executor.partitionMoves, partitions },
        {
          publisherEvents: publisherList.flatMap((p) => publisherEvents(p, logLines(path.join(logs, `${p}.log`)))),
          actions: executor.log,
          publisherTargets: [ERP_SALES_QUEUE, BLOCKED_QUEUE],
        },
      );
      report.timings.checkMs = Date.now() - c0;
      report.figures = result.figures;
      report.audit = audit.summary();
      report.violations = result.violations;
      report.lost = result.violations.filter((v) => v.invariant === 'nothing-lost').reduce((a, v) => a + v.count, 0);
      report.duplicateEffects = result.violations.filter((v) => v.invariant === 'effect-exactly-once').reduce((a, v) => a + v.count, 0);
      report.ok = result.ok && report.timings.quiesced;
      if (!report.timings.quiesced && result.ok) report.error = 'the system did not become quiescent in time (every invariant held on what was there)';
    } finally {
      clearInterval(ticker);
    }
  } catch (e) {
    report.ok = false;
    report.error = e instanceof Error ? e.message : String(e);
  } finally {
    executor?.stop();
    if (executor) {
      report.faults = executor.faults;
      report.faultsTotal = Object.values(executor.faults).reduce((a, b) => a + (b ?? 0), 0);
      report.kills = executor.kills;
      report.killsTotal = Object.values(executor.kills).reduce((a, b) => a + (b ?? 0), 0);
      report.pauses = executor.pauses;
      report.unexpectedExits = executor.unexpectedExits;
      report.actions = executor.log;
      report.actionsSkipped = executor.log.filter((a) => a.outcome === 'skipped').length;
      report.partitionMoves = executor.partitionMoves;
    }
    for (const c of clients) await c.close().catch(() => undefined);
    await blockedConsumer?.close();
    await serviceBusClient?.close().catch(() => undefined);
    if (procs) await Promise.all([...procs.values()].map(async (p) => (await p.stop().catch(() => undefined), await p.dispose())));
    if (stack) {
      const erpLog = logLines(path.join(stack.layout.logs, 'consumer.log'));
      const ctLog = logLines(path.join(stack.layout.logs, 'ct-consumer.log'));
      report.duplicatesAbsorbed = {
        erpConsumer: countLines(erpLog, /"msg":"message duplicate"/),
        ctConsumer: countLines(ctLog, /"msg":"message duplicate"/),
      };
      // Acknowledgements the ERP consumer's sweep sent again (lost to a kill between complete and acknowledge, or
      // sent but not yet recorded when the consumer died).
      report.acknowledgementsResent = sumField(erpLog, /"msg":"acknowledged again after a lost acknowledgement"/, 'count');
      report.deliveriesProcessed = {
        erpConsumer: countLines(erpLog, /"msg":"message processed"/),
        ctConsumer: countLines(ctLog, /"msg":"message processed"/),
      };
      await stack.stop().catch(() => undefined);
    }
    report.finishedAt = new Date().toISOString();
    report.timings.totalMs = Date.now() - started;
  }
  return report;
}
