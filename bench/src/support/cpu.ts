// CPU time of processes and of the whole machine, read from /proc (Linux), so a benchmark can say which process used
// the cores while it measured, and whether the machine had any left (other work on a shared VM counts too).
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far, or undefined when it is gone (or not Linux). */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The machine's busy and total CPU seconds so far, summed over every core (the first line of /proc/stat). */
export function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((s, n) => s + n, 0);
    return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  at: number;
  /** CPU seconds per named process. */
  processes: Record<string, number>;
  machine?: { busy: number; total: number };
}

/** Samples the named processes' CPU (pids may be added while it runs, e.g. worker processes). */
export class CpuSampler {
  private readonly pids = new Map<string, number>();

  watch(name: string, pid: number | undefined): void {
    if (pid !== undefined) this.pids.set(name, pid);
  }

  forget(name: string): void {
    this.pids.delete(name);
  }

  sample(): CpuSample {
    const processes: Record<string, number> = {};
    for (const [name, pid] of this.pids) {
      const s = processCpuSeconds(pid);
      if (s !== undefined) processes[name] = s;
    }
    return { at: performance.now(), processes, machine: machineCpuSeconds() };
  }
}

export interface CpuUse {
  /** Cores used by each named process between the two samples (1 = one core busy all the time). */
  processes: Record<string, number>;
  /** Cores the named processes used together. */
  ours: number;
  /** Cores busy on the whole machine (ours and anything else running), and how many there are. */
  machineBusy?: number;
  cores?: number;
  /** Cores busy with anything but the named processes (other work on a shared machine). */
  others?: number;
}

/** CPU use between two samples, in cores. */
export function cpuBetween(from: CpuSample, to: CpuSample, cores: number): CpuUse {
  const seconds = Math.max(1e-3, (to.at - from.at) / 1000);
  const processes: Record<string, number> = {};
  for (const [name, end] of Object.entries(to.processes)) {
    const start = from.processes[name];
    if (start !== undefined) processes[name] = round2((end - start) / seconds);
  }
  const ours = round2(Object.values(processes).reduce((s, v) => s + v, 0));
  const machine =
    from.machine && to.machine && to.machine.total > from.machine.total
      ? round2(((to.machine.busy - from.machine.busy) / (to.machine.total - from.machine.total)) * cores)
      : undefined;
  return { processes, ours, machineBusy: machine, cores, others: machine === undefined ? undefined : round2(Math.max(0, machine - ours)) };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Waits until the machine has been quiet for one `sliceMs` (other work than the watched processes under `maxOthers`
 * cores), at most `timeoutMs`. Returns the other load of the last slice (undefined off Linux).
 */
export async function waitForQuiet(sampler: CpuSampler, options: { maxOthers: number; sliceMs: number; timeoutMs: number; cores: number }): Promise<{ others?: number; waitedMs: number }> {
  const started = performance.now();
  for (;;) {
    const a = sampler.sample();
    await new Promise((r) => setTimeout(r, options.sliceMs));
    const use = cpuBetween(a, sampler.sample(), options.cores);
    const waitedMs = Math.round(performance.now() - started);
    if (use.others === undefined || use.others <= options.maxOthers || waitedMs >= options.timeoutMs) return { others: use.others, waitedMs };
  }
}
