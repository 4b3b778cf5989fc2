/**
 * Statistics collected during a run: counters, tallies, time-weighted gauges and histograms,
 * with a warm-up cut.
 *
 * Metric names follow `area.what_unit` (`netlink.enobufs`, `ecache.redeliver_delay_ns`); each
 * actor records under its own id, so the same metric of two sockets stays apart.
 * @module
 */
import type { SimTime } from './time.js';

/** A monotone event count. The warm-up cut remembers the value instead of resetting it. */
export class Counter {
  /** Total since the start of the run. */
  value = 0;
  /** Value at the warm-up cut (0 when there is no cut). */
  atCut = 0;
  /** Adds `by` (default 1). */
  add(by = 1): void {
    this.value += by;
  }
  /** Count since the warm-up cut. */
  get sinceCut(): number {
    return this.value - this.atCut;
  }
  /** Marks the warm-up cut. */
  cut(): void {
    this.atCut = this.value;
  }
}

/** Mean, variance, min and max of observations (Welford's online algorithm). */
export class Tally {
  n = 0;
  mean = 0;
  private m2 = 0;
  min = Infinity;
  max = -Infinity;
  /** Adds one observation. */
  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }
  /** Sample variance (n - 1 denominator); 0 with fewer than two observations. */
  get variance(): number {
    return this.n > 1 ? this.m2 / (this.n - 1) : 0;
  }
  /** Sample standard deviation. */
  get stddev(): number {
    return Math.sqrt(this.variance);
  }
  /** Forgets every observation (used at the warm-up cut). */
  cut(): void {
    this.n = 0;
    this.mean = 0;
    this.m2 = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }
}

/** A level that holds between changes (queue length, table count): time-weighted mean and max. */
export class Gauge {
  /** Current level. */
  value = 0;
  /** Highest level seen since the start or the cut. */
  max = 0;
  private since = 0;
  private area = 0;
  private start = 0;
  /** Sets the level at time `now` (ns). Times must not go backwards. */
  set(value: number, now: SimTime): void {
    this.area += this.value * (now - this.since);
    this.since = now;
    this.value = value;
    if (value > this.max) this.max = value;
  }
  /** Time-weighted mean from the start (or the cut) to `now`. */
  mean(now: SimTime): number {
    const span = now - this.start;
    if (span <= 0) return this.value;
    return (this.area + this.value * (now - this.since)) / span;
  }
  /** Restarts integration at `now`, keeping the current level (the state at the cut). */
  cut(now: SimTime): void {
    this.area = 0;
    this.since = now;
    this.start = now;
    this.max = this.value;
  }
}

/**
 * Fixed-width bins over [lo, hi); values outside are counted in `under` / `over` and clamp to
 * the range in quantiles.
 */
export class Histogram {
  readonly counts: Float64Array;
  under = 0;
  over = 0;
  n = 0;
  readonly width: number;
  constructor(
    readonly lo: number,
    readonly hi: number,
    readonly bins: number,
  ) {
    if (!(hi > lo) || !Number.isInteger(bins) || bins < 1) {
      throw new RangeError(`histogram needs hi > lo and an integer bin count >= 1 (got [${lo}, ${hi}), ${bins})`);
    }
    this.counts = new Float64Array(bins);
    this.width = (hi - lo) / bins;
  }
  /** Adds one observation. */
  add(x: number): void {
    this.n++;
    if (x < this.lo) this.under++;
    else if (x >= this.hi) this.over++;
    else this.counts[Math.min(this.bins - 1, Math.floor((x - this.lo) / this.width))]!++;
  }
  /** Quantile `q` in [0, 1], interpolated linearly inside the bin. NaN when empty. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const target = q * this.n;
    let acc = this.under;
    if (target <= acc) return this.lo;
    for (let i = 0; i < this.bins; i++) {
      const c = this.counts[i]!;
      if (acc + c >= target && c > 0) return this.lo + this.width * (i + (target - acc) / c);
      acc += c;
    }
    return this.hi;
  }
  /** Forgets every observation. */
  cut(): void {
    this.counts.fill(0);
    this.under = 0;
    this.over = 0;
    this.n = 0;
  }
}

/** All metrics of one run, keyed by `actorId:metricName`. */
export class Recorder {
  private readonly counters = new Map<string, Counter>();
  private readonly tallies = new Map<string, Tally>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  /** Time of the warm-up cut, or 0. */
  cutAt: SimTime = 0;

  /** The counter `name` of `owner`, created on first use. */
  counter(owner: string, name: string): Counter {
    return getOr(this.counters, `${owner}:${name}`, () => new Counter());
  }
  /** The tally `name` of `owner`, created on first use. */
  tally(owner: string, name: string): Tally {
    return getOr(this.tallies, `${owner}:${name}`, () => new Tally());
  }
  /** The gauge `name` of `owner`, created on first use. */
  gauge(owner: string, name: string): Gauge {
    return getOr(this.gauges, `${owner}:${name}`, () => new Gauge());
  }
  /** The histogram `name` of `owner`; its bins are fixed by the first call. */
  histogram(owner: string, name: string, lo: number, hi: number, bins: number): Histogram {
    return getOr(this.histograms, `${owner}:${name}`, () => new Histogram(lo, hi, bins));
  }
  /**
   * Sum of counter `name` over every owner (since the start of the run). Throws a RangeError if
   * no owner has a counter of that name, so a misspelt name cannot become a silent zero: models
   * register their counters when they start.
   */
  total(name: string): number {
    let sum = 0;
    let found = false;
    const suffix = `:${name}`;
    for (const [k, c] of this.counters)
      if (k.endsWith(suffix)) {
        sum += c.value;
        found = true;
      }
    if (!found) {
      const known = [...new Set([...this.counters.keys()].map((k) => k.slice(k.indexOf(':') + 1)))].sort();
      throw new RangeError(`no counter named ${name}; counters of this run: ${known.join(', ') || 'none'}`);
    }
    return sum;
  }
  /** Applies the warm-up cut at `now`: counters remember, tallies and histograms reset, gauges restart. */
  cut(now: SimTime): void {
    this.cutAt = now;
    for (const c of this.counters.values()) c.cut();
    for (const t of this.tallies.values()) t.cut();
    for (const g of this.gauges.values()) g.cut(now);
    for (const h of this.histograms.values()) h.cut();
  }
  /** Plain snapshot (sorted keys, so it serialises identically everywhere). */
  snapshot(now: SimTime): RecorderSnapshot {
    const sorted = <V, R>(m: Map<string, V>, f: (v: V) => R): Record<string, R> =>
      Object.fromEntries([...m.keys()].sort().map((k) => [k, f(m.get(k)!)]));
    return {
      counters: sorted(this.counters, (c) => c.value),
      tallies: sorted(this.tallies, (t) => ({ n: t.n, mean: t.mean, sd: t.stddev, min: t.min, max: t.max })),
      gauges: sorted(this.gauges, (g) => ({ value: g.value, mean: g.mean(now), max: g.max })),
    };
  }
}

/** What {@link Recorder.snapshot} returns. */
export interface RecorderSnapshot {
  counters: Record<string, number>;
  tallies: Record<string, { n: number; mean: number; sd: number; min: number; max: number }>;
  gauges: Record<string, { value: number; mean: number; max: number }>;
}

function getOr<V>(m: Map<string, V>, key: string, make: () => V): V {
  let v = m.get(key);
  if (v === undefined) {
    v = make();
    m.set(key, v);
  }
  return v;
}
