// The conntrack event cache, net/netfilter/nf_conntrack_ecache.c: events are cached while a
// packet is processed (nf_conntrack_event_cache) and delivered at the end of it
// (nf_ct_deliver_cached_events); DESTROY is reported synchronously
// (nf_conntrack_eventmask_report). Two designs: the per-CPU single-slot cache of ≤ 2.6.30 and
// the per-conntrack cache with a missed mask of 2.6.31+ (dd7669a92c). docs/kernel-facts.md#ecache.
import type { EventCache, KernelCore } from './strategies.js';
import { ctnetlinkEvent } from './ctnetlink.js';
import { NIL, ST } from './table.js';

/**
 * ≤ 2.6.30: one pending conntrack per CPU. Caching for another conntrack first delivers the one
 * held; the cache holds a reference on its conntrack. DESTROY is sent by destroy_conntrack.
 */
export class PerCpuSlotCache implements EventCache {
  private readonly slot: Int32Array;
  private readonly events: Int32Array;

  constructor(private readonly core: KernelCore) {
    this.slot = new Int32Array(core.cfg.cpus).fill(NIL);
    this.events = new Int32Array(core.cfg.cpus);
  }

  cache(slot: number, bit: number, cpu: number): void {
    if (bit === 0) return;
    const t = this.core.table;
    if (!(t.status[slot]! & ST.ECACHE)) return;
    const held = this.slot[cpu]!;
    if (held !== slot) {
      if (held !== NIL) this.deliverHeld(held, cpu);
      this.slot[cpu] = slot;
      t.refs[slot]!++;
      this.events[cpu] = 0;
    }
    this.events[cpu]! |= bit;
  }

  deliver(slot: number, cpu: number): void {
    if (this.slot[cpu] === slot) this.deliverHeld(slot, cpu);
  }

  report(): number {
    return 0; // ≤ 2.6.30 has no synchronous report: nf_ct_delete is death_by_timeout
  }

  /** __nf_ct_deliver_cached_events (≤ 2.6.30): deliver, then release the CPU's slot and its reference. */
  private deliverHeld(slot: number, cpu: number): void {
    const ev = this.events[cpu]!;
    this.events[cpu] = 0;
    this.slot[cpu] = NIL;
    const st = this.core.table.status[slot]!;
    if (st & ST.CONFIRMED && !(st & ST.DYING) && ev !== 0) ctnetlinkEvent(this.core, slot, ev, 0);
    this.core.put(slot);
  }
}

/**
 * 2.6.31+: cached bits per conntrack, and a `missed` mask of events a reliable listener refused,
 * merged into the next delivery. `reportsDying`: from 4.9 (E3) nf_conntrack_eventmask_report also
 * reports an entry that is already DYING (the deleting path set the bit before reporting).
 */
export class PerConntrackCache implements EventCache {
  constructor(
    private readonly core: KernelCore,
    private readonly reportsDying: boolean,
  ) {}

  cache(slot: number, bit: number): void {
    if (bit === 0) return;
    const t = this.core.table;
    if (!(t.status[slot]! & ST.ECACHE)) return;
    t.cache[slot]! |= bit;
  }

  deliver(slot: number): void {
    const core = this.core;
    const t = core.table;
    if (!(t.status[slot]! & ST.ECACHE)) return;
    const events = t.cache[slot]!;
    t.cache[slot] = 0;
    const st = t.status[slot]!;
    if (!(st & ST.CONFIRMED) || st & ST.DYING) return;
    // ≤ ~4.10 missed events wait for a new cached event; ≥ 4.12 any packet re-sends them.
    if (events === 0 && core.cfg.missedResend === 'next-event') return;
    const missed = t.missed[slot]!;
    if (((events | missed) & t.ctmask[slot]!) === 0) return;
    if (ctnetlinkEvent(core, slot, events | missed, 0) < 0) t.missed[slot]! |= events;
    else if (missed !== 0) t.missed[slot]! &= ~missed;
  }

  report(slot: number, mask: number, portid: number): number {
    const core = this.core;
    const t = core.table;
    const st = t.status[slot]!;
    if (!(st & ST.ECACHE) || !(st & ST.CONFIRMED)) return 0;
    if (!this.reportsDying && st & ST.DYING) return 0;
    const stored = t.portid[slot]!;
    const itemPortid = stored !== 0 ? stored : portid;
    const missed = stored !== 0 ? 0 : t.missed[slot]!;
    if (((mask | missed) & t.ctmask[slot]!) === 0) return 0;
    const r = ctnetlinkEvent(core, slot, mask | missed, itemPortid);
    if (r < 0) {
      // The first failing DESTROY remembers who deleted the entry; later ones only the mask.
      if (mask & core.bits.DESTROY && stored === 0 && portid !== 0) t.portid[slot] = portid;
      else t.missed[slot]! |= mask;
      core.redelivery.reportFailed(slot);
    } else if (missed !== 0) t.missed[slot]! &= ~missed;
    return r;
  }
}
