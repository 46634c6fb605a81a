// The orchestrator: starts the local stack's components as child processes in dependency order, keeps the state file
// current, and stops them in reverse order. Used by `npm start`, the end-to-end test and the chaos run (which kills and
// restarts components through kill()/restart(); ports and data files stay the same, so clients reconnect).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildEmulatorConfig } from '@dataverse-outbox/emulators/servicebus';
import type { ErpDatabase } from './config/erpDatabase';
import { DataverseClient } from '@dataverse-outbox/publisher-function';
import { applySettings, type AppliedSetting } from './config/applySettings';
import { demoSettings, LOCAL_DATAVERSE_TOKEN, serviceBusEntities } from './config/localStack';
import { componentSpecs, endpoints, type ComponentContext } from './components';
import { ComponentProcess, type ExitInfo } from './process/ComponentProcess';
import { dataLayout, type DataLayout } from './paths';
import { pickPorts } from './ports';
import { checkRunning, componentNames, killOrphans, writeState, type ComponentName, type StackPorts, type StackState } from './state';

export interface StackOptions {
  /** Data folder; default `.outbox-data/` at the repository root. Tests pass a temporary folder. */
  dataDir?: string;
  /** PostgreSQL for the consumer's inbox and sales orders; default: SQLite in the data folder. */
  databaseUrl?: string;
  /** PostgreSQL schema of the ERP (default `erp_sales`). */
  databaseSchema?: string;
  /** Components to run; default all five. */
  components?: readonly ComponentName[];
  /** Extra environment per component (chaos: short lease, broken consumer variant...). */
  extraEnv?: ComponentContext['extraEnv'];
  /** Restart a component that exits on its own (not through stop/kill). Default false; `npm start` turns it on. */
  autoRestart?: boolean;
  /** Progress lines ("Dataverse emulator ready in 3.1 s"). */
  onEvent?: (event: StackEvent) => void;
  startTimeoutMs?: number;
  /** Record the publisher's and the consumer's spans in `<data>/traces/` (default true). */
  recordTraces?: boolean;
}

export type StackEvent =
  | { kind: 'starting'; component: ComponentName; title: string }
  | { kind: 'ready'; component: ComponentName; title: string; ms: number }
  | { kind: 'settings'; applied: AppliedSetting[] }
  | { kind: 'orphans-killed'; count: number }
  | { kind: 'exited'; component: ComponentName; title: string; info: ExitInfo; willRestart: boolean }
  | { kind: 'restarted'; component: ComponentName; title: string }
  | { kind: 'stopping'; component: ComponentName; title: string }
  | { kind: 'stopped'; component: ComponentName; title: string; info?: ExitInfo };

/** Start order (stop is the reverse, by stage): emulators, then everything that talks to them. */
const stages: readonly (readonly ComponentName[])[] = [
  ['dataverse', 'servicebus'],
  ['publisher', 'consumer', 'monitor'],
];

export class StackAlreadyRunningError extends Error {
  override readonly name = 'StackAlreadyRunningError';
}

export class LocalStack {
  readonly components = new Map<ComponentName, ComponentProcess>();
  private stopping = false;
  private restartTimes = new Map<ComponentName, number[]>();

  constructor(
    readonly layout: DataLayout,
    readonly ports: StackPorts,
    readonly erpDatabase: ErpDatabase,
    private state: StackState,
    private readonly options: StackOptions,
    private readonly ctx: ComponentContext,
  ) {}

  get urls(): StackState['urls'] {
    return this.state.urls;
  }
  get serviceBusConnectionString(): string {
    return this.state.serviceBusConnectionString;
  }
  get dataverseToken(): string {
    return this.state.dataverseToken;
  }
  get snapshot(): StackState {
    return structuredClone(this.state);
  }

  component(name: ComponentName): ComponentProcess {
    const c = this.components.get(name);
    if (!c) throw new Error(`The stack does not run ${name} (running: ${[...this.components.keys()].join(', ')}).`);
    return c;
  }

  /** A Dataverse Web API client for the emulator (the same static token the publisher uses). */
  dataverseClient(): DataverseClient {
    return new DataverseClient(this.state.urls.dataverse, { token: this.state.dataverseToken });
  }

  private emit(event: StackEvent): void {
    this.options.onEvent?.(event);
  }

  private saveState(patch: Partial<StackState> = {}): void {
    this.state = { ...this.state, ...patch };
    for (const [name, c] of this.components) {
      this.state.components[name] = { pid: c.pid, log: c.logFile, entry: c.spec.entry };
    }
    writeState(this.layout, this.state);
  }

  private async startOne(name: ComponentName): Promise<void> {
    const specs = componentSpecs(this.ctx);
    const proc = new ComponentProcess(specs[name], path.join(this.layout.logs, `${name}.log`));
    this.components.set(name, proc);
    proc.on('exit', (info) => this.onExit(name, proc, info));
    this.emit({ kind: 'starting', component: name, title: proc.spec.title });
    const t0 = Date.now();
    const started = proc.start();
    // The pid is known right after spawn: record it at once so an orphan can be found even if start fails.
    this.saveState();
    await started;
    this.saveState();
    this.emit({ kind: 'ready', component: name, title: proc.spec.title, ms: Date.now() - t0 });
  }

  private onExit(name: ComponentName, proc: ComponentProcess, info: ExitInfo): void {
    if (this.stopping || info.expected || proc.state === 'starting') {
      if (!this.stopping) this.saveState();
      return;
    }
    const recent = (this.restartTimes.get(name) ?? []).filter((t) => Date.now() - t < 60_000);
    const willRestart = Boolean(this.options.autoRestart) && recent.length < 5;
    this.emit({ kind: 'exited', component: name, title: proc.spec.title, info, willRestart });
    this.saveState();
    if (!willRestart) return;
    recent.push(Date.now());
    this.restartTimes.set(name, recent);
    setTimeout(() => {
      if (this.stopping || proc.state !== 'stopped') return;
      proc.start().then(
        () => {
          this.saveState();
          this.emit({ kind: 'restarted', component: name, title: proc.spec.title });
        },
        () => undefined, // the next exit event reports it
      );
    }, 1_000 * recent.length);
  }

  /** Starts every component in order; on failure stops what was started and rethrows. */
  async start(): Promise<void> {
    const wanted = new Set(this.options.components ?? componentNames);
    try {
      for (const [i, stage] of stages.entries()) {
        if (this.stopping) throw new Error('The stack was stopped while it was starting.');
        await Promise.all(stage.filter((n) => wanted.has(n)).map((n) => this.startOne(n)));
        if (i === 0 && wanted.has('dataverse')) {
          const client = this.dataverseClient();
          try {
            this.emit({ kind: 'settings', applied: await applySettings(client, demoSettings) });
          } finally {
            await client.close();
          }
        }
      }
      this.saveState({ status: 'running', readyAt: new Date().toISOString() });
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e;
    }
  }

  /** SIGKILL one component (a crash). It stays down until restart(). */
  async kill(name: ComponentName): Promise<ExitInfo | undefined> {
    const info = await this.component(name).kill();
    this.saveState();
    return info;
  }

  /** Starts a stopped or killed component again, or stops (hard: kills) and starts a running one. */
  async restart(name: ComponentName, options: { hard?: boolean } = {}): Promise<void> {
    const c = this.component(name);
    if (c.state === 'stopped') await c.start();
    else await c.restart(options);
    this.saveState();
  }

  /** Graceful stop in reverse order: publisher, consumer and monitor first (they finish what they hold), then the emulators. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.saveState({ status: 'stopping' });
    for (const stage of [...stages].reverse()) {
      await Promise.all(
        stage
          .map((n) => [n, this.components.get(n)] as const)
          .filter((e): e is readonly [ComponentName, ComponentProcess] => e[1] !== undefined)
          .map(async ([name, c]) => {
            this.emit({ kind: 'stopping', component: name, title: c.spec.title });
            const info = await c.stop();
            this.emit({ kind: 'stopped', component: name, title: c.spec.title, info });
          }),
      );
    }
    for (const c of this.components.values()) await c.dispose();
    this.state.components = {};
    this.components.clear();
    writeState(this.layout, { ...this.state, status: 'stopped', stoppedAt: new Date().toISOString() });
  }
}

/** Prepares the data folder, picks ports, writes the Service Bus config; start() it next. */
export async function prepareStack(options: StackOptions = {}): Promise<LocalStack> {
  const layout = dataLayout(options.dataDir);
  const check = checkRunning(layout);
  if (check.orchestrator) {
    throw new StackAlreadyRunningError(
      `The local stack already runs (pid ${check.state?.pid}, monitor ${check.state?.urls.monitor}) with data in ${layout.root}. Stop it with Ctrl+C in its terminal first.`,
    );
  }
  if (check.livingComponents.length > 0) {
    options.onEvent?.({ kind: 'orphans-killed', count: killOrphans(check) });
    await new Promise((r) => setTimeout(r, 500));
  }
  mkdirSync(layout.logs, { recursive: true });
  writeFileSync(layout.serviceBusConfigFile, `${JSON.stringify(buildEmulatorConfig(serviceBusEntities), null, 2)}\n`);

  const ports = await pickPorts<keyof StackPorts>(check.state?.ports ?? {}, ['dataverse', 'servicebus', 'servicebusAdmin', 'monitor']);
  const erpDatabase: ErpDatabase = options.databaseUrl
    ? { kind: 'postgres', url: options.databaseUrl, ...(options.databaseSchema ? { schema: options.databaseSchema } : {}) }
    : { kind: 'sqlite', file: layout.erpSalesFile };
  const e = endpoints(ports);
  const state: StackState = {
    version: 1,
    status: 'starting',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dataDir: layout.root,
    ports,
    urls: { dataverse: e.dataverseUrl, dataverseApi: `${e.dataverseUrl}/api/data/v9.2/`, serviceBusAdmin: e.serviceBusAdminUrl, monitor: e.monitorUrl },
    serviceBusConnectionString: e.serviceBusConnectionString,
    dataverseToken: LOCAL_DATAVERSE_TOKEN,
    erpDatabase,
    components: {},
  };
  writeState(layout, state);
  const ctx: ComponentContext = { layout, ports, erpDatabase, extraEnv: options.extraEnv, startTimeoutMs: options.startTimeoutMs, recordTraces: options.recordTraces };
  return new LocalStack(layout, ports, erpDatabase, state, options, ctx);
}

/** prepareStack + start: the `npm start` path, used as is by the end-to-end test and the chaos run. */
export async function startStack(options: StackOptions = {}): Promise<LocalStack> {
  const stack = await prepareStack(options);
  await stack.start();
  return stack;
}
