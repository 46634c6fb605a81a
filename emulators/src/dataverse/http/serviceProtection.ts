// Service protection limits as Dataverse applies them (Microsoft Learn: "Service protection API limits"): per user, a
// sliding window (300 s) of at most 6,000 requests and 1,200,000 ms of combined execution time, and at most 52
// concurrent requests. Over a limit: 429 with Retry-After. The window and the amounts scale for short tests.
import { DataverseErrors } from '../core/errors';

export interface ServiceProtectionLimits {
  windowMs: number;
  maxRequests: number;
  maxExecutionMs: number;
  maxConcurrent: number;
}

export const DATAVERSE_LIMITS: Readonly<ServiceProtectionLimits> = Object.freeze({
  windowMs: 300_000,
  maxRequests: 6000,
  maxExecutionMs: 1_200_000,
  maxConcurrent: 52,
});

/** Dataverse's limits with the window and the per-window amounts multiplied by `factor` (concurrency unchanged). */
export function scaledDataverseLimits(factor: number): ServiceProtectionLimits {
  if (!(factor > 0)) throw new RangeError('factor must be a positive number');
  return {
    windowMs: Math.max(1, Math.round(DATAVERSE_LIMITS.windowMs * factor)),
    maxRequests: Math.max(1, Math.round(DATAVERSE_LIMITS.maxRequests * factor)),
    maxExecutionMs: Math.max(1, Math.round(DATAVERSE_LIMITS.maxExecutionMs * factor)),
    maxConcurrent: DATAVERSE_LIMITS.maxConcurrent,
  };
}

export type LimitsOption = 'off' | 'dataverse' | Partial<ServiceProtectionLimits>;

export function resolveLimits(option: LimitsOption | undefined): ServiceProtectionLimits | undefined {
  if (option === undefined || option === 'off') return undefined;
  if (option === 'dataverse') return { ...DATAVERSE_LIMITS };
  const merged = { ...DATAVERSE_LIMITS, ...option };
  for (const [k, v] of Object.entries(merged)) {
    if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`limits.${k} must be a positive number`);
  }
  return merged;
}

interface UserWindow {
  requests: number[];
  executions: { at: number; ms: number }[];
  executionTotal: number;
  concurrent: number;
}

export interface Admission {
  /** Call when the request ends, with the execution time it consumed. */
  release(executionMs: number): void;
  remainingRequests: number;
  remainingExecutionMs: number;
}

export class ServiceProtection {
  private limits: ServiceProtectionLimits | undefined;
  private readonly users = new Map<string, UserWindow>();

  constructor(
    limits: ServiceProtectionLimits | undefined,
    private readonly now: () => number,
  ) {
    this.limits = limits;
  }

  setLimits(limits: ServiceProtectionLimits | undefined): void {
    this.limits = limits;
    this.users.clear();
  }

  getLimits(): ServiceProtectionLimits | undefined {
    return this.limits ? { ...this.limits } : undefined;
  }

  private window(user: string, now: number, limits: ServiceProtectionLimits): UserWindow {
    let w = this.users.get(user);
    if (!w) {
      w = { requests: [], executions: [], executionTotal: 0, concurrent: 0 };
      this.users.set(user, w);
    }
    const from = now - limits.windowMs;
    while (w.requests.length > 0 && (w.requests[0] as number) <= from) w.requests.shift();
    while (w.executions.length > 0 && (w.executions[0] as { at: number }).at <= from) {
      w.executionTotal -= (w.executions.shift() as { ms: number }).ms;
    }
    return w;
  }

  /** Admits a request or throws the 429 Dataverse would return. */
  admit(user: string): Admission {
    const limits = this.limits;
    if (!limits) return { release: () => undefined, remainingRequests: Infinity, remainingExecutionMs: Infinity };
    const now = this.now();
    const w = this.window(user, now, limits);
    const windowSeconds = Math.round(limits.windowMs / 1000);
    const retryAfter = (oldest: number | undefined): number => Math.max(1, Math.ceil(((oldest ?? now) + limits.windowMs - now) / 1000));
    if (w.concurrent >= limits.maxConcurrent) throw DataverseErrors.tooManyConcurrentRequests(limits.maxConcurrent, 1);
    if (w.requests.length >= limits.maxRequests) throw DataverseErrors.tooManyRequests(limits.maxRequests, windowSeconds, retryAfter(w.requests[0]));
    if (w.executionTotal >= limits.maxExecutionMs) {
      throw DataverseErrors.executionTimeExceeded(limits.maxExecutionMs, windowSeconds, retryAfter(w.executions[0]?.at));
    }
    w.requests.push(now);
    w.concurrent++;
    let released = false;
    return {
      remainingRequests: limits.maxRequests - w.requests.length,
      remainingExecutionMs: Math.max(0, limits.maxExecutionMs - w.executionTotal),
      release: (ms: number) => {
        if (released) return;
        released = true;
        w.concurrent--;
        w.executions.push({ at: this.now(), ms });
        w.executionTotal += ms;
      },
    };
  }
}
