/**
 * Replication statistics: confidence intervals from independent replications (Student t).
 * @module
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** Mean of a sample with the half-width of its two-sided confidence interval. */
export interface Interval {
  readonly n: number;
  readonly mean: number;
  /** Sample standard deviation (n - 1). */
  readonly sd: number;
  /** `t(1 - alpha/2, n - 1) * sd / sqrt(n)`; NaN with fewer than two values. */
  readonly halfWidth: number;
}

/**
 * Mean ± t·s/√n over replication results `xs` at confidence `level` (default 0.95).
 * The values must come from independent replications, not from samples within one run.
 */
export function confidenceInterval(xs: readonly number[], level = 0.95): Interval {
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, sd: NaN, halfWidth: NaN };
  let mean = 0;
  for (const x of xs) mean += x;
  mean /= n;
  if (n < 2) return { n, mean, sd: NaN, halfWidth: NaN };
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  return { n, mean, sd, halfWidth: tQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n)) };
}

/** Student t quantile `p` with `df` degrees of freedom. */
export function studentT(p: number, df: number): number {
  return tQuantile(p, df);
}
