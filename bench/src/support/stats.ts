// Percentiles and summaries of samples (nearest-rank, as latency reports usually use).

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of already sorted values; NaN for none. */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  if (p >= 100) return sorted[sorted.length - 1]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)]!;
}

export function summarize(values: readonly number[], digits = 1): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const r = (n: number): number => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : Number.NaN;
  return {
    count: sorted.length,
    min: r(sorted[0] ?? Number.NaN),
    p50: r(percentileSorted(sorted, 50)),
    p90: r(percentileSorted(sorted, 90)),
    p99: r(percentileSorted(sorted, 99)),
    max: r(sorted[sorted.length - 1] ?? Number.NaN),
    mean: r(mean),
  };
}

/** Points of the empirical distribution (value, fraction <= value), thinned to at most `maxPoints`. */
export function cdfPoints(values: readonly number[], maxPoints = 200): [number, number][] {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const step = Math.max(1, Math.floor(sorted.length / maxPoints));
  const points: [number, number][] = [];
  for (let i = 0; i < sorted.length; i += step) points.push([sorted[i]!, (i + 1) / sorted.length]);
  const last = sorted[sorted.length - 1]!;
  if (points[points.length - 1]![1] !== 1) points.push([last, 1]);
  return points;
}

/** A count as the report prints it: 1,000,000. */
export function thousands(n: number): string {
  return n.toLocaleString('en-US');
}
