// A redelivery design of my own: every parked entry retries its DESTROY on its own timer, at a
// fixed 100 ms, instead of Linux 6.18's one ecache worker walking the dying list. Everything
// else (deletion, event cache, gc) is 6.18's E4 era.
//
// This module is also the worker module of the run: worker processes import it, which registers
// the design in each of them before any task runs (registration is per thread).
import { BaseRedelivery, EXPERIMENTS, TIMER_RETRY, eraModel, msecsToJiffies, registerEra, taskRunner } from 'nfct-sim';
import { SlotList } from 'nfct-sim';

export const DESIGN = 'E4-fixed-100ms';

class FixedRetry extends BaseRedelivery {
  override readonly lists = [new SlotList(this.core.table)];

  delete(slot: number, portid: number): boolean {
    return this.core.claimAndDestroy(slot, portid);
  }
  override park(slot: number): void {
    this.lists[0]!.pushHead(slot);
    this.arm(slot);
  }
  override unpark(slot: number): void {
    this.lists[0]!.remove(slot);
    this.core.time.cancel(slot);
  }
  override timerFired(slot: number): void {
    this.core.counters.retries.add();
    if (this.core.cache.report(slot, this.core.bits.DESTROY, 0) < 0) this.arm(slot);
    else this.core.redelivered(slot);
  }
  private arm(slot: number): void {
    const t = this.core.time;
    t.arm(slot, TIMER_RETRY, t.atJiffy(t.nowJ() + msecsToJiffies(100, this.core.cfg.hz)));
  }
}

registerEra(DESIGN, {
  ...eraModel('E4'),
  description: 'example: E4 with a fixed 100 ms retry timer per parked entry',
  createRedelivery: (core) => new FixedRetry(core),
});

/** The task function worker processes call (the built-in studies, with the design registered). */
export const runTask = taskRunner(EXPERIMENTS);
