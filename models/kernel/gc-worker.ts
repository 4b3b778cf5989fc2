// The conntrack gc worker of 4.9+ (gc_worker in net/netfilter/nf_conntrack_core.c), in three
// generations (docs/kernel-facts.md#gc-worker):
// - gc-4.10 (4.10 – 5.13): buckets/128 per run, the interval adapted between HZ/128 and HZ/8
//   from the share of expired entries;
// - gc-5.14 (5.14): the whole table per run, in slices of 10 ms, then 120 s of rest;
// - gc-6.0 (6.0+): the whole table, then the running mean of the remaining timeouts (each
//   clamped to [1 s, 300 s]) less the time the scan took, at most 60 s; a scan that evicts more
//   than 64000/HZ entries yields (one jiffy while the cycle is younger than 60 s).
// During a run after a failed allocation it also early-drops unassured entries (and, from 4.12,
// TCP entries in closing states) while the table is ≥ 95 % full.
import type { Ctx, Timer } from '../../sim/index.js';
import { s as seconds } from '../../sim/index.js';
import type { KernelCore } from './strategies.js';
import type { Expiry } from './strategies.js';
import { jiffiesToNs, msecsToJiffies, nsToJiffies } from './jiffies.js';
import { NIL, PROTO_TCP, ST } from './table.js';
import { tcpClosing } from './trackers.js';
import { TASK } from '../cpu/work.js';

export class GcWorker {
  /** An allocation failed since the last run: this run may early-drop. */
  earlyDrop = false;
  private timer!: Timer;
  /** Next bucket to scan. */
  private pos = 0;
  private cycleStart = 0;
  /** gc-6.0: running mean of remaining timeouts (jiffies) and its sample count. */
  private meanTimeoutJ = 0;
  private count = 0;
  /** gc-4.10: the next interval (jiffies). */
  private intervalJ = 0;

  constructor(
    private readonly core: KernelCore,
    private readonly expiry: Expiry,
  ) {}

  /** The first run is one second after boot. */
  init(ctx: Ctx): void {
    const core = this.core;
    this.timer = ctx.timer({ kind: 'gc-work' });
    this.intervalJ = core.cfg.hz;
    ctx.addTimer(this.timer, core.time.atJiffy(core.time.nowJ() + core.cfg.hz));
  }

  run(): void {
    const core = this.core;
    core.counters.gc_runs.add();
    this.scanned = 0;
    const evictions = (): number => core.counters.expired.value + core.counters.gc_early_drops.value;
    const before = evictions();
    if (core.cfg.gc === 'gc-4.10') this.run410();
    else this.runFullScan();
    // On a machine the pass is the gc kworker's CPU time (the model has done it at this instant).
    if (core.cpu)
      core.cpu.charge(TASK.gc, this.scanned * core.cfg.gcCostNs + (evictions() - before) * core.cpu.costs.gcEvictNs);
  }

  /** gc-4.10: the slots of the bucket being scanned (one array, reused). */
  private readonly chain: number[] = [];

  /** Entries visited by the current pass (for its CPU time on a machine). */
  private scanned = 0;

  /** Visits one entry during a scan; returns 1 if it evicted it. */
  private visit(slot: number, max95: number): number {
    const core = this.core;
    const t = core.table;
    const st = t.status[slot]!;
    if (!(st & ST.HASHED)) return 0;
    this.scanned++;
    if (this.expiry.isExpired(slot)) {
      core.expire(slot);
      return 1;
    }
    if (core.cfg.gc === 'gc-6.0') {
      const remainingJ = nsToJiffies(Math.max(0, t.deadlineNs[slot]! - core.ctx.now), core.cfg.hz);
      const x = Math.min(Math.max(remainingJ, core.cfg.hz), 300 * core.cfg.hz);
      this.meanTimeoutJ += Math.trunc((x - this.meanTimeoutJ) / ++this.count);
    }
    if (!this.earlyDrop || t.count < max95 || !(st & ST.CONFIRMED) || st & ST.DYING) return 0;
    const closing = core.cfg.gcAssistClosingTcp && t.proto[slot] === PROTO_TCP && tcpClosing(t.tcpState[slot]!);
    if (!(st & ST.ASSURED) || closing) {
      core.counters.gc_early_drops.add();
      core.kill(slot);
      return 1;
    }
    return 0;
  }

  /** 4.10 – 5.13: buckets/128 per run, adaptive interval between HZ/128 and HZ/8. */
  private run410(): void {
    const core = this.core;
    const t = core.table;
    const goal = Math.max(1, Math.floor(t.buckets / 128));
    const max95 = Math.floor(core.max / 100) * 95;
    let scanned = 0;
    let expired = 0;
    const slots = this.chain;
    for (let i = 0; i < goal; i++) {
      const b = this.pos;
      this.pos = (this.pos + 1) % t.buckets;
      if (t.bucketHeads[b] === NIL) continue;
      // The chain is read whole before any visit may unlink from it.
      slots.length = 0;
      for (let node = t.head(b); node !== NIL; node = t.next(node)) slots.push(node >> 1);
      for (let k = 0; k < slots.length; k++) {
        scanned++;
        expired += this.visit(slots[k]!, max95);
      }
    }
    const minJ = Math.max(Math.floor(core.cfg.hz / 128), 1);
    if (scanned > 0 && (expired * 100) / scanned > 50) this.intervalJ = minJ;
    else this.intervalJ = Math.min(this.intervalJ + minJ, Math.floor(core.cfg.hz / 8));
    this.earlyDrop = false;
    core.ctx.addTimer(this.timer, core.time.atJiffy(core.time.nowJ() + this.intervalJ));
  }

  /** 5.14 (whole table, then 120 s) and 6.0 (whole table, then the mean remaining timeout). */
  private runFullScan(): void {
    const core = this.core;
    const t = core.table;
    const hz = core.cfg.hz;
    if (this.pos === 0) {
      this.meanTimeoutJ = 60 * hz;
      this.count = 100;
      this.cycleStart = core.ctx.now;
    }
    const max95 = Math.floor(core.max / 100) * 95;
    const expiredMax = Math.floor(64000 / hz);
    const budgetNs = jiffiesToNs(msecsToJiffies(10, hz), hz);
    let evictions = 0;
    let costNs = 0;
    while (this.pos < t.buckets) {
      // Empty buckets cost nothing (no visit, no budget), so they are stepped over.
      this.pos = t.nextOccupied(this.pos);
      if (this.pos === t.buckets) break;
      // The next node is read before a visit may unlink the current one. An evicted entry's
      // other node, if it is next in this chain, is unlinked too, so re-read after a visit.
      for (let node = t.head(this.pos); node !== NIL;) {
        if (core.cfg.gc === 'gc-6.0' && evictions > expiredMax) {
          const young = core.ctx.now - this.cycleStart < seconds(60);
          core.ctx.addTimer(
            this.timer,
            young ? core.time.atJiffy(core.time.nowJ() + 1) : core.ctx.now + core.time.latency(),
          );
          return;
        }
        const slot = node >> 1;
        const next = t.next(node);
        const evicted = this.visit(slot, max95);
        evictions += evicted;
        costNs += core.cfg.gcCostNs;
        node = evicted && next !== NIL && next >> 1 === slot ? t.next(next) : next;
      }
      this.pos++;
      if (costNs > budgetNs && this.pos < t.buckets) {
        core.ctx.addTimer(this.timer, core.ctx.now + core.time.latency());
        return;
      }
    }
    this.pos = 0;
    this.earlyDrop = false;
    let nextJ: number;
    if (core.cfg.gc === 'gc-5.14') nextJ = 120 * hz;
    else {
      const mean = Math.min(Math.max(this.meanTimeoutJ, hz), 60 * hz);
      nextJ = Math.max(1, mean - nsToJiffies(core.ctx.now - this.cycleStart, hz));
    }
    core.ctx.addTimer(this.timer, core.time.atJiffy(core.time.nowJ() + nextJ));
  }
}
