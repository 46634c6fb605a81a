// Exponential backoff with jitter for transient publish failures.

export interface BackoffOptions {
  /** Delay after the first failure. Default 2 s. */
  baseDelayInMs?: number;
  /** Ceiling. Default 5 min. */
  maxDelayInMs?: number;
}

/**
 * Delay before the next attempt after `attempts` failed ones: base x 2^(attempts-1), capped, then "equal jitter"
 * (half fixed, half random) so that rows failing together do not retry in lockstep yet never retry immediately.
 */
export function backoffDelayInMs(attempts: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseDelayInMs ?? 2000;
  const max = options.maxDelayInMs ?? 300_000;
  const exp = Math.min(max, base * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
