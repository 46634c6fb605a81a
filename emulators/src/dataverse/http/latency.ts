// The latency model: off by default; 'realistic' = 50 ms per HTTP request + 5 ms per record written + 0.2 ms per
// record read (single or bulk alike). The simulated time counts as execution time for the service protection limits.
import type { RequestCost } from '../core/protocol';

export interface LatencyProfile {
  perRequestMs: number;
  perRecordWrittenMs: number;
  perRecordReadMs: number;
}

export const REALISTIC_LATENCY: Readonly<LatencyProfile> = Object.freeze({ perRequestMs: 50, perRecordWrittenMs: 5, perRecordReadMs: 0.2 });

export type LatencyOption = 'off' | 'realistic' | LatencyProfile;

export function resolveLatency(option: LatencyOption | undefined): LatencyProfile | undefined {
  if (option === undefined || option === 'off') return undefined;
  if (option === 'realistic') return { ...REALISTIC_LATENCY };
  for (const [k, v] of Object.entries(option)) {
    if (typeof v !== 'number' || v < 0 || !Number.isFinite(v)) throw new RangeError(`latency.${k} must be a non-negative number`);
  }
  return { ...option };
}

export function simulatedMs(profile: LatencyProfile | undefined, cost: RequestCost): number {
  if (!profile) return 0;
  return profile.perRequestMs + cost.recordsWritten * profile.perRecordWrittenMs + cost.recordsRead * profile.perRecordReadMs;
}
