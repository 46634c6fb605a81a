// Carries out the schedule's actions against the running processes and emulators, and keeps the tallies the report
// shows. Actions on one component never overlap (a per-component lock); a component that is down is restarted (with
// retries, since its dependencies may be down too) before the lock is released.
import type { ComponentProcess, LocalStack } from '@dataverse-outbox/stack';
import { OutboxLease, OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import { odataLiteral, type DataverseClient } from '@dataverse-outbox/publisher-function';
import type { DataverseAdminClient, ServiceBusAdminClient } from '@dataverse-outbox/emulators/admin';
import type { ChaosComponent } from './processes';
import { BLOCKED_QUEUE } from './blockedKey';
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
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ChaosExecutor {
  readonly faults: Partial<Record<FaultKind, number>> = {};
  readonly kills: Partial<Record<AnyComponent, number>> = {};
  readonly pauses: Partial<Record<AnyComponent, number>> = {};
  readonly unexpectedExits: { component: string; at: string; info: string }[] = [];
  readonly log: ExecutedAction[] = [];
  /** One per blocked-key action, for the checker (other keys' latency while the key was blocked). */
  readonly blockedWindows: BlockedKeyWindow[] = [];
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

  /** Which publisher holds the lease now (its owner name carries the instance). */
  private async leaseHolder(): Promise<'a' | 'b' | undefined> {
    const c = OutboxLease.columns;
    const r = await this.deps.dataverse.retrieve(OutboxLease.entitySetName, `${c.name}=${odataLiteral('default')}`, { select: [c.owner, c.leaseUntil] });
    const owner = typeof r?.[c.owner] === 'string' ? (r[c.owner] as string) : '';
    return owner.includes(':publisher-a:') ? 'a' : owner.includes(':publisher-b:') ? 'b' : undefined;
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
    const entry: ExecutedAction = { at, kind: action.kind, description, outcome: 'done' };
    this.log.push(entry);
    this.deps.onLine?.(`${(at / 1000).toFixed(1).padStart(6)} s  ${description}`);
    const count = (): void => void (this.faults[action.kind] = (this.faults[action.kind] ?? 0) + 1);
    const skip = (note: string): void => {
      entry.outcome = 'skipped';
      entry.note = note;
    };
    const background = (work: Promise<string | undefined>): void =>
      this.track(
        work.then(
          (note) => (note ? skip(note) : count()),
          (e: unknown) => skip(`failed: ${(e as Error).message.split('\n')[0]}`),
        ),
      );
    try {
      switch (action.kind) {
        case 'kill-publisher':
          return background(this.killAndRestart([`publisher-${action.which}`], action.downMs));
        case 'kill-both-publishers':
          return background(this.killAndRestart(['publisher-a', 'publisher-b'], action.downMs));
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
          const which = action.which === 'holder' ? ((await this.leaseHolder().catch(() => undefined)) ?? 'a') : action.which;
          const name: AnyComponent = `publisher-${which}`;
          entry.note = `publisher-${which}`;
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
