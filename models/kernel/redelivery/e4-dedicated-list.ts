// 5.19+ (E4), 2ed3bf188b33 "netfilter: ecache: use dedicated list for event redelivery": one
// netns list, newest first; ecache_work re-sends from the head with a 10 ms budget and retries
// after msecs_to_jiffies(10) when a socket is still full. As shipped up to 6.18 the budget check
// is inverted (time_after(stop, jiffies)), so a walk stops after its first success;
// `ecacheFixedTimeCheck` models b06163ce52ec, which stops only when the budget is used up.
// docs/kernel-facts.md#e4.
import { msecsToJiffies, nsToJiffies } from '../jiffies.js';
import { NIL, SlotList } from '../table.js';
import { CONGESTED, DONE, EcacheWorker, RESTART, type WalkResult } from './ecache-worker.js';

export class E4DedicatedList extends EcacheWorker {
  override readonly lists = [new SlotList(this.core.table)];

  delete(slot: number, portid: number): boolean {
    return this.core.claimAndDestroy(slot, portid);
  }

  override park(slot: number): void {
    this.lists[0]!.pushHead(slot);
    this.scheduleIfIdle();
  }

  override unpark(slot: number): void {
    this.lists[0]!.remove(slot);
  }

  override destroySent(): void {
    if (!this.workPending) return;
    if (this.lists[0]!.length > 0) this.kick();
    else this.workPending = false;
  }

  protected walk(): WalkResult {
    const core = this.core;
    const list = this.lists[0]!;
    const stopJ = core.time.nowJ() + msecsToJiffies(10, core.cfg.hz);
    this.runNs = 0;
    while (list.head !== NIL) {
      const slot = list.head;
      if (core.cache.report(slot, core.bits.DESTROY, 0) < 0) return CONGESTED;
      core.redelivered(slot);
      this.runNs += core.cfg.workerCostNs;
      const jiffiesNow = nsToJiffies(core.ctx.now + this.runNs, core.cfg.hz);
      // Shipped: time_after(stop, jiffies) is true while the budget is NOT exhausted, so the walk
      // stops after the first success. Fixed: stop only once the 10 ms budget is used up.
      const restart = core.cfg.ecacheFixedTimeCheck ? jiffiesNow > stopJ : stopJ > jiffiesNow;
      if (restart) return RESTART; // even when the list is now empty: one more (empty) run follows
    }
    return DONE;
  }

  protected congestedDelayJ(): number {
    return msecsToJiffies(10, this.core.cfg.hz);
  }

  protected afterRun(): void {}
}
