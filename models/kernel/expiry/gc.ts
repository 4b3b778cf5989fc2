// Timestamps and lazy eviction (4.9+, f330a7fdbe16 / b87a2f9199ea): an entry stores the time it
// expires; whoever meets it expired deletes it — a lookup walking its chain
// (____nf_conntrack_find), a dump (ctnetlink_dump_table), early drop, and the gc worker
// (gc-worker.ts). docs/kernel-facts.md#expiry.
import type { Ctx } from '../../../sim/index.js';
import { s as seconds } from '../../../sim/index.js';
import type { KernelCore } from '../strategies.js';
import { GcWorker } from '../gc-worker.js';
import { NIL, ST } from '../table.js';
import type { Expiry } from '../strategies.js';

export class GcExpiry implements Expiry {
  private readonly worker: GcWorker;

  constructor(private readonly core: KernelCore) {
    this.worker = new GcWorker(core, this);
  }

  init(ctx: Ctx): void {
    this.worker.init(ctx);
  }

  start(slot: number, timeoutS: number): void {
    this.core.table.deadlineNs[slot] = this.core.ctx.now + seconds(timeoutS);
  }

  refresh(slot: number, timeoutS: number): void {
    this.start(slot, timeoutS);
  }

  cancel(): void {}

  /** ____nf_conntrack_find: an expired entry met on the chain is deleted before its tuple is compared. */
  lookup(tuple: number): number {
    const t = this.core.table;
    for (let node = t.head(t.bucketOf(tuple)); node !== NIL;) {
      const slot = node >> 1;
      const next = t.next(node);
      if (this.isExpired(slot)) {
        this.core.expire(slot);
        // The entry's other node, if it is next in this chain, is gone too.
        node = next !== NIL && next >> 1 === slot ? t.next(next) : next;
        continue;
      }
      if (t.nodeTuple(node) === tuple && !(t.status[slot]! & ST.DYING)) return node;
      node = next;
    }
    return NIL;
  }

  timerFired(): void {}

  work(): void {
    this.worker.run();
  }

  /** ctnetlink_dump_table: every expired entry met is deleted. */
  dump(): void {
    const t = this.core.table;
    for (let b = 0; b < t.buckets; b++) {
      for (let node = t.head(b); node !== NIL;) {
        const next = t.next(node);
        if (this.isExpired(node >> 1)) this.core.expire(node >> 1);
        node = next;
      }
    }
  }

  tableFull(): void {
    this.worker.earlyDrop = true;
  }

  isExpired(slot: number): boolean {
    const t = this.core.table;
    const st = t.status[slot]!;
    return (
      (st & (ST.CONFIRMED | ST.DYING | ST.HASHED)) === (ST.CONFIRMED | ST.HASHED) &&
      t.deadlineNs[slot]! <= this.core.ctx.now
    );
  }
}
