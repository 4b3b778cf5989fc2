// 2.6.31 – 3.16 (E1), dd7669a92c "netfilter: conntrack: optional reliable conntrack event
// delivery": a DESTROY that fails parks the entry on the netns dying list and arms its timer
// with death_by_event after random32() % (nf_conntrack_events_retry_timeout · HZ) jiffies; each
// failed retry draws a fresh delay. Up to 3.11 conntrack -F tries twice (kill_report, then
// death_by_timeout; c655bc6896b9 removed the second). docs/kernel-facts.md#e1.
import { TIMER_RETRY } from '../types.js';
import { SlotList, ST } from '../table.js';
import { BaseRedelivery } from './redelivery.js';

export class E1RetryTimer extends BaseRedelivery {
  override readonly lists = [new SlotList(this.core.table)];

  delete(slot: number, portid: number): boolean {
    return this.core.destroyOrPark(slot, portid, true);
  }

  override park(slot: number): void {
    const core = this.core;
    this.lists[0]!.pushHead(slot);
    core.time.arm(slot, TIMER_RETRY, core.time.atJiffy(core.time.nowJ() + this.retryDelayJ()));
  }

  override unpark(slot: number): void {
    this.lists[0]!.remove(slot);
  }

  /** death_by_event: retry the DESTROY; a failure draws a fresh delay. */
  override timerFired(slot: number): void {
    const core = this.core;
    core.counters.retries.add();
    if (core.cache.report(slot, core.bits.DESTROY, 0) < 0) {
      core.time.arm(slot, TIMER_RETRY, core.time.atJiffy(core.time.nowJ() + this.retryDelayJ()));
      return;
    }
    core.table.status[slot]! |= ST.DYING;
    core.redelivered(slot);
  }

  override flushDelete(slot: number, portid: number): void {
    if (this.core.cfg.flushAttempts === 2) this.flushTwice(slot, portid);
    else super.flushDelete(slot, portid);
  }

  /** Retry delay in jiffies: `random32() % retry_timeout`, or the fixed timeout (an ablation). */
  private retryDelayJ(): number {
    const core = this.core;
    return core.cfg.retryJitter ? core.rng.intBelow(core.retryTimeoutJ) : core.retryTimeoutJ;
  }

  /** 2.6.31–3.11: kill_report (attempt #1), then death_by_timeout (attempt #2). */
  private flushTwice(slot: number, portid: number): void {
    const core = this.core;
    const t = core.table;
    if (core.cache.report(slot, core.bits.DESTROY, portid) >= 0) {
      t.status[slot]! |= ST.DYING;
      core.markDestroySent(slot);
    }
    core.time.cancel(slot);
    if (t.status[slot]! & ST.DYING) {
      core.unhashAndPut(slot);
      return;
    }
    this.delete(slot, 0);
  }
}
