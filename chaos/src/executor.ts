// Carries out the schedule's actions against the running processes and emulators, and keeps the tallies the report
// shows. Actions on one component never overlap (a per-component lock); a component that is down is restarted (with
// retries, since its dependencies may be down too) before the lock is released.
import type { ComponentProcess, LocalStack } from '@dataverse-outbox/stack';
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import type { DataverseClient } from '@dataverse-outbox/publisher-function';
import type { DataverseAdminClient, ServiceBusAdminClient } from '@dataverse-outbox/emulators/admin';
import type { ChaosComponent, PublisherName } from './processes';
import { BLOCKED_QUEUE } from './blockedKey';
import type { PartitionMove } from './faultChecks';
import { readPartitionHolders, victimLeaseEnd, type PartitionHolder } from './leases';
import type { BlockedKeyWindow, ChaosProducer } from './producers';
import { describeAction, type ChaosAction, type FaultKind } from './schedule';
import type { AckedRow, ServiceBusInjector } from './serviceBusInjector';

export type AnyComponent = ChaosComponent | 'consumer' | 'dataverse' | 'servicebus';

export interface ExecutedAction {
  at: number;
  kind: FaultKind;
  description: string;
  outcome: 'done' | 'skipped';
  note?: string;
  /** Epoch ms: when the action struck and until when it could still affect the system (a restart done, a window over). */
  from: number;
  to: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Beyond lease + standby poll, the time a survivor may take to see a free partition, claim it and confirm the claim. */
export const MOVE_MARGIN_MS = 2500;

/** Faults of Dataverse itself: while one is on, taking a lease (a write, then a read) may have to wait. */
export const dataverseFaultKinds: ReadonlySet<FaultKind> = new Set(['kill-dataverse', 'dataverse-429', 'dataverse-503', 'dataverse-timeout', 'dataverse-drop', 'dataverse-refuse-reads']);

/**
 * How long after it strikes an action can still affect the system, when the action itself does not tell (kills and
 * pauses end when their component runs again). Faults on the next few requests: those come within a second or two
 * under the run's traffic, then the clients retry; 5 s covers both.
 */
function effectWindowMs(a: ChaosAction): number {
  switch (a.kind) {
    case 'dataverse-429':
    case 'dataverse-refuse-reads':
      return a.windowMs;
    case 'dataverse-503':
    case 'dataverse-drop':
    case 'servicebus-drop-connections':
      return 5000;
    case 'dataverse-timeout':
      return a.timeoutMs + 5000;
    case 'servicebus-refuse-attaches':
      return a.durationMs;
    case 'servicebus-delay-sends':
      return a.durationMs + a.delayMs;
    case 'blocked-key':
      return a.failForMs;
    default:
      return 0;
  }
}

export class ChaosExecutor {
  readonly faults: Partial<Record<FaultKind, number>> = {};
  readonly kills: Partial<Record<AnyComponent, number>> = {};
  readonly pauses: Partial<Record<AnyComponent, number>> = {};
  readonly unexpectedExits: { component: string; at: string; info: string }[] = [];
  readonly log: ExecutedAction[] = [];
  /** One per blocked-key action, for the checker (other keys' latency while the key was blocked). */
  readonly blockedWindows: BlockedKeyWindow[] = [];
  /** One per kill-partition-holder action that killed a holder: how fast its partitions moved. */
  readonly partitionMoves: PartitionMove[] = [];
  /** A publisher may hold a sender link to the blocked-key queue from an earlier action (then refusing attaches is not enough). */
  private blockedQueueUsed = false;
  private readonly locks = new Map<AnyComponent, Promise<void>>();
  private readonly background = new Set<Promise<void>>();
  private readonly paused = new Set<AnyComponent>();
  private stopped = false;

  constructor(
    private readonly deps: {
      stack: LocalStack;
      procs: Map<ChaosComponent, ComponentProcess>;
      dataverseAdmin: DataverseAdminClient;
      serviceBusAdmin: ServiceBusAdminClient;
      dataverse: DataverseClient;
      producer: ChaosProducer;
      injector: ServiceBusInjector;
      t0: number;
      /** The publisher processes of the run. */
      publishers: readonly PublisherName[];
      /** The scope's partition count and the publishers' lease settings (the move check's bound). */
      partitions: number;
      leaseDurationMs: number;
      standbyPollMs: number;
      /** Reads the lease rows while a move is timed: few retries and a short timeout, so each look is quick. */
      leaseReader: DataverseClient;
      onLine?: (line: string) => void;
    },
  ) {
    for (const [name, proc] of this.all()) {
      proc.on('exit', (info) => {
        if (info.expected || this.stopped) return;
        this.unexpectedExits.push({ component: name, at: new Date().toISOString(), info: info.signal ?? `code ${info.code}` });
        this.deps.onLine?.(`!! ${name} exited on its own (${info.signal ?? `code ${info.code}`}); restarting it`);
        this.track(this.exclusive([name], () => this.ensureRunning(name)));
      });
    }
  }

  private all(): [AnyComponent, ComponentProcess][] {
    const out: [AnyComponent, ComponentProcess][] = [...this.deps.procs];
    for (const n of ['consumer', 'dataverse', 'servicebus'] as const) out.push([n, this.deps.stack.component(n)]);
    return out;
  }

  private proc(name: AnyComponent): ComponentProcess {
    return name === 'consumer' || name === 'dataverse' || name === 'servicebus' ? this.deps.stack.component(name) : this.deps.procs.get(name)!;
  }

  /** Ends a fault rule; one gone already (count used up, or the emulator restarted and forgot it) is fine. */
  private async removeFault(id: string): Promise<void> {
    await this.deps.dataverseAdmin.removeFault(id).catch(() => undefined);
  }

  private track(p: Promise<void>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Runs `work` holding the locks of `names` (taken in a fixed order, so two actions never deadlock). */
  private async exclusive(names: AnyComponent[], work: () => Promise<void>): Promise<void> {
    const sorted = [...new Set(names)].sort();
    const before = sorted.map((n) => this.locks.get(n) ?? Promise.resolve());
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    for (const n of sorted) this.locks.set(n, mine);
    try {
      await Promise.all(before);
      await work();
    } finally {
      release();
    }
  }

  /** Starts the component if it is not running, retrying while its dependencies come back. */
  async ensureRunning(name: AnyComponent): Promise<void> {
    const p = this.proc(name);
    if (this.paused.has(name) && p.pid) {
      process.kill(p.pid, 'SIGCONT');
      this.paused.delete(name);
    }
    for (let attempt = 1; p.state !== 'running'; ) {
      if (p.state !== 'stopped') {
        await sleep(250); // starting or stopping
        continue;
      }
      try {
        if (name === 'consumer' || name === 'dataverse' || name === 'servicebus') await this.deps.stack.restart(name);
        else await p.start();
      } catch (e) {
        if (attempt++ >= 8) throw e;
        this.deps.onLine?.(`   ${name} did not start (attempt ${attempt}): ${(e as Error).message.split('\n')[0]}; retrying`);
        await sleep(1000 * attempt);
      }
    }
  }

  private async killNow(n: AnyComponent): Promise<boolean> {
    const p = this.proc(n);
    if (p.state !== 'running') return false;
    await p.kill('SIGKILL');
    this.paused.delete(n);
    this.kills[n] = (this.kills[n] ?? 0) + 1;
    return true;
  }

  /** Resolves at the component's next "message processed" log line (or after `timeoutMs`). */
  private nextProcessed(n: AnyComponent, timeoutMs: number): Promise<boolean> {
    const p = this.proc(n);
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(t);
        p.off('line', onLine);
        resolve(v);
      };
      const onLine = (line: string): void => {
        if (line.includes('"msg":"message processed"')) done(true);
      };
      const t = setTimeout(() => done(false), timeoutMs);
      p.on('line', onLine);
    });
  }

  private async killAndRestart(names: AnyComponent[], downMs: number, busyKillAfterMs?: number): Promise<string | undefined> {
    let killed = 0;
    await this.exclusive(names, async () => {
      killed = (await Promise.all(names.map((n) => this.killNow(n)))).filter(Boolean).length;
      await sleep(downMs);
      for (const n of names) await this.ensureRunning(n);
      if (busyKillAfterMs === undefined) return;
      // Kill again while it works through the backlog: messages are in flight between receive, commit, complete and ack.
      for (const n of names) {
        for (let round = 0; round < 3; round++) {
          if (!(await this.nextProcessed(n, 10_000))) break;
          await sleep(busyKillAfterMs);
          if (await this.killNow(n)) killed++;
          // Down long enough for a backlog to build, so the next drain has messages in flight.
          await sleep(1500 + downMs);
          await this.ensureRunning(n);
        }
      }
    });
    return killed === 0 ? 'not running' : undefined;
  }

  /** Who holds each partition of the run's count now (the health report's view of the lease rows). */
  private holders(): Promise<PartitionHolder[]> {
    return readPartitionHolders(this.deps.leaseReader, this.deps.partitions, this.deps.publishers);
  }

  /**
   * The kill-partition-holder action: SIGKILL the publisher holding the most partitions, time until every one of them
   * is held by another live publisher (looking every 100 ms), then restart it. Holds every publisher's lock meanwhile,
   * so no other publisher kill or pause blurs the measurement.
   */
  private async killPartitionHolder(downMs: number, entry: ExecutedAction): Promise<string | undefined> {
    let note: string | undefined;
    await this.exclusive([...this.deps.publishers], async () => {
      const before = await this.holders();
      const held = new Map<PublisherName, number[]>();
      for (const h of before) if (h.publisher) held.set(h.publisher, [...(held.get(h.publisher) ?? []), h.partition]);
      const ranked = [...held].filter(([p]) => this.proc(p).state === 'running').sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
      if (ranked.length === 0) return void (note = 'no running publisher holds a partition');
      const [victim, partitions] = ranked[0]!;
      const victimOwner = before.find((h) => h.publisher === victim)!.owner!;
      entry.note = `${victim} holding ${partitions.length > 1 ? 'partitions' : 'partition'} ${partitions.join(', ')} of ${this.deps.partitions}`;
      const killedAt = Date.now();
      if (!(await this.killNow(victim))) return void (note = `${victim} not running`);
      // Read once it is dead: it can no longer renew, so this is when its last lease runs out.
      const leaseEndsAt = await victimLeaseEnd(this.deps.leaseReader, victimOwner).catch(() => undefined);
      const survivors = this.deps.publishers.filter((p) => p !== victim && this.proc(p).state === 'running');
      const boundMs = this.deps.leaseDurationMs + this.deps.standbyPollMs + MOVE_MARGIN_MS;
      const move: PartitionMove = {
        at: killedAt - this.deps.t0,
        victim,
        partitions,
        count: this.deps.partitions,
        survivors: survivors.length,
        boundMs,
        ...(leaseEndsAt !== undefined ? { leaseEndedAfterMs: Math.max(0, leaseEndsAt - killedAt) } : {}),
        takenBy: {},
        faultsDuring: [],
      };
      if (survivors.length > 0) {
        // Three times the bound, then give up looking (the check reports a move never seen).
        while (Date.now() - killedAt < 3 * boundMs) {
          const now = await this.holders().catch(() => undefined);
          const seenAt = Date.now();
          const taken = now?.filter((h) => partitions.includes(h.partition) && h.publisher !== undefined && h.owner !== victimOwner && survivors.includes(h.publisher));
          if (taken && taken.length === partitions.length) {
            move.movedAfterMs = seenAt - killedAt;
            for (const h of taken) move.takenBy[h.partition] = h.publisher!;
            break;
          }
          await sleep(100);
        }
      }
      // The Dataverse faults that struck while the partitions were free (they can delay any claim).
      const until = killedAt + (move.movedAfterMs ?? 3 * boundMs);
      move.faultsDuring = this.log.filter((a) => a !== entry && dataverseFaultKinds.has(a.kind) && a.outcome === 'done' && a.from <= until && a.to >= killedAt).map((a) => a.description);
      this.partitionMoves.push(move);
      this.deps.onLine?.(
        `   ${victim} killed holding ${partitions.join(', ')}: ${move.movedAfterMs !== undefined ? `taken over after ${move.movedAfterMs} ms by ${Object.entries(move.takenBy).map(([i, p]) => `${p} (${i})`).join(', ')}` : survivors.length ? 'NOT taken over' : 'no other publisher running'} (bound ${boundMs} ms${move.leaseEndedAfterMs !== undefined ? `, its leases ended ${move.leaseEndedAfterMs} ms after the kill` : ''})`,
      );
      await sleep(downMs);
      await this.ensureRunning(victim);
    });
    return note;
  }

  /** A few rows whose acknowledgement was applied already: their acks sent again are good acks the listener must complete. */
  private async ackedRows(max: number): Promise<AckedRow[]> {
    const c = OutboxMessage.columns;
    const out: AckedRow[] = [];
    for await (const r of this.deps.dataverse.listAll(OutboxMessage.entitySetName, { select: [c.id, c.messageId], filter: `${c.status} eq ${OutboxStatus.Acked}`, top: max })) {
      out.push({ outboxId: String(r[c.id]).toLowerCase(), messageId: String(r[c.messageId]) });
      if (out.length >= max) break;
    }
    return out;
  }

  /** The blocked-key action: refuse attaches to its queue, then write the head row and the rows behind it. */
  private async blockKey(rows: number, failForMs: number): Promise<string | undefined> {
    await this.deps.serviceBusAdmin.refuseAttaches({ durationInMs: failForMs, entity: BLOCKED_QUEUE });
    // A sender link opened by an earlier action would still work: every client reconnects (and attaches again).
    if (this.blockedQueueUsed) await this.deps.serviceBusAdmin.dropAllConnections();
    this.blockedQueueUsed = true;
    this.blockedWindows.push(await this.deps.producer.insertBlockedKey(rows, Date.now() + failForMs));
    return undefined;
  }

  /** Starts one action; kills and pauses continue in the background (awaited by settle()). */
  async run(action: ChaosAction): Promise<void> {
    const at = Date.now() - this.deps.t0;
    const description = describeAction(action);
    const from = Date.now();
    const entry: ExecutedAction = { at, kind: action.kind, description, outcome: 'done', from, to: from + effectWindowMs(action) };
    this.log.push(entry);
    this.deps.onLine?.(`${(at / 1000).toFixed(1).padStart(6)} s  ${description}`);
    const count = (): void => void (this.faults[action.kind] = (this.faults[action.kind] ?? 0) + 1);
    const skip = (note: string): void => {
      entry.outcome = 'skipped';
      entry.note = note;
    };
    // A kill or pause lasts until its component runs again.
    const background = (work: Promise<string | undefined>): void =>
      this.track(
        work
          .then(
            (note) => (note ? skip(note) : count()),
            (e: unknown) => skip(`failed: ${(e as Error).message.split('\n')[0]}`),
          )
          .finally(() => void (entry.to = Math.max(entry.to, Date.now()))),
      );
    try {
      switch (action.kind) {
        case 'kill-publisher':
          return background(this.killAndRestart([`publisher-${action.which}`], action.downMs));
        case 'kill-both-publishers':
          return background(this.killAndRestart([...this.deps.publishers], action.downMs));
        case 'kill-partition-holder':
          return background(this.killPartitionHolder(action.downMs, entry));
        case 'kill-consumer':
          return background(this.killAndRestart(['consumer'], action.downMs, action.busyKillAfterMs));
        case 'kill-ct-consumer':
          return background(this.killAndRestart(['ct-consumer'], action.downMs, action.busyKillAfterMs));
        case 'kill-ct-worker':
          return background(this.killAndRestart(['ct-worker'], action.downMs));
        case 'kill-dataverse':
          return background(this.killAndRestart(['dataverse'], action.downMs));
        case 'kill-servicebus':
          return background(this.killAndRestart(['servicebus'], action.downMs));
        case 'pause-publisher': {
          const holder = action.which === 'holder' ? (await this.holders().catch(() => undefined))?.find((h) => h.partition === 0)?.publisher : undefined;
          const name: PublisherName = action.which === 'holder' ? (holder ?? this.deps.publishers[0]!) : `publisher-${action.which}`;
          entry.note = name;
          return background(
            (async () => {
              let note: string | undefined;
              await this.exclusive([name], async () => {
                const p = this.proc(name);
                if (p.state !== 'running' || !p.pid) return void (note = 'not running');
                process.kill(p.pid, 'SIGSTOP');
                this.paused.add(name);
                this.pauses[name] = (this.pauses[name] ?? 0) + 1;
                await sleep(action.pauseMs);
                if (this.paused.delete(name) && p.pid) process.kill(p.pid, 'SIGCONT');
              });
              return note;
            })(),
          );
        }
        case 'dataverse-429': {
          const { id } = await this.deps.dataverseAdmin.injectFault({ kind: '429', rate: action.rate, retryAfterSeconds: action.retryAfterSeconds, entitySet: action.entitySet });
          count();
          this.track(sleep(action.windowMs).then(() => this.removeFault(id)));
          return;
        }
        case 'dataverse-503':
          await this.deps.dataverseAdmin.injectFault({ kind: '503', count: action.count, entitySet: action.entitySet });
          return count();
        case 'dataverse-timeout':
          await this.deps.dataverseAdmin.injectFault({ kind: 'timeout', count: action.count, timeoutMs: action.timeoutMs, phase: action.phase, entitySet: action.entitySet });
          return count();
        case 'dataverse-drop':
          await this.deps.dataverseAdmin.injectFault({ kind: 'drop', count: action.count, phase: action.phase, entitySet: action.entitySet });
          return count();
        case 'servicebus-drop-connections':
          entry.note = `${await this.deps.serviceBusAdmin.dropAllConnections()} connections`;
          return count();
        case 'servicebus-refuse-attaches':
          await this.deps.serviceBusAdmin.refuseAttaches({ durationInMs: action.durationMs, entity: action.entity });
          return count();
        case 'servicebus-delay-sends':
          await this.deps.serviceBusAdmin.delaySends({ delayInMs: action.delayMs, durationInMs: action.durationMs, entity: action.entity });
          return count();
        case 'poison-rows':
          count();
          return this.track(this.deps.producer.insertPoison(action));
        case 'poison-acks':
          await this.deps.injector.sendAcks(action, await this.ackedRows(action.good));
          return count();
        case 'poison-dead-letters':
          await this.deps.injector.sendDeadLetters(action);
          return count();
        case 'deep-nesting':
          count();
          return this.track(this.deps.producer.insertDeepNesting(action.rows, action.depth));
        case 'whitespace-targets':
          count();
          return this.track(this.deps.producer.insertWhitespaceTargets(action.targets));
        case 'blocked-key':
          return background(this.blockKey(action.rows, action.failForMs));
        case 'dataverse-refuse-reads': {
          // Good acks (and one malformed) reach the listener while it cannot read the rows they are for.
          const good = await this.ackedRows(5);
          const { id } = await this.deps.dataverseAdmin.injectFault({ kind: '429', rate: 1, method: 'GET', entitySet: OutboxMessage.entitySetName, retryAfterSeconds: action.retryAfterSeconds });
          count();
          this.track(
            (async () => {
              await this.deps.injector.sendAcks({ malformed: 1, nonGuid: 0, unknownRow: 0 }, good).catch((e: unknown) => void (entry.note = `acks not sent: ${(e as Error).message.split('\n')[0]}`));
              await sleep(action.windowMs);
              await this.removeFault(id);
            })(),
          );
          return;
        }
      }
    } catch (e) {
      // Typically: the emulator is down (being restarted) right now.
      skip(`failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  /** Waits for every action in flight, then clears faults and makes sure every component runs. */
  async settle(): Promise<void> {
    while (this.background.size) await Promise.allSettled([...this.background]);
    await Promise.allSettled([...this.locks.values()]);
    for (const [name] of this.all()) await this.exclusive([name], () => this.ensureRunning(name));
    await this.deps.dataverseAdmin.clearFaults().catch(() => undefined);
    await this.deps.serviceBusAdmin.clearFaults().catch(() => undefined);
  }

  /** No more restarts after this (the run is stopping the processes). */
  stop(): void {
    this.stopped = true;
  }
}
