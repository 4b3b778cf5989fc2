// Kernel time: the jiffies counter and the timer wheel's rounding. Models
// include/linux/jiffies.h (jiffies, msecs_to_jiffies) and kernel/time/timer.c
// (calc_wheel_index, the non-cascading wheel of 4.8+); see docs/kernel-facts.md#timers.
import type { SimTime } from '../../sim/index.js';

const NS_PER_S = 1_000_000_000;

/** CONFIG_HZ values the model accepts. */
export const HZ_VALUES = [100, 250, 300, 1000] as const;

/**
 * Time of kernel tick number `jiffies` at the given `hz`, in ns (rounded up when a jiffy is not a
 * whole number of ns, as with HZ=300, so that `nsToJiffies(jiffiesToNs(k)) === k`).
 */
export function jiffiesToNs(jiffies: number, hz: number): SimTime {
  const whole = Math.floor(jiffies / hz);
  const rest = jiffies - whole * hz;
  return whole * NS_PER_S + Math.ceil((rest * NS_PER_S) / hz);
}

/** The jiffies counter at time `t`: the number of ticks that have happened by then (floor). */
export function nsToJiffies(t: SimTime, hz: number): number {
  const whole = Math.floor(t / NS_PER_S);
  const rest = t - whole * NS_PER_S;
  return whole * hz + Math.floor((rest * hz) / NS_PER_S);
}

/**
 * The kernel's `msecs_to_jiffies`: rounds up, so 10 ms is 3 jiffies at HZ=250, 1 at HZ=100 and
 * 10 at HZ=1000.
 */
export function msecsToJiffies(msecs: number, hz: number): number {
  if (!Number.isSafeInteger(msecs) || msecs < 0) {
    throw new RangeError(`msecsToJiffies: msecs must be a non-negative integer, got ${String(msecs)}`);
  }
  return Math.floor((msecs * hz + 999) / 1000);
}

/**
 * The tick at which the non-cascading timer wheel of 4.8+ (kernel/time/timer.c,
 * calc_wheel_index) runs a timer armed at `nowJ` for `expiresJ`: level n (delays from
 * 63·8^(n-1) jiffies) has a granularity of 8^n jiffies, and the bucket expiry is rounded up to
 * the next multiple, so even a level-0 timer runs one jiffy after `expires`.
 * Measured on 6.18.44 (HZ 250): a 3-jiffy ecache retry recurs every 16.0 ms, not 12.
 */
export function wheelBucketExpiry(expiresJ: number, nowJ: number): number {
  const delta = expiresJ - nowJ;
  let lvl = 0;
  for (let start = 63; lvl < 8 && delta >= start; start *= 8) lvl++;
  const gran = 8 ** lvl;
  return (Math.floor(expiresJ / gran) + 1) * gran;
}
