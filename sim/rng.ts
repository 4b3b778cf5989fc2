/**
 * Seeded random streams and the only distributions the simulator uses.
 *
 * Every run has a master `seed` and a replication index `run`; each named stream is an
 * independent `seedrandom.alea` generator seeded from `seed/run/name`. Because a stream is
 * derived from its name alone, adding an actor or a stream never changes the draws of any
 * other stream, and the same seed across parameter points gives common random numbers.
 * @module
 */
import seedrandom from 'seedrandom';

/** Identifies one replication: the master seed and the replication index. */
export interface RunSeed {
  /** Master seed (any integer; default 1 in the CLI, never the clock). */
  readonly seed: number;
  /** Replication index, 0-based. */
  readonly run: number;
}

/** A discrete empirical distribution prepared for sampling by {@link Stream.empirical}. */
export interface EmpiricalTable {
  readonly values: readonly number[];
  /** Cumulative probabilities, last one exactly 1. */
  readonly cumulative: Float64Array;
}

/**
 * Builds an empirical table from values and non-negative weights (normalised here).
 * Throws if the lengths differ, a weight is negative or all weights are zero.
 */
export function empiricalTable(values: readonly number[], weights: readonly number[]): EmpiricalTable {
  if (values.length === 0 || values.length !== weights.length) {
    throw new RangeError(
      `empirical distribution needs as many weights as values (got ${values.length} and ${weights.length})`,
    );
  }
  let total = 0;
  for (const w of weights) {
    if (!(w >= 0) || !Number.isFinite(w))
      throw new RangeError(`empirical weight must be finite and >= 0, got ${String(w)}`);
    total += w;
  }
  if (total <= 0) throw new RangeError('empirical weights must not all be zero');
  const cumulative = new Float64Array(values.length);
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += weights[i]!;
    cumulative[i] = acc / total;
  }
  cumulative[values.length - 1] = 1;
  return { values: [...values], cumulative };
}

/** One independent pseudo-random stream with the simulator's distributions. */
export class Stream {
  private readonly prng: seedrandom.PRNG;

  /** Creates the stream `name` of replication `rs`. Prefer {@link Streams.get}. */
  constructor(
    rs: RunSeed,
    readonly name: string,
  ) {
    this.prng = seedrandom.alea(`${rs.seed}/${rs.run}/${name}\0`);
  }

  /** Uniform real in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.prng();
  }

  /** Uniform unsigned 32-bit integer, like the kernel's `random32()` / `prandom_u32()`. */
  uint32(): number {
    return this.prng.int32() >>> 0;
  }

  /**
   * Uniform integer in [0, n) computed as `uint32() % n`: the kernel's `random32() % n` idiom,
   * modulo bias included (negligible for n far below 2^32). `n` must be an integer in [1, 2^32].
   */
  intBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) {
      throw new RangeError(`intBelow(n): n must be an integer in [1, 2^32], got ${String(n)}`);
    }
    return this.uint32() % n;
  }

  /** Uniform real in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.prng();
  }

  /** Exponential with the given mean (> 0). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.prng());
  }

  /** Pareto (type I) with shape `alpha` > 0 and scale (minimum) `xm` > 0. */
  pareto(alpha: number, xm: number): number {
    return xm / Math.pow(1 - this.prng(), 1 / alpha);
  }

  /** Standard normal by Box–Muller; uses two uniforms per draw (no cached second value). */
  normal(): number {
    const u1 = 1 - this.prng();
    const u2 = this.prng();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Lognormal: `exp(mu + sigma * N(0,1))`. */
  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /** Draws a value from an {@link EmpiricalTable} (binary search over the cumulative weights). */
  empirical(table: EmpiricalTable): number {
    const u = this.prng();
    const c = table.cumulative;
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (u < c[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return table.values[lo]!;
  }
}

/** The streams of one replication, created on first use and cached by name. */
export class Streams {
  private readonly byName = new Map<string, Stream>();

  constructor(readonly runSeed: RunSeed) {}

  /** The stream called `name` (the same object on every call). */
  get(name: string): Stream {
    let st = this.byName.get(name);
    if (st === undefined) {
      st = new Stream(this.runSeed, name);
      this.byName.set(name, st);
    }
    return st;
  }
}
