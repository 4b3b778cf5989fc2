// An example of a user's own redelivery design (not a kernel): E4's deletion and list, but each
// parked entry retries on its own timer with exponential backoff — 10 ms after the failure,
// then 20, 40, … ms, at most nf_conntrack_events_retry_timeout — instead of one worker that
// walks the list. Registered in ../eras.ts as 'E4-backoff'; docs/architecture.md#adding-an-era
// walks through it. Run it: nfct-sim run flush --quick --set kernel.era=E4-backoff
import { TIMER_RETRY } from '../types.js';
import { msecsToJiffies } from '../jiffies.js';
import { SlotList } from '../table.js';
import { BaseRedelivery } from './redelivery.js';

const FIRST_RETRY_MS = 10;

export class BackoffExample extends BaseRedelivery {
  override readonly lists = [new SlotList(this.core.table)];
  /** Failed retries so far, per parked slot. */
  private readonly failures = new Map<number, number>();

  delete(slot: number, portid: number): boolean {
    return this.core.claimAndDestroy(slot, portid);
  }

  override park(slot: number): void {
    this.lists[0]!.pushHead(slot);
    this.failures.set(slot, 0);
    this.arm(slot, 0);
  }

  override unpark(slot: number): void {
    this.lists[0]!.remove(slot);
    this.failures.delete(slot);
    this.core.time.cancel(slot);
  }

  override timerFired(slot: number): void {
    const core = this.core;
    core.counters.retries.add();
    if (core.cache.report(slot, core.bits.DESTROY, 0) < 0) {
      const n = (this.failures.get(slot) ?? 0) + 1;
      this.failures.set(slot, n);
      this.arm(slot, n);
      return;
    }
    core.redelivered(slot);
  }

  /** Arms the retry after `failures` failed retries: 10 ms · 2^failures, capped at the retry timeout. */
  private arm(slot: number, failures: number): void {
    const core = this.core;
    const delayJ = Math.min(
      msecsToJiffies(FIRST_RETRY_MS * 2 ** Math.min(failures, 20), core.cfg.hz),
      core.retryTimeoutJ,
    );
    core.time.arm(slot, TIMER_RETRY, core.time.atJiffy(core.time.nowJ() + delayJ));
  }
}
