// The emulator's lifecycle: Closed -> Starting -> Running -> Closing -> Closed (after Azurite's ServerBase). Builds the
// schema from the solution, opens the SQLite store, seeds it, and serves HTTP or HTTPS on 127.0.0.1 (port 0 = any).
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import type { Engine, EngineSettings } from './core/engine';
import { UserDirectory } from './core/identity';
import { runDueBulkDeleteJobs, type BulkDeleteRunResult } from './handlers/bulkDelete';
import { createAdminHandler, type AdminApi } from './http/admin';
import { CounterBook, type RequestCounters } from './http/counters';
import { FaultInjector, type FaultRule, type FaultRuleInput } from './http/faults';
import { resolveLatency, type LatencyOption, type LatencyProfile } from './http/latency';
import { API_PATH, createRequestListener } from './http/pipeline';
import { resolveLimits, ServiceProtection, type LimitsOption, type ServiceProtectionLimits } from './http/serviceProtection';
import { loadSolutionModel } from './metadata/loadSolution';
import { Schema } from './metadata/schema';
import { seed } from './persistence/seed';
import { DataverseStore } from './persistence/store';

export interface DataverseEmulatorOptions {
  /** TCP port; 0 or omitted = any free port. */
  port?: number;
  /** Only 127.0.0.1 is supported: the emulator never listens on other interfaces. */
  host?: '127.0.0.1';
  /** SQLite file; ':memory:' or omitted = in-memory (lost on close). */
  dataFile?: string;
  /** Folder of the unpacked solution (passed to readSolutionModel); default: the solution workspace's own. */
  solutionDir?: string;
  /** 'off' (default), 'realistic' (50 ms/request + 5 ms/record written + 0.2 ms/record read) or custom. */
  latency?: LatencyOption;
  /** Service protection limits: 'off' (default), 'dataverse', or overrides (e.g. a short windowMs for tests). */
  limits?: LimitsOption;
  /** Serve HTTPS with this certificate, or with a self-signed one generated at start ('generate'). */
  https?: { cert: string; key: string } | 'generate';
  /** Accept only these bearer tokens (default: any non-empty token). */
  tokens?: { accept: 'any' | readonly string[] };
  /** Column security: callers (a token's appid/oid claim, or the token itself) in no column security profile. Dataverse
   *  returns the secured columns (`<IsSecured>1` in the solution) to them as null; the emulator does the same. */
  columnSecurity?: { withoutProfile: readonly string[] };
  /** Reject writes leaving a required column empty (default true; Dataverse itself only enforces SystemRequired). */
  enforceRequiredColumns?: boolean;
  /** Change tracking token lifetime (default 7 days). */
  changeTrackingTokenTtlMs?: number;
  /** Rows an aggregate FetchXML query may cover (default 50,000 as in Dataverse). */
  aggregateQueryRecordLimit?: number;
  /** Largest accepted request body (default 128 MiB). */
  maxRequestBytes?: number;
  /** Seed of the fault injector's random generator (rate-based faults). */
  faultSeed?: number;
  /** Receives diagnostic lines (unexpected errors). */
  log?: (line: string) => void;
}

export interface DataverseEmulator extends AdminApi {
  /** e.g. `http://127.0.0.1:53127` */
  readonly url: string;
  /** `${url}/api/data/v9.2/` */
  readonly apiUrl: string;
  readonly port: number;
  /** PEM certificate the emulator serves with (HTTPS only), for clients to trust. */
  readonly certificate?: string;
  close(): Promise<void>;
}

type State = 'Closed' | 'Starting' | 'Running' | 'Closing';

class DataverseEmulatorServer implements DataverseEmulator {
  private state: State = 'Closed';
  private server: Server | undefined;
  private clockOffsetMs = 0;
  private readonly bulkDeleteRuns = new Set<Promise<unknown>>();
  private latency: LatencyProfile | undefined;
  private readonly faults: FaultInjector;
  private readonly counters = new CounterBook();
  private readonly limits: ServiceProtection;
  url = '';
  apiUrl = '';
  port = 0;
  certificate?: string;

  constructor(
    private readonly engine: Engine,
    private readonly options: DataverseEmulatorOptions,
  ) {
    this.latency = resolveLatency(options.latency);
    this.limits = new ServiceProtection(resolveLimits(options.limits), () => Date.now());
    this.faults = new FaultInjector(options.faultSeed);
  }

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  async start(): Promise<void> {
    this.state = 'Starting';
    let tls: { cert: string; key: string } | undefined;
    if (this.options.https === 'generate') {
      const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
        keySize: 2048,
        notAfterDate: new Date(Date.now() + 365 * 86_400_000),
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
      });
      tls = { cert: pems.cert, key: pems.private };
    } else if (this.options.https) tls = this.options.https;
    this.certificate = tls?.cert;
    const accept = this.options.tokens?.accept;
    const listener = createRequestListener({
      engine: this.engine,
      users: new UserDirectory(this.engine),
      faults: this.faults,
      limits: this.limits,
      counters: this.counters,
      latency: () => this.latency,
      now: () => this.now(),
      maxRequestBytes: this.options.maxRequestBytes ?? 128 * 1024 * 1024,
      acceptedTokens: accept && accept !== 'any' ? new Set(accept) : undefined,
      withoutColumnProfile: this.options.columnSecurity ? new Set(this.options.columnSecurity.withoutProfile) : undefined,
      scheme: tls ? 'https' : 'http',
      admin: createAdminHandler(this),
      log: this.options.log,
    });
    const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, listener) : createHttpServer(listener);
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    this.apiUrl = `${this.url}${API_PATH}`;
    this.state = 'Running';
  }

  async close(): Promise<void> {
    if (this.state === 'Closed' || this.state === 'Closing') return;
    this.state = 'Closing';
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await Promise.allSettled([...this.bulkDeleteRuns]);
    this.engine.store.close();
    this.state = 'Closed';
  }

  private assertRunning(): void {
    if (this.state !== 'Running') throw new Error('The Dataverse emulator is not running; start a new one with startDataverseEmulator().');
  }

  injectFault(rule: FaultRuleInput): FaultRule {
    this.assertRunning();
    return this.faults.add(rule);
  }
  listFaults(): FaultRule[] {
    return this.faults.list();
  }
  removeFault(id: string): boolean {
    return this.faults.remove(id);
  }
  clearFaults(): void {
    this.faults.clear();
  }
  setLatency(latency: LatencyOption): void {
    this.latency = resolveLatency(latency);
  }
  getLatency(): LatencyProfile | undefined {
    return this.latency ? { ...this.latency } : undefined;
  }
  setLimits(limits: LimitsOption): void {
    this.limits.setLimits(resolveLimits(limits));
  }
  getLimits(): ServiceProtectionLimits | undefined {
    return this.limits.getLimits();
  }
  runDueBulkDeleteJobs(options: { now?: Date; batchSize?: number } = {}): Promise<BulkDeleteRunResult[]> {
    this.assertRunning();
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize > 0)) throw new RangeError('batchSize must be a positive integer');
    // Runs beside the Web API (yields between batches); close() stops it between batches and waits for it.
    const run = runDueBulkDeleteJobs(this.engine, options.now?.getTime() ?? this.now(), { batchSize: options.batchSize, shouldStop: () => this.state !== 'Running' });
    this.bulkDeleteRuns.add(run);
    const forget = (): void => {
      this.bulkDeleteRuns.delete(run);
    };
    run.then(forget, forget);
    return run;
  }
  getRequestCounters(): RequestCounters {
    return this.counters.snapshot();
  }
  resetRequestCounters(): void {
    this.counters.reset();
  }
  setClockOffset(offsetMs: number): void {
    if (!Number.isFinite(offsetMs)) throw new RangeError('offsetMs must be a finite number');
    this.clockOffsetMs = offsetMs;
  }
  getClockOffset(): number {
    return this.clockOffsetMs;
  }
  setChangeTrackingTokenTtl(ttlMs: number): void {
    if (!(ttlMs >= 0)) throw new RangeError('ttlMs must be a non-negative number');
    this.engine.settings.changeTrackingTokenTtlMs = ttlMs;
  }
}

export async function startDataverseEmulator(options: DataverseEmulatorOptions = {}): Promise<DataverseEmulator> {
  if (options.host !== undefined && options.host !== '127.0.0.1') throw new RangeError("host must be '127.0.0.1'");
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) throw new RangeError('port must be 0..65535');
  const model = loadSolutionModel(options.solutionDir);
  const schema = new Schema(model);
  let clock: () => number = () => Date.now();
  const store = new DataverseStore(schema, {
    dataFile: options.dataFile,
    enforceRequiredColumns: options.enforceRequiredColumns ?? true,
    now: () => clock(),
  });
  const settings: EngineSettings = {
    maxPageSize: 5000,
    changeTrackingTokenTtlMs: options.changeTrackingTokenTtlMs ?? 7 * 86_400_000,
    aggregateLimit: options.aggregateQueryRecordLimit ?? 50_000,
    maxBatchRequests: 1000,
  };
  const engine: Engine = { schema, store, settings };
  try {
    store.init();
    seed(engine, model);
    const emulator = new DataverseEmulatorServer(engine, options);
    clock = () => emulator.now();
    await emulator.start();
    return emulator;
  } catch (e) {
    store.close();
    throw e;
  }
}
