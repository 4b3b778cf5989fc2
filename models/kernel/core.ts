// The conntrack kernel of one network namespace: the table and the packet path of
// net/netfilter/nf_conntrack_core.c (nf_conntrack_in, init_conntrack, __nf_conntrack_alloc,
// __nf_conntrack_confirm, nf_ct_put/destroy_conntrack, __nf_ct_refresh_acct, nf_ct_kill), with
// the era's strategies plugged in: its event cache (ecache.ts), its DESTROY redelivery
// (redelivery/), its expiry (expiry/). Kernel facts: docs/kernel-facts.md.
//
// Simplifications, stated once:
// - Packet processing is instantaneous: conntrack input, the L4 tracker and the confirm hook run
//   at the packet's arrival instant (unless the packet says `confirmDelayNs`).
// - Clash resolution on confirm races is not modelled (one CPU processes a tuple at a time).
// - ctnetlink's echo/report unicast is not modelled: `report` is always 0.
// - Kernel timers fire on jiffy ticks (plus the configured scheduling latency).
import type { Counter, Ctx, Stream } from '../../sim/index.js';
import type { KernelConfig, Timeouts } from './config.js';
import { eraModel } from './eras.js';
import type { EventBits, EventSink } from './events.js';
import { earlyDrop } from './early-drop.js';
import { KernelTime } from './timers.js';
import type { EraModel, EventCache, Expiry, KernelCore, KernelCounter, Redelivery } from './strategies.js';
import { AdminJobs } from './admin.js';
import type { KernelWork } from '../cpu/work.js';
import { TruthLog } from './truth.js';
import { METRIC } from '../names.js';
import { CtTable, NIL, PROTO_TCP, PROTO_UDP, ST, TCP, mix32 } from './table.js';
import { trackTcp, trackUdp, TCPF, type TrackResult } from './trackers.js';
import {
  TIMER_EXPIRE,
  type CtStats,
  type KernelModel,
  type KernelMsg,
  type KernelView,
  type PacketMsg,
  type SysctlName,
} from './types.js';

/** The kernel's counters, by field (names in ../names.ts). */
const KERNEL_COUNTERS: Record<KernelCounter, string> = {
  retries: METRIC.retries,
  expired: METRIC.expired,
  parked: METRIC.parked,
  redelivered: METRIC.redelivered,
  flushed: METRIC.flushed,
  ecache_work_runs: METRIC.ecacheWorkRuns,
  gc_runs: METRIC.gcRuns,
  table_full_drops: METRIC.tableFullDrops,
  early_drop_attempts: METRIC.earlyDropAttempts,
  gc_early_drops: METRIC.gcEarlyDrops,
};

/**
 * Builds the conntrack kernel of one netns delivering events to `sink`. It draws the hash seed,
 * retry delays and scheduling latency from streams named after its actor id.
 */
export function conntrackKernel(
  cfg: KernelConfig,
  sink: EventSink,
  opts: { truth?: boolean; cpu?: KernelWork } = {},
): KernelModel {
  return new Conntrack(cfg, sink, opts.truth ?? false, opts.cpu);
}

/**
 * The kernel actor. Its fields are shared with the era's strategies (the modules that stand for
 * the kernel's other files); nothing outside models/kernel/ sees more than {@link KernelView}.
 */
export class Conntrack implements KernelModel, KernelCore {
  readonly view: KernelView;
  readonly era: EraModel;
  readonly bits: EventBits;
  readonly table: CtTable;
  readonly stats: CtStats = { found: 0, insert: 0, insert_failed: 0, drop: 0, early_drop: 0, search_restart: 0 };
  readonly truth: TruthLog;
  readonly cache: EventCache;
  readonly redelivery: Redelivery;
  readonly expiry: Expiry;
  readonly admin = new AdminJobs(this);
  ctx!: Ctx;
  /** The kernel's own stream: E1 retry delays. */
  rng!: Stream;

  // Sysctls a scenario may change while running.
  max: number;
  eventsSysctl: 0 | 1 | 2;
  /** nf_conntrack_events_retry_timeout in jiffies. */
  retryTimeoutJ: number;
  /** Per-protocol timeouts; nf_conntrack_udp_timeout can change at run time. */
  timeouts: Timeouts;

  /** True while an administrator command runs (conntrack -F / -D): it deletes on the admin CPU. */
  adminContext = false;
  unconfirmed = 0;
  private serialSeq = 0;
  private idKey = 0;
  private readonly track: TrackResult = { timeoutS: 0, assure: false, state: 0, kill: false, repeat: false };
  readonly time: KernelTime;
  counters!: Record<KernelCounter, Counter>;
  private allocatedCounter!: Counter;
  /** ct.<type>_attempts / ct.<type>_failures, looked up once (the hot path of a flush). */
  eventCounters!: Record<'new' | 'update' | 'destroy', { attempts: Counter; failures: Counter }>;
  private freedCounter!: Counter;

  constructor(
    readonly cfg: KernelConfig,
    readonly sink: EventSink,
    recordTruth: boolean,
    readonly cpu: KernelWork | undefined = undefined,
  ) {
    this.truth = new TruthLog(recordTruth);
    this.time = new KernelTime(cfg, () => this.ctx);
    this.era = eraModel(cfg.era);
    this.bits = this.era.bits;
    this.max = cfg.max;
    this.eventsSysctl = cfg.eventsSysctl;
    this.retryTimeoutJ = cfg.retryTimeoutS * cfg.hz;
    this.timeouts = cfg.timeouts;
    this.table = new CtTable(cfg.buckets, 0, 1024, this.era.expiry);
    this.cache = this.era.createCache(this);
    this.redelivery = this.era.createRedelivery(this);
    this.expiry = this.era.createExpiry(this);
    this.view = {
      table: this.table,
      stats: this.stats,
      truth: this.truth,
      parkedCount: () => this.redelivery.lists.reduce((n, l) => n + l.length, 0),
      parkedSlots: () => this.redelivery.lists.map((l) => l.toArray()),
      hashedCount: () => this.table.hashedEntries,
      unconfirmedCount: () => this.unconfirmed,
      find: (tuple) => this.findNode(tuple) >> 1,
      liveEntries: (unexpired = false) => {
        const t = this.table;
        const out: { tuple: number; id: number; serial: number }[] = [];
        for (let slot = 0; slot < t.slotsUsed; slot++) {
          if (!(t.status[slot]! & ST.HASHED) || (unexpired && this.expiry.isExpired(slot))) continue;
          out.push({ tuple: t.origTuple[slot]!, id: t.id[slot]!, serial: t.serial[slot]! });
        }
        return out;
      },
    };
  }

  init(ctx: Ctx): void {
    this.ctx = ctx;
    this.rng = ctx.rng;
    this.table.hashSeed = ctx.stream('hash').uint32(); // the kernel seeds its hash at boot
    this.idKey = ctx.stream('id').uint32();
    this.time.init(ctx);
    this.allocatedCounter = ctx.counter(METRIC.allocated);
    this.counters = Object.fromEntries(
      Object.entries(KERNEL_COUNTERS).map(([field, name]) => [field, ctx.counter(name)]),
    ) as Record<KernelCounter, Counter>;
    this.eventCounters = {
      new: { attempts: ctx.counter(METRIC.newAttempts), failures: ctx.counter(METRIC.newFailures) },
      update: { attempts: ctx.counter(METRIC.updateAttempts), failures: ctx.counter(METRIC.updateFailures) },
      destroy: { attempts: ctx.counter(METRIC.destroyAttempts), failures: ctx.counter(METRIC.destroyFailures) },
    };
    this.freedCounter = ctx.counter(METRIC.freed);
    this.redelivery.init(ctx);
    this.expiry.init(ctx);
  }

  receive(msg: KernelMsg, ctx: Ctx): void {
    this.ctx = ctx;
    switch (msg.kind) {
      case 'packet':
        return this.packet(msg);
      case 'confirm':
        return this.confirm(msg.slot, msg.serial, msg.reaches, msg.holdNs);
      case 'skb-free':
        if (this.table.serial[msg.slot] === msg.serial && this.table.refs[msg.slot]! > 0) this.put(msg.slot);
        return;
      case 'timers':
        return this.runTimers();
      case 'ecache-work':
        return this.redelivery.work();
      case 'gc-work':
        return this.expiry.work();
      case 'flush':
        return this.admin.flush(msg.portid);
      case 'flush-step':
        return this.admin.flushStep();
      case 'delete':
        return this.admin.delete(msg.tuple, msg.id, msg.portid);
      case 'admin-step':
        return this.admin.commandStep();
      case 'dump':
        return this.admin.dump();
      case 'sysctl':
        return this.sysctl(msg.name, msg.value);
    }
  }

  snapshot(): unknown {
    return {
      count: this.table.count,
      hashed: this.table.hashedEntries,
      parked: this.view.parkedCount(),
      unconfirmed: this.unconfirmed,
      stats: { ...this.stats },
    };
  }

  /** The kernel's timers fired: entry expiry (timer eras) or the design's per-entry timer. */
  private runTimers(): void {
    this.time.fire((slot, type) => {
      if (type === TIMER_EXPIRE) this.expiry.timerFired(slot);
      else this.redelivery.timerFired(slot);
    });
  }

  // ---- packet path --------------------------------------------------------------------------

  /** nf_conntrack_in: lookup (or create), the L4 tracker, events, then the confirm hook. */
  private packet(p: PacketMsg): void {
    const t = this.table;
    const proto = p.proto === 'tcp' ? PROTO_TCP : PROTO_UDP;
    const flags = p.flags ?? 0;
    for (let attempt = 0; attempt < 2; attempt++) {
      const node = this.expiry.lookup(p.tuple);
      if (node === NIL) {
        this.initConntrack(p, proto, flags);
        return;
      }
      this.stats.found++;
      const slot = node >> 1;
      const reply = (node & 1) === 1;
      const cpu = t.cpu[slot]!;
      const seenReply = (t.status[slot]! & ST.SEEN_REPLY) !== 0;
      if (proto === PROTO_TCP) trackTcp(this.timeouts, t.tcpState[slot]!, flags, reply, seenReply, this.track);
      else
        trackUdp(
          this.timeouts,
          seenReply,
          (t.status[slot]! & ST.ASSURED) !== 0,
          (this.ctx.now - t.created[slot]!) / 1e9,
          this.track,
        );
      const tr = this.track;
      if (tr.repeat) {
        this.kill(slot); // SYN on TIME_WAIT/CLOSE: DESTROY(old), then a new entry (NF_REPEAT)
        continue;
      }
      if (tr.kill) {
        this.kill(slot);
        return;
      }
      // The skb holds a reference while it is processed and, optionally, afterwards.
      t.refs[slot]!++;
      if (proto === PROTO_TCP && tr.state !== t.tcpState[slot]) {
        t.tcpState[slot] = tr.state;
        this.cache.cache(slot, this.bits.PROTOINFO, cpu);
      }
      if (tr.timeoutS >= 0) this.refresh(slot, tr.timeoutS);
      if (tr.assure && !(t.status[slot]! & ST.ASSURED)) {
        t.status[slot]! |= ST.ASSURED;
        this.cache.cache(slot, this.bits.ASSURED, cpu);
      }
      if (reply && !seenReply) {
        t.status[slot]! |= ST.SEEN_REPLY; // set after the L4 tracker ran
        this.cache.cache(slot, this.bits.REPLY, cpu);
      }
      if (p.reachesConfirm !== false) this.cache.deliver(slot, cpu);
      this.releaseSkb(slot, p.holdNs ?? 0);
      return;
    }
  }

  /** init_conntrack: a new, unconfirmed entry; the confirm hook runs now or after `confirmDelayNs`. */
  private initConntrack(p: PacketMsg, proto: number, flags: number): void {
    const t = this.table;
    if (proto === PROTO_TCP && (flags & (TCPF.SYN | TCPF.ACK)) !== TCPF.SYN) return; // tracker refuses a non-SYN start
    const slot = this.allocate(p.tuple);
    if (slot === NIL) return;
    t.proto[slot] = proto;
    const cpu = t.cpu[slot]!;
    if (proto === PROTO_TCP) {
      trackTcp(this.timeouts, TCP.NONE, flags, false, false, this.track);
      t.tcpState[slot] = this.track.state;
      t.timeoutS[slot] = this.track.timeoutS;
      this.cache.cache(slot, this.bits.PROTOINFO, cpu);
    } else t.timeoutS[slot] = this.timeouts.udpS;
    const reaches = p.reachesConfirm !== false;
    const delay = p.confirmDelayNs ?? 0;
    if (delay > 0) {
      this.ctx.send(
        this.ctx.self,
        { kind: 'confirm', slot, serial: t.serial[slot]!, reaches, holdNs: p.holdNs ?? 0 },
        delay,
      );
      return;
    }
    this.confirm(slot, t.serial[slot]!, reaches, p.holdNs ?? 0);
  }

  /** __nf_conntrack_confirm for a new entry, then delivery of its cached events. */
  private confirm(slot: number, serial: number, reaches: boolean, holdNs: number): void {
    const t = this.table;
    if (t.serial[slot] !== serial) return;
    if (reaches && !(t.status[slot]! & ST.DYING)) {
      t.status[slot]! &= ~ST.UNCONFIRMED;
      this.unconfirmed--;
      t.status[slot]! |= ST.CONFIRMED;
      this.stats.insert++;
      this.table.hash(slot);
      t.refs[slot]!++; // the hash table's reference
      this.expiry.start(slot, t.timeoutS[slot]!);
      this.truth.confirmed(t.serial[slot]!, this.ctx.now);
      this.cache.cache(slot, this.bits.NEW, t.cpu[slot]!);
      this.cache.deliver(slot, t.cpu[slot]!);
    } else if (t.status[slot]! & ST.UNCONFIRMED) {
      // Never confirmed (dropped before the hook, or marked DYING by a flush): no event, freed
      // with the packet.
      t.status[slot]! &= ~ST.UNCONFIRMED;
      this.unconfirmed--;
      t.status[slot]! |= ST.DYING;
    }
    this.releaseSkb(slot, holdNs);
  }

  private releaseSkb(slot: number, holdNs: number): void {
    if (holdNs > 0) this.ctx.send(this.ctx.self, { kind: 'skb-free', slot, serial: this.table.serial[slot]! }, holdNs);
    else this.put(slot);
  }

  /** __nf_conntrack_alloc with the nf_conntrack_max check and early drop. */
  private allocate(tuple: number): number {
    const t = this.table;
    t.count++;
    if (this.max !== 0 && t.count > this.max) {
      this.counters.early_drop_attempts.add();
      if (!earlyDrop(this, t.bucketOf(tuple))) {
        t.count--;
        this.stats.drop++;
        this.counters.table_full_drops.add();
        this.expiry.tableFull();
        return NIL;
      }
    }
    const slot = t.alloc();
    t.origTuple[slot] = tuple;
    t.created[slot] = this.ctx.now;
    t.status[slot] = ST.UNCONFIRMED;
    this.unconfirmed++;
    t.refs[slot] = 1; // the skb's reference
    t.cpu[slot] = mix32(tuple, 0x9e3779b9) % this.cfg.cpus; // RSS: same CPU for a tuple
    t.serial[slot] = ++this.serialSeq;
    t.id[slot] =
      this.cfg.idScheme === 'address'
        ? (0x88000000 + slot * 320) >>> 0 // low 32 bits of the object's address (≤ 5.0)
        : mix32(mix32(slot, this.idKey) ^ tuple, this.idKey ^ 0x5bd1e995); // siphash(addr, netns, tuple) (5.3+)
    if (this.wantsEcache()) t.status[slot]! |= ST.ECACHE;
    this.truth.allocated(t.serial[slot]!, tuple, this.ctx.now, (t.status[slot]! & ST.ECACHE) !== 0);
    this.allocatedCounter.add();
    return slot;
  }

  /** nf_ct_ecache_ext_add: whether a new entry gets the event-cache extension. */
  private wantsEcache(): boolean {
    if (this.eventsSysctl === 0) return false;
    if (this.eventsSysctl === 2) return this.sink.anyEventListener();
    return true;
  }

  /** __nf_ct_refresh_acct: a packet's new timeout (relative until the entry is confirmed). */
  private refresh(slot: number, timeoutS: number): void {
    if (!(this.table.status[slot]! & ST.CONFIRMED)) {
      this.table.timeoutS[slot] = timeoutS;
      return;
    }
    this.expiry.refresh(slot, timeoutS);
  }

  /** Lookup by tuple without side effects: the node (2·slot + direction) or NIL. */
  findNode(tuple: number): number {
    const t = this.table;
    for (let node = t.head(t.bucketOf(tuple)); node !== NIL; node = t.next(node)) {
      if (t.nodeTuple(node) === tuple && !(t.status[node >> 1]! & ST.DYING)) return node;
    }
    return NIL;
  }

  // ---- deletion -----------------------------------------------------------------------------

  /** The entry expired (death_by_timeout, nf_ct_gc_expired): count it and delete it. */
  expire(slot: number): void {
    this.counters.expired.add();
    this.redelivery.delete(slot, 0);
  }

  /** nf_ct_kill (and conntrack -D, which names its `portid`): stop the entry's timer, then delete it. */
  kill(slot: number, portid = 0): boolean {
    this.expiry.cancel(slot);
    return this.redelivery.delete(slot, portid);
  }

  /**
   * The shared tail of nf_ct_delete from 2.6.31: report the DESTROY; on failure park the entry
   * for redelivery, on success free it (`markDying`: E1/E2 set IPS_DYING only after the report).
   */
  destroyOrPark(slot: number, portid: number, markDying: boolean): boolean {
    if (this.cache.report(slot, this.bits.DESTROY, portid) < 0) {
      this.table.unhash(slot);
      this.park(slot);
      return false;
    }
    if (markDying) this.table.status[slot]! |= ST.DYING;
    this.markDestroySent(slot);
    this.redelivery.destroySent();
    this.unhashAndPut(slot);
    return true;
  }

  /** nf_ct_delete from 4.9: claim the entry by setting IPS_DYING first; a second deleter backs off. */
  claimAndDestroy(slot: number, portid: number): boolean {
    const t = this.table;
    if (t.status[slot]! & ST.DYING) return false;
    t.status[slot]! |= ST.DYING;
    return this.destroyOrPark(slot, portid, false);
  }

  markDestroySent(slot: number): void {
    this.truth.destroySent(this.table.serial[slot]!, this.ctx.now);
  }

  /** Unlink from the hash table and drop the table's reference. */
  unhashAndPut(slot: number): void {
    this.table.unhash(slot);
    this.expiry.cancel(slot);
    this.put(slot);
  }

  /** A failed DESTROY: keep the entry (and its count) for the era's redelivery. */
  private park(slot: number): void {
    const t = this.table;
    this.expiry.cancel(slot);
    t.status[slot]! |= ST.PARKED;
    this.counters.parked.add();
    this.truth.failed(t.serial[slot]!, this.ctx.now);
    this.redelivery.park(slot);
  }

  /** A parked entry's DESTROY finally got through: free it. */
  redelivered(slot: number): void {
    const t = this.table;
    this.markDestroySent(slot);
    this.counters.redelivered.add();
    const waitNs = this.truth.sinceFirstFail(t.serial[slot]!, this.ctx.now);
    if (waitNs >= 0) this.ctx.sample(METRIC.redeliveryWaitNs, waitNs);
    this.put(slot);
  }

  /** nf_ct_put: drops one reference; the last one frees the entry (destroy_conntrack). */
  put(slot: number): void {
    const t = this.table;
    if (--t.refs[slot]! > 0) return;
    this.redelivery.lastPut(slot);
    if (t.status[slot]! & ST.UNCONFIRMED) this.unconfirmed--;
    if (t.status[slot]! & ST.PARKED) {
      t.status[slot]! &= ~ST.PARKED;
      this.redelivery.unpark(slot);
    }
    this.expiry.cancel(slot);
    this.truth.freed(t.serial[slot]!, this.ctx.now);
    t.serial[slot] = 0;
    t.release(slot);
    t.count--;
    this.freedCounter.add();
  }

  private sysctl(name: SysctlName, value: number): void {
    if (name === 'max') this.max = value;
    else if (name === 'eventsSysctl') this.eventsSysctl = value as 0 | 1 | 2;
    else if (name === 'udpTimeoutS')
      this.timeouts = { ...this.timeouts, udpS: value }; // new packets only
    else this.retryTimeoutJ = value * this.cfg.hz;
  }
}
