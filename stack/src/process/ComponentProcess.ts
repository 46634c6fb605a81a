// One component of the stack as a child process: `node --conditions=development --import tsx <entry>`, output appended
// to its own log file, a readiness check, graceful stop (SIGTERM, then SIGKILL after a timeout), kill (SIGKILL, as the
// chaos run does) and restart with the same arguments, ports and data files.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

export type ComponentState = 'stopped' | 'starting' | 'running' | 'stopping';

/** Polled while the component starts; true = ready. `sawLine` tells whether a line matching `readyLine` was printed. */
export type ReadinessCheck = (ctx: { sawLine: boolean }) => Promise<boolean>;

export interface ComponentSpec {
  /** Short id used in logs and commands, e.g. `publisher`. */
  name: string;
  /** Human title, e.g. `Publisher worker`. */
  title: string;
  /** TypeScript entry point. */
  entry: string;
  args?: readonly string[];
  /** Modules loaded with `--import` before the entry point (file paths), e.g. the trace recorder. */
  preload?: readonly string[];
  /** Added to the parent's environment. */
  env?: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** A line of output that means "ready" (checked on stdout and stderr). */
  readyLine?: RegExp;
  ready: ReadinessCheck;
  /** How long a start may take before it counts as failed. Default 90 s (tsx compiles on a loaded machine). */
  startTimeoutMs?: number;
  /** How long SIGTERM may take before SIGKILL. Default 20 s. */
  stopTimeoutMs?: number;
}

export class ComponentStartError extends Error {
  override readonly name = 'ComponentStartError';
  constructor(
    readonly component: string,
    message: string,
    readonly logFile: string,
    readonly lastLines: readonly string[],
  ) {
    super(`${message}\nLast lines of ${logFile}:\n${lastLines.map((l) => `  | ${l}`).join('\n') || '  (no output)'}`);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the stack asked for the exit (stop/kill/restart). */
  expected: boolean;
}

/** Preload that stops the component when the orchestrator is gone (no orphans after a SIGKILL of `npm start`). */
const parentWatchdog = pathToFileURL(path.join(__dirname, 'parent-watchdog.mjs')).href;

const preloads = (spec: ComponentSpec): string[] => (spec.preload ?? []).flatMap((file) => ['--import', pathToFileURL(file).href]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ComponentProcess extends EventEmitter<{ exit: [ExitInfo]; line: [string] }> {
  private child: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private exited: Promise<ExitInfo> | undefined;
  private expectingExit = false;
  private sawReadyLine = false;
  private readonly tail: string[] = [];
  state: ComponentState = 'stopped';
  /** Times the process was started (restarts included). */
  starts = 0;

  constructor(
    readonly spec: ComponentSpec,
    readonly logFile: string,
  ) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get lastLines(): readonly string[] {
    return [...this.tail];
  }

  private openLog(): WriteStream {
    if (!this.log) {
      mkdirSync(path.dirname(this.logFile), { recursive: true });
      this.log = createWriteStream(this.logFile, { flags: 'a' });
    }
    return this.log;
  }

  private record(line: string): void {
    this.openLog().write(`${new Date().toISOString()} ${line}\n`);
    this.tail.push(line);
    if (this.tail.length > 40) this.tail.shift();
    if (this.spec.readyLine?.test(line)) this.sawReadyLine = true;
    this.emit('line', line);
  }

  /** Spawns the process and waits until it is ready; throws ComponentStartError (process killed) otherwise. */
  async start(): Promise<void> {
    if (this.state !== 'stopped') throw new Error(`${this.spec.name} is ${this.state}; stop it first.`);
    this.state = 'starting';
    this.sawReadyLine = false;
    this.expectingExit = false;
    this.starts++;
    this.record(`---- stack: starting ${this.spec.title} (${this.starts > 1 ? `start #${this.starts}` : 'first start'}) ----`);
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', '--import', parentWatchdog, ...preloads(this.spec), this.spec.entry, ...(this.spec.args ?? [])], {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: Ctrl+C in the terminal reaches only the orchestrator, which stops the children in order.
      detached: true,
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => this.record(l));
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', (e) => this.record(`---- stack: could not start: ${e.message} ----`));
      child.once('close', (code, signal) => {
        const info: ExitInfo = { code, signal, expected: this.expectingExit };
        this.record(`---- stack: exited (${signal ?? `code ${code}`})${info.expected ? '' : ' UNEXPECTEDLY'} ----`);
        if (this.child === child) this.child = undefined;
        this.state = 'stopped';
        resolve(info);
        this.emit('exit', info);
      });
    });

    const deadline = Date.now() + (this.spec.startTimeoutMs ?? 90_000);
    let exitInfo: ExitInfo | undefined;
    void this.exited.then((i) => (exitInfo = i));
    for (;;) {
      if (exitInfo) {
        throw new ComponentStartError(this.spec.name, `${this.spec.title} exited during start (${exitInfo.signal ?? `code ${exitInfo.code}`}).`, this.logFile, this.lastLines);
      }
      let ok = false;
      try {
        ok = await this.spec.ready({ sawLine: this.sawReadyLine });
      } catch {
        ok = false;
      }
      if (ok && !exitInfo) break;
      if (Date.now() > deadline) {
        await this.kill();
        throw new ComponentStartError(this.spec.name, `${this.spec.title} was not ready within ${Math.round((this.spec.startTimeoutMs ?? 90_000) / 1000)} s.`, this.logFile, this.lastLines);
      }
      await sleep(200);
    }
    this.state = 'running';
    this.record(`---- stack: ${this.spec.title} is ready ----`);
  }

  /** Graceful stop: SIGTERM, then SIGKILL if it has not exited after stopTimeoutMs. */
  async stop(): Promise<ExitInfo | undefined> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited || child.exitCode !== null || child.signalCode !== null) return undefined;
    this.state = 'stopping';
    this.expectingExit = true;
    child.kill('SIGTERM');
    const timeout = this.spec.stopTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeout)))]);
    clearTimeout(timer);
    if (result) return result;
    this.record(`---- stack: no exit ${Math.round(timeout / 1000)} s after SIGTERM: SIGKILL ----`);
    child.kill('SIGKILL');
    return exited;
  }

  /** Ends the process at once (SIGKILL by default, like a crash) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo | undefined> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited || child.exitCode !== null || child.signalCode !== null) return undefined;
    this.expectingExit = true;
    this.record(`---- stack: ${signal} ----`);
    child.kill(signal);
    return exited;
  }

  /** Stops (gracefully, or with SIGKILL when `hard`) and starts again with the same arguments, ports and data. */
  async restart(options: { hard?: boolean } = {}): Promise<void> {
    if (options.hard) await this.kill();
    else await this.stop();
    await this.start();
  }

  /** Closes the log file (after the process is gone). */
  async dispose(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log) await new Promise<void>((r) => log.end(() => r()));
  }
}
