// Kernel time of one netns (docs/kernel-facts.md#timers): the jiffies clock, the lateness of
// timers and work items, and the entries' own kernel timers (per-conntrack expiry up to 4.8,
// 2.6.31's retry timer), kept in one calendar of slot timers driven by one engine timer.
import type { Ctx, Stream, Timer } from '../../sim/index.js';
import { SlotTimers } from '../../sim/slot-timers.js';
import type { KernelConfig } from './config.js';
import { jiffiesToNs, nsToJiffies, wheelBucketExpiry } from './jiffies.js';

/** The kernel's clock in jiffies and each entry's one kernel timer (expiry or retry). */
export class KernelTime {
  private readonly timers = new SlotTimers(1024);
  private tick!: Timer;
  private tickArmedAt = Infinity;
  private latencyRng!: Stream;

  constructor(
    private readonly cfg: KernelConfig,
    private readonly ctx: () => Ctx,
  ) {}

  /** Binds the clock to the kernel actor's context (once, at the kernel's init). */
  init(ctx: Ctx): void {
    this.latencyRng = ctx.stream('latency');
    this.tick = ctx.timer({ kind: 'timers' });
  }

  /** The jiffies counter now. */
  nowJ(): number {
    return nsToJiffies(this.ctx().now, this.cfg.hz);
  }

  /** Simulated time at which a kernel timer with `expiresJ` runs, wheel rounding and latency included. */
  atJiffy(expiresJ: number): number {
    const nowJ = this.nowJ();
    const j = this.cfg.timerWheel === 'wheel-4.8' ? wheelBucketExpiry(expiresJ, nowJ) : expiresJ;
    return jiffiesToNs(Math.max(j, nowJ + 1), this.cfg.hz) + this.latency();
  }

  /** Scheduling latency of one timer or work item (seeded; none by default). */
  latency(): number {
    const l = this.cfg.latency;
    switch (l.kind) {
      case 'none':
        return 0;
      case 'constant':
        return Math.round(l.us * 1e3);
      case 'uniform':
        return Math.round(this.latencyRng.uniform(0, l.maxUs * 1e3));
      case 'exponential':
        return Math.round(this.latencyRng.exponential(l.meanUs * 1e3));
    }
  }

  /** mod_timer on the entry's timer (`type` says which: expiry or retry). */
  arm(slot: number, type: number, atNs: number): void {
    this.timers.arm(slot, atNs, type);
    if (atNs < this.tickArmedAt) {
      this.tickArmedAt = atNs;
      this.ctx().modTimer(this.tick, atNs);
    }
  }

  /** del_timer on the entry's timer; true if one was pending. */
  cancel(slot: number): boolean {
    return this.timers.cancel(slot);
  }

  /** True if the entry has a timer armed. */
  pending(slot: number): boolean {
    return this.timers.pending(slot);
  }

  /** The engine timer fired: run every entry timer due now, then re-arm for the next. */
  fire(cb: (slot: number, type: number) => void): void {
    const ctx = this.ctx();
    this.tickArmedAt = Infinity;
    this.timers.fire(ctx.now, cb);
    const next = this.timers.next;
    if (next !== Infinity) {
      this.tickArmedAt = next;
      ctx.modTimer(this.tick, next);
    }
  }
}
