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

/** A duration as observed: its length, and whether it ended (false: still running when the run stopped). */
export interface Duration {
  readonly t: number;
  readonly ended: boolean;
}

/**
 * Kaplan–Meier estimate of the survival function S(t) = P(T > t) from right-censored durations:
 * one step per distinct time at which a duration ended. At a time where durations end and others
 * are censored, the ended ones count first (the usual convention).
 */
export function kaplanMeier(xs: readonly Duration[]): { t: number; survival: number }[] {
  const sorted = [...xs].sort((a, b) => a.t - b.t || Number(b.ended) - Number(a.ended));
  const steps: { t: number; survival: number }[] = [];
  let atRisk = sorted.length;
  let s = 1;
  for (let i = 0; i < sorted.length;) {
    const t = sorted[i]!.t;
    let ended = 0;
    let gone = 0;
    for (; i < sorted.length && sorted[i]!.t === t; i++, gone++) if (sorted[i]!.ended) ended++;
    if (ended > 0) {
      s *= 1 - ended / atRisk;
      steps.push({ t, survival: s });
    }
    atRisk -= gone;
  }
  return steps;
}

/**
 * The q-quantile of censored durations from their Kaplan–Meier curve: the first time at which
 * S(t) ≤ 1 − q. `Infinity` when the curve never gets there (too many durations still running):
 * then only "at least the longest observed" can be said.
 */
export function kmQuantile(xs: readonly Duration[], q = 0.5): number {
  for (const step of kaplanMeier(xs)) if (step.survival <= 1 - q + 1e-12) return step.t;
  return Infinity;
}
