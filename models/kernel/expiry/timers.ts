// Per-conntrack timers (≤ 4.8): __nf_conntrack_confirm arms ct->timeout, a refresh moves it
// (by at least HZ, the coalescing of __nf_ct_refresh_acct before 4.9), and death_by_timeout
// deletes the entry when it fires. docs/kernel-facts.md#expiry.
import type { KernelCore } from '../strategies.js';
import { TIMER_EXPIRE } from '../types.js';
import type { Expiry } from '../strategies.js';

export class TimerExpiry implements Expiry {
  constructor(private readonly core: KernelCore) {}

  init(): void {}

  start(slot: number, timeoutS: number): void {
    const core = this.core;
    const expiresJ = core.time.nowJ() + timeoutS * core.cfg.hz;
    core.table.expiresJ[slot] = expiresJ;
    core.time.arm(slot, TIMER_EXPIRE, core.time.atJiffy(expiresJ));
  }

  refresh(slot: number, timeoutS: number): void {
    const core = this.core;
    const t = core.table;
    core.cache.cache(slot, core.bits.REFRESH, t.cpu[slot]!); // ≤ 2.6.30 only; ctnetlink ignores it
    const expiresJ = core.time.nowJ() + timeoutS * core.cfg.hz;
    if (core.cfg.refreshCoalesce && expiresJ - t.expiresJ[slot]! < core.cfg.hz) return;
    t.expiresJ[slot] = expiresJ;
    if (core.time.pending(slot)) core.time.arm(slot, TIMER_EXPIRE, core.time.atJiffy(expiresJ));
  }

  cancel(slot: number): void {
    this.core.time.cancel(slot);
  }

  lookup(tuple: number): number {
    return this.core.findNode(tuple);
  }

  /** death_by_timeout; with coalescing, a timer that was not moved on refresh re-arms for the new expiry. */
  timerFired(slot: number): void {
    const core = this.core;
    const expiresJ = core.table.expiresJ[slot]!;
    if (core.cfg.refreshCoalesce && expiresJ > core.time.nowJ()) {
      core.time.arm(slot, TIMER_EXPIRE, core.time.atJiffy(expiresJ));
      return;
    }
    core.expire(slot);
  }

  work(): void {}
  dump(): void {}
  tableFull(): void {}
  isExpired(): boolean {
    return false; // the timer deletes an entry when it expires; nothing finds it expired
  }
}
