/**
 * Simulated time: integer nanoseconds held in a `number`.
 *
 * A `number` is exact for integers up to 2^53 ns (about 104 days), which covers every
 * conntrack timeout (TCP established: 5 days) and is much cheaper than `BigInt`.
 * @module
 */

/** A point in simulated time or a duration, in integer nanoseconds. */
export type SimTime = number;

const NS_PER_S = 1_000_000_000;

/** Throws unless `t` is a non-negative safe integer, naming `what` in the message. */
export function assertTime(t: number, what = 'time'): SimTime {
  if (!Number.isSafeInteger(t) || t < 0) {
    throw new RangeError(
      `${what} must be a non-negative integer number of nanoseconds up to ${Number.MAX_SAFE_INTEGER}, got ${String(t)}`,
    );
  }
  return t;
}

function round(x: number, unit: string): SimTime {
  if (!Number.isFinite(x)) throw new RangeError(`${unit}(${String(x)}): duration must be finite`);
  return Math.round(x);
}

/** Nanoseconds, rounded to an integer. */
export const ns = (x: number): SimTime => round(x, 'ns');
/** Microseconds to nanoseconds, rounded once (`us(1.5) === 1500`). */
export const us = (x: number): SimTime => round(x * 1e3, 'us');
/** Milliseconds to nanoseconds, rounded once. */
export const ms = (x: number): SimTime => round(x * 1e6, 'ms');
/** Seconds to nanoseconds, rounded once. */
export const s = (x: number): SimTime => round(x * 1e9, 's');

/** Converts nanoseconds to (fractional) seconds, for reporting only. */
export const toSeconds = (t: SimTime): number => t / NS_PER_S;

/** Formats a time for humans: `1.234567890s`, `12.5ms`, `800ns`. Not used in fingerprints. */
export function formatTime(t: SimTime): string {
  if (t >= NS_PER_S) return `${(t / NS_PER_S).toFixed(9).replace(/\.?0+$/, '')}s`;
  if (t >= 1e6) return `${(t / 1e6).toFixed(6).replace(/\.?0+$/, '')}ms`;
  if (t >= 1e3) return `${(t / 1e3).toFixed(3).replace(/\.?0+$/, '')}us`;
  return `${t}ns`;
}
