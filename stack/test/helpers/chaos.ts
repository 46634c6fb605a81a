// The short chaos run shared by chaos.test.ts and chaos-broken.test.ts (same seed, same schedule, same traffic).
import type { ChaosOptions } from '../../src/chaos/run';

export const SHORT_RUN = {
  orders: 600,
  seed: 1,
  durationMs: 60_000,
  quiescenceTimeoutMs: 120_000,
} satisfies Partial<ChaosOptions>;
