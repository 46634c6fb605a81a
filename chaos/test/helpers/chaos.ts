// The short chaos run shared by chaos.test.ts and chaos-broken.test.ts (same seed, same schedule, same traffic).
import type { ChaosOptions } from '../../src/run';

export const SHORT_RUN = {
  orders: 600,
  seed: 1,
  durationMs: 60_000,
  // Two partitions shared by the two publishers (one application user each): kills move partitions, not one lease.
  partitions: 2,
  publishers: 2,
  // Quiescence takes seconds when nothing is stuck (under 40 s seen on the loaded machine); a stuck run fails sooner.
  quiescenceTimeoutMs: 75_000,
} satisfies Partial<ChaosOptions>;
