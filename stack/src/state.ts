// The state file (`<data>/stack.json`): written by the orchestrator while the stack runs, read by `npm run demo` to find
// it, by `npm run reset` to refuse while it runs, and by the next `npm start` to reuse ports and clean up orphans.
import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ErpDatabase } from './config/erpDatabase';
import type { DataLayout } from './paths';

export type ComponentName = 'dataverse' | 'servicebus' | 'publisher' | 'consumer' | 'monitor';
export const componentNames: readonly ComponentName[] = ['dataverse', 'servicebus', 'publisher', 'consumer', 'monitor'];

export interface StackPorts {
  dataverse: number;
  servicebus: number;
  servicebusAdmin: number;
  monitor: number;
}

export interface StackState {
  version: 1;
  status: 'starting' | 'running' | 'stopping' | 'stopped';
  /** The orchestrator's process id. */
  pid: number;
  startedAt: string;
  readyAt?: string;
  stoppedAt?: string;
  dataDir: string;
  ports: StackPorts;
  urls: {
    dataverse: string;
    dataverseApi: string;
    serviceBusAdmin: string;
    monitor: string;
  };
  serviceBusConnectionString: string;
  dataverseToken: string;
  erpDatabase: ErpDatabase;
  components: Partial<Record<ComponentName, { pid?: number; log: string; entry: string }>>;
}

export function readState(layout: DataLayout): StackState | undefined {
  if (!existsSync(layout.stateFile)) return undefined;
  try {
    const s = JSON.parse(readFileSync(layout.stateFile, 'utf8')) as StackState;
    return s.version === 1 ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Atomic write (rename), so a reader never sees half a file. */
export function writeState(layout: DataLayout, state: StackState): void {
  mkdirSync(layout.root, { recursive: true });
  const tmp = path.join(layout.root, `.stack.json.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, layout.stateFile);
}

export function isProcessAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `pid` is alive AND still runs `entry` (guards against a recycled pid). */
export function isComponentProcess(pid: number | undefined, entry: string): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(entry);
  } catch {
    return true; // no /proc (not Linux): trust the pid
  }
}

export interface RunningCheck {
  running: boolean;
  /** The orchestrator is alive. */
  orchestrator: boolean;
  /** Components still alive (orphans when the orchestrator is gone). */
  livingComponents: { name: ComponentName; pid: number }[];
  state?: StackState;
}

export function checkRunning(layout: DataLayout): RunningCheck {
  const state = readState(layout);
  if (!state) return { running: false, orchestrator: false, livingComponents: [] };
  const orchestrator = state.status !== 'stopped' && state.pid !== process.pid && isProcessAlive(state.pid);
  const livingComponents = Object.entries(state.components)
    .filter(([, c]) => c && isComponentProcess(c.pid, c.entry))
    .map(([name, c]) => ({ name: name as ComponentName, pid: c!.pid! }));
  return { running: orchestrator || livingComponents.length > 0, orchestrator, livingComponents, state };
}

/** SIGKILLs components left behind by an orchestrator that died without stopping them (their process groups). */
export function killOrphans(check: RunningCheck): number {
  let n = 0;
  for (const c of check.livingComponents) {
    try {
      process.kill(-c.pid, 'SIGKILL');
      n++;
    } catch {
      try {
        process.kill(c.pid, 'SIGKILL');
        n++;
      } catch {
        // already gone
      }
    }
  }
  return n;
}
