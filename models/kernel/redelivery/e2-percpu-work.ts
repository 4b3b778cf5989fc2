// 3.17 – 4.8 (E2), 9500507c6138 "netfilter: conntrack: remove timer from ecache extension": a
// failed DESTROY moves the entry to the dying list of the CPU that deleted it; a per-netns
// delayed work walks every CPU's list, at most workBatch redeliveries per pass (16; 32 on 64-bit
// from 63f55acf7b47), and retries after HZ/10 when a socket is still full. docs/kernel-facts.md#e2.
import { NIL, SlotList, ST } from '../table.js';
import { CONGESTED, DONE, EcacheWorker, RESTART, type WalkResult } from './ecache-worker.js';

export class E2PerCpuWork extends EcacheWorker {
  override readonly lists = Array.from({ length: this.core.cfg.cpus }, () => new SlotList(this.core.table));

  delete(slot: number, portid: number): boolean {
    const core = this.core;
    if (core.table.status[slot]! & ST.DYING) {
      core.unhashAndPut(slot);
      return true;
    }
    return core.destroyOrPark(slot, portid, true);
  }

  override park(slot: number): void {
    const core = this.core;
    const t = core.table;
    // The entry now belongs to the dying list of the CPU that deleted it (the admin CPU for
    // conntrack -F / -D); no packet will look it up again, so its cpu field records that list.
    if (core.adminContext) t.cpu[slot] = core.cfg.adminCpu;
    this.lists[t.cpu[slot]!]!.pushHead(slot);
    this.scheduleIfIdle();
  }

  override unpark(slot: number): void {
    this.lists[this.core.table.cpu[slot]!]!.remove(slot);
  }

  override destroySent(): void {
    if (!this.workPending) return;
    this.workPending = false;
    this.kick();
  }

  protected walk(): WalkResult {
    let ret: WalkResult = DONE;
    for (let cpu = 0; cpu < this.lists.length; cpu++) {
      const r = this.walkList(cpu);
      if (r === CONGESTED) return CONGESTED;
      if (r === RESTART) ret = RESTART;
    }
    return ret;
  }

  protected congestedDelayJ(): number {
    return Math.floor(this.core.cfg.hz / 10);
  }

  protected afterRun(delayJ: number): void {
    this.workPending = delayJ > 0;
  }

  /** Whether the walk passes over a parked entry without trying it. */
  protected skip(_slot: number): boolean {
    return false;
  }

  /** Marks a redelivered entry before it is freed. */
  protected markSent(slot: number): void {
    this.core.table.status[slot]! |= ST.DYING;
  }

  private walkList(cpu: number): WalkResult {
    const core = this.core;
    const t = core.table;
    let sent = 0;
    for (let slot = this.lists[cpu]!.head; slot !== NIL;) {
      const next = t.listNext[slot]!;
      if (this.skip(slot)) {
        slot = next;
        continue;
      }
      if (core.cache.report(slot, core.bits.DESTROY, 0) < 0) return CONGESTED;
      this.markSent(slot);
      core.redelivered(slot);
      if (++sent >= core.cfg.workBatch) return RESTART;
      slot = next;
    }
    return DONE;
  }
}
