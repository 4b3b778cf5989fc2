// The kernel side of conntrack event delivery for one network namespace: table, event cache,
// deletion paths and DESTROY redelivery, era by era. Source of truth:
// shared/reference/conntrack-core.md (section numbers below refer to it).
//
// Simplifications, stated once:
// - Packet processing is instantaneous: conntrack input, the L4 tracker and the confirm hook run
//   at the packet's arrival instant (unless the packet says `confirmDelayNs`).
// - Clash resolution on confirm races is not modelled (one CPU processes a tuple at a time).
// - ctnetlink's echo/report unicast is not modelled: `report` is always 0 (reference §2.2).
// - Kernel timers fire on jiffy ticks (plus the configured scheduling latency); the timer
//   wheel's coarser granularity for long timeouts (≥ 4.8) is not modelled.
import type { Actor, Counter, Ctx, Stream, Timer } from '../../sim/index.js';
import { jiffiesToNs, msecsToJiffies, nsToJiffies, s as seconds } from '../../sim/index.js';
import type { KernelConfig, Timeouts } from './config.js';
import {
  BITS_E0,
  BITS_E1,
  ENOBUFS,
  messageFor,
  type CtEvent,
  type EventBits,
  type EventSink,
  type Proto,
} from './events.js';
import {
  CtTable,
  ECACHE_DESTROY_FAIL,
  ECACHE_DESTROY_SENT,
  NIL,
  PROTO_TCP,
  PROTO_UDP,
  SlotList,
  ST,
  TCP,
  mix32,
} from './table.js';
import { TimerWheel } from './timer-wheel.js';
import { TCPF, tcpClosing, trackTcp, trackUdp, type TrackResult } from './trackers.js';

/** A packet for the conntrack hooks. */
export interface PacketMsg {
  readonly kind: 'packet';
  /** Tuple as seen on the wire; `tuple ^ 1` is the reverse direction. */
  readonly tuple: number;
  readonly proto: Proto;
  /** TCP flags (TCPF); ignored for UDP. */
  readonly flags?: number;
  /** False: the packet is dropped by a rule before the confirm hook. Default true. */
  readonly reachesConfirm?: boolean;
  /** Time between conntrack input and the confirm hook (e.g. a queue); default 0. */
  readonly confirmDelayNs?: number;
  /** How long the skb keeps its reference on the conntrack after confirm; default 0. */
  readonly holdNs?: number;
}

/** Administrator actions and sysctl changes. */
export type AdminMsg =
  | { readonly kind: 'flush'; readonly portid: number } // conntrack -F
  | { readonly kind: 'delete'; readonly tuple: number; readonly id?: number; readonly portid: number } // conntrack -D
  | { readonly kind: 'dump' } // conntrack -L: in E3+ walks the table and evicts expired entries
  | { readonly kind: 'sysctl'; readonly name: SysctlName; readonly value: number };

/** The sysctls a scenario may change while it runs. */
export const SYSCTL_NAMES = ['max', 'eventsSysctl', 'retryTimeoutS', 'udpTimeoutS'] as const;
export type SysctlName = (typeof SYSCTL_NAMES)[number];

type InternalMsg =
  | { readonly kind: 'timers' }
  | { readonly kind: 'ecache-work' }
  | { readonly kind: 'gc-work' }
  | { readonly kind: 'flush-step' }
  | {
      readonly kind: 'confirm';
      readonly slot: number;
      readonly serial: number;
      readonly reaches: boolean;
      readonly holdNs: number;
    }
  | { readonly kind: 'skb-free'; readonly slot: number; readonly serial: number };

export type KernelMsg = PacketMsg | AdminMsg | InternalMsg;

/** `conntrack -S` counters (search_restart is not modelled and stays 0). */
export interface CtStats {
  found: number;
  insert: number;
  insert_failed: number;
  drop: number;
  early_drop: number;
  search_restart: number;
}

/**
 * The tick at which the non-cascading timer wheel of 4.8+ (kernel/time/timer.c,
 * calc_wheel_index) runs a timer armed at `nowJ` for `expiresJ`: level n (delays from
 * 63·8^(n-1) jiffies) has a granularity of 8^n jiffies, and the bucket expiry is rounded up to
 * the next multiple, so even a level-0 timer runs one jiffy after `expires`.
 * Measured on 6.18.44 (HZ 250): a 3-jiffy ecache retry recurs every 16.0 ms, not 12.
 */
export function wheelBucketExpiry(expiresJ: number, nowJ: number): number {
  const delta = expiresJ - nowJ;
  let lvl = 0;
  for (let start = 63; lvl < 8 && delta >= start; start *= 8) lvl++;
  const gran = 8 ** lvl;
  return (Math.floor(expiresJ / gran) + 1) * gran;
}

const COUNTER_NAMES = [
  'retries',
  'expired',
  'parked',
  'redelivered',
  'flushed',
  'ecache_work_runs',
  'gc_runs',
  'table_full_drops',
  'gc_early_drops',
] as const;
const TIMER_EXPIRE = 0;
const TIMER_RETRY = 1;
const DONE = 0;
const RESTART = 1;
const CONGESTED = 2;

/** What tests and experiments can read from a running kernel. */
export interface KernelView {
  readonly table: CtTable;
  readonly stats: CtStats;
  /** Entries waiting for DESTROY redelivery (`conntrack -L dying`). */
  parkedCount(): number;
  /** Parked entries in redelivery order for E4 (head first), per CPU list for E2/E3, any order for E1. */
  parkedSlots(): number[][];
  /** Entries linked in the hash table. */
  hashedCount(): number;
  unconfirmedCount(): number;
  /** Slot of the live (hashed) entry whose original or reply tuple is `tuple`, or -1. */
  find(tuple: number): number;
  /** The hashed entries, as a table dump lists them. */
  liveEntries(): { tuple: number; id: number; serial: number }[];
  /**
   * Ground-truth log of each conntrack lifetime (serial → times), for invariants and listener
   * analysis. Empty unless the kernel was built with `{ truth: true }` (it grows with every
   * conntrack ever created).
   */
  readonly truth: Map<number, Truth>;
}

/** Ground truth of one conntrack lifetime (times in ns, -1 when it has not happened). */
export interface Truth {
  readonly tuple: number;
  created: number;
  /** The kernel counted a NEW as delivered (for E0: as sent). */
  newSent: boolean;
  /** It entered the hash table. */
  confirmed: boolean;
  /** It had the event-cache extension (it could emit events at all). */
  readonly events: boolean;
  /** First DESTROY that succeeded (E0: was sent). */
  destroySent: number;
  /** First failed DESTROY (the entry was parked). */
  firstFail: number;
  freed: number;
}

/** The kernel actor plus a read-only view for tests. */
export interface KernelModel extends Actor<KernelMsg> {
  readonly view: KernelView;
}

/**
 * Builds the conntrack kernel of one netns delivering events to `sink`. `rng` draws the hash
 * seed, retry delays and scheduling latency; pass the stream named after the actor id.
 */
export function conntrackKernel(cfg: KernelConfig, sink: EventSink, opts: { truth?: boolean } = {}): KernelModel {
  return new Kernel(cfg, sink, opts.truth ?? false);
}

class Kernel implements KernelModel {
  readonly view: KernelView;
  private readonly bits: EventBits;
  private readonly table: CtTable;
  private readonly stats: CtStats = {
    found: 0,
    insert: 0,
    insert_failed: 0,
    drop: 0,
    early_drop: 0,
    search_restart: 0,
  };
  private ctx!: Ctx;
  private rng!: Stream;
  private latencyRng!: Stream;
  private max: number;
  private eventsSysctl: 0 | 1 | 2;
  private retryJ: number;
  /** Per-protocol timeouts; nf_conntrack_udp_timeout can change at run time (a sysctl action). */
  private timeouts: Timeouts;
  /** CPU time of the current or last E4 worker run (workerCostNs per redelivery). */
  private workRunNs = 0;
  private serialSeq = 0;
  private idKey = 0;
  private readonly truth: KernelView['truth'] = new Map();
  private readonly track: TrackResult = { timeoutS: 0, assure: false, state: 0, kill: false, repeat: false };
  // Kernel timers (per-entry expiry and E1 retry): one heap, one engine timer for its head.
  private readonly timers = new TimerWheel(1024);
  private tick!: Timer;
  private tickArmedAt = Infinity;
  // Redelivery lists: E1 one netns list, E2/E3 one per CPU, E4 the dedicated ecache list.
  private lists: SlotList[] = [];
  private unconfirmed = 0;
  private ecacheWork!: Timer;
  private ecacheDworkPending = false;
  private gcWork!: Timer;
  private gcEarlyDrop = false;
  private gcPos = 0;
  private gcCycleStart = 0;
  private gcNextRunJ = 0; // gc-6.0: running mean of remaining timeouts (jiffies)
  private gcCount = 0;
  private gcInterval = 0; // gc-4.10: next interval (jiffies)
  private allocatedCounter!: Counter;
  private counters!: Record<(typeof COUNTER_NAMES)[number], Counter>;
  /** ct.<type>_attempts / ct.<type>_failures, looked up once (this is the hot path of a flush). */
  private eventCounters!: Record<'new' | 'update' | 'destroy', { attempts: Counter; failures: Counter }>;
  private freedCounter!: Counter;
  private e0Slot: Int32Array; // E0 per-CPU single-slot event cache: which entry
  private e0Events: Int32Array; // ... and its pending bits

  constructor(
    private readonly cfg: KernelConfig,
    private readonly sink: EventSink,
    private readonly recordTruth: boolean,
  ) {
    this.bits = cfg.era === 'E0' ? BITS_E0 : BITS_E1;
    this.max = cfg.max;
    this.eventsSysctl = cfg.eventsSysctl;
    this.retryJ = cfg.retryTimeoutS * cfg.hz;
    this.timeouts = cfg.timeouts;
    this.e0Slot = new Int32Array(cfg.cpus).fill(NIL);
    this.e0Events = new Int32Array(cfg.cpus);
    this.table = new CtTable(cfg.buckets, 0, 1024);
    this.view = {
      table: this.table,
      stats: this.stats,
      truth: this.truth,
      parkedCount: () => this.lists.reduce((n, l) => n + l.length, 0),
      parkedSlots: () => this.lists.map((l) => l.toArray()),
      hashedCount: () => this.table.hashedEntries,
      unconfirmedCount: () => this.unconfirmed,
      find: (tuple) => this.lookupNoGc(tuple) >> 1,
      liveEntries: () => {
        const t = this.table;
        const out: { tuple: number; id: number; serial: number }[] = [];
        for (let slot = 0; slot < t.slotsUsed; slot++) {
          if (t.status[slot]! & ST.HASHED)
            out.push({ tuple: t.origTuple[slot]!, id: t.id[slot]!, serial: t.serial[slot]! });
        }
        return out;
      },
    };
  }

  init(ctx: Ctx): void {
    this.ctx = ctx;
    this.rng = ctx.rng;
    this.latencyRng = ctx.stream('latency');
    this.table.hashSeed = ctx.stream('hash').uint32(); // the kernel seeds its hash at boot
    this.idKey = ctx.stream('id').uint32();
    this.tick = ctx.timer({ kind: 'timers' });
    this.allocatedCounter = ctx.counter('ct.allocated');
    this.counters = Object.fromEntries(COUNTER_NAMES.map((n) => [n, ctx.counter(`ct.${n}`)])) as Record<
      (typeof COUNTER_NAMES)[number],
      Counter
    >;
    const pair = (t: string) => ({
      attempts: ctx.counter(`ct.${t}_attempts`),
      failures: ctx.counter(`ct.${t}_failures`),
    });
    this.eventCounters = { new: pair('new'), update: pair('update'), destroy: pair('destroy') };
    this.freedCounter = ctx.counter('ct.freed');
    this.ecacheWork = ctx.timer({ kind: 'ecache-work' });
    this.gcWork = ctx.timer({ kind: 'gc-work' });
    const nLists = this.cfg.era === 'E2' || this.cfg.era === 'E3' ? this.cfg.cpus : 1;
    for (let i = 0; i < nLists; i++) this.lists.push(new SlotList(this.table));
    if (this.cfg.gc !== 'none') {
      this.gcInterval = this.cfg.hz;
      ctx.addTimer(this.gcWork, this.atJiffy(this.nowJ() + this.cfg.hz)); // first run 1 s after init
    }
  }

  receive(msg: KernelMsg, ctx: Ctx): void {
    this.ctx = ctx;
    switch (msg.kind) {
      case 'packet':
        return this.packet(msg);
      case 'confirm':
        return this.delayedConfirm(msg.slot, msg.serial, msg.reaches, msg.holdNs);
      case 'skb-free':
        if (this.table.serial[msg.slot] === msg.serial && this.table.refs[msg.slot]! > 0) this.put(msg.slot);
        return;
      case 'timers':
        return this.runTimers();
      case 'ecache-work':
        return this.runEcacheWork();
      case 'gc-work':
        return this.runGc();
      case 'flush':
        return this.flush(msg.portid);
      case 'flush-step':
        return this.flushStep();
      case 'delete':
        return this.ctnetlinkDelete(msg.tuple, msg.id, msg.portid);
      case 'dump':
        return this.dump();
      case 'sysctl':
        return this.sysctl(msg.name, msg.value);
    }
  }

  snapshot(): unknown {
    return {
      count: this.table.count,
      hashed: this.table.hashedEntries,
      parked: this.lists.reduce((n, l) => n + l.length, 0),
      unconfirmed: this.unconfirmed,
      stats: { ...this.stats },
    };
  }

  // ---- time helpers -------------------------------------------------------------------------

  private nowJ(): number {
    return nsToJiffies(this.ctx.now, this.cfg.hz);
  }

  /** Simulated time at which a kernel timer with `expires` (jiffies) runs, latency included. */
  private atJiffy(expiresJ: number): number {
    const nowJ = this.nowJ();
    const j = this.cfg.timerWheel === 'wheel-4.8' ? wheelBucketExpiry(expiresJ, nowJ) : expiresJ;
    return jiffiesToNs(Math.max(j, nowJ + 1), this.cfg.hz) + this.latency();
  }

  private latency(): number {
    const l = this.cfg.latency;
    switch (l.kind) {
      case 'none':
        return 0;
      case 'constant':
        return Math.round(l.us * 1e3);
      case 'uniform':
        return Math.round(this.latencyRng.uniform(0, l.maxUs * 1e3));
      case 'exponential':
        return Math.round(this.latencyRng.exponential(l.meanUs * 1e3));
    }
  }

  // ---- kernel timers ------------------------------------------------------------------------

  private armEntryTimer(slot: number, type: number, atNs: number): void {
    this.timers.arm(slot, atNs, type);
    if (atNs < this.tickArmedAt) {
      this.tickArmedAt = atNs;
      this.ctx.modTimer(this.tick, atNs);
    }
  }

  private cancelEntryTimer(slot: number): boolean {
    return this.timers.cancel(slot);
  }

  private runTimers(): void {
    this.tickArmedAt = Infinity;
    this.timers.fire(this.ctx.now, (slot, type) => {
      if (type === TIMER_EXPIRE) this.timerExpired(slot);
      else this.e1Retry(slot);
    });
    const next = this.timers.next;
    if (next !== Infinity) {
      this.tickArmedAt = next;
      this.ctx.modTimer(this.tick, next);
    }
  }

  // ---- packet path (§2.1) -------------------------------------------------------------------

  private packet(p: PacketMsg): void {
    const t = this.table;
    const proto = p.proto === 'tcp' ? PROTO_TCP : PROTO_UDP;
    const flags = p.flags ?? 0;
    for (let attempt = 0; attempt < 2; attempt++) {
      const node = this.lookup(p.tuple);
      if (node === NIL) {
        this.newConnection(p, proto, flags);
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
        this.cacheEvent(slot, this.bits.PROTOINFO, cpu);
      }
      if (tr.timeoutS >= 0) this.refresh(slot, tr.timeoutS);
      if (tr.assure && !(t.status[slot]! & ST.ASSURED)) {
        t.status[slot]! |= ST.ASSURED;
        this.cacheEvent(slot, this.bits.ASSURED, cpu);
      }
      if (reply && !seenReply) {
        t.status[slot]! |= ST.SEEN_REPLY; // set after the L4 tracker ran (§10.2)
        this.cacheEvent(slot, this.bits.REPLY, cpu);
      }
      if (p.reachesConfirm !== false) this.deliverCached(slot, cpu);
      this.releaseSkb(slot, p.holdNs ?? 0);
      return;
    }
  }

  private newConnection(p: PacketMsg, proto: number, flags: number): void {
    const t = this.table;
    if (proto === PROTO_TCP && (flags & (TCPF.SYN | TCPF.ACK)) !== TCPF.SYN) return; // tracker refuses a non-SYN start
    const slot = this.allocate(p.tuple);
    if (slot === NIL) return;
    t.proto[slot] = proto;
    const cpu = t.cpu[slot]!;
    if (proto === PROTO_TCP) {
      trackTcp(this.timeouts, TCP.NONE, flags, false, false, this.track);
      t.tcpState[slot] = this.track.state;
      t.timeout[slot] = this.track.timeoutS; // relative until confirmed
      this.cacheEvent(slot, this.bits.PROTOINFO, cpu);
    } else t.timeout[slot] = this.timeouts.udpS;
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
    this.delayedConfirm(slot, t.serial[slot]!, reaches, p.holdNs ?? 0);
  }

  /** nf_conntrack_confirm for a new entry, then delivery of its cached events. */
  private delayedConfirm(slot: number, serial: number, reaches: boolean, holdNs: number): void {
    const t = this.table;
    if (t.serial[slot] !== serial) return;
    if (reaches && !(t.status[slot]! & ST.DYING)) {
      t.status[slot]! &= ~ST.UNCONFIRMED;
      this.unconfirmed--;
      t.status[slot]! |= ST.CONFIRMED;
      this.stats.insert++;
      this.table.hash(slot);
      t.refs[slot]!++; // the hash table's reference
      const relS = t.timeout[slot]!;
      if (this.cfg.expiry === 'timer') {
        const exp = this.nowJ() + relS * this.cfg.hz;
        t.timeout[slot] = exp;
        this.armEntryTimer(slot, TIMER_EXPIRE, this.atJiffy(exp));
      } else t.timeout[slot] = this.ctx.now + seconds(relS);
      const tr = this.truth.get(t.serial[slot]!);
      if (tr) {
        tr.created = this.ctx.now;
        tr.confirmed = true;
      }
      this.cacheEvent(slot, this.bits.NEW, t.cpu[slot]!);
      this.deliverCached(slot, t.cpu[slot]!);
    } else if (t.status[slot]! & ST.UNCONFIRMED) {
      // Never confirmed (dropped before the hook, or marked DYING by a flush): no event, freed
      // with the packet (§2.1 step 3).
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

  /** nf_conntrack_alloc with the max check and early drop (§2.1 step 1). */
  private allocate(tuple: number): number {
    const t = this.table;
    t.count++;
    if (this.max !== 0 && t.count > this.max) {
      if (!this.earlyDrop(t.bucketOf(tuple))) {
        t.count--;
        this.stats.drop++;
        this.counters.table_full_drops.add();
        if (this.cfg.expiry === 'gc') this.gcEarlyDrop = true;
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
    if (this.recordTruth)
      this.truth.set(t.serial[slot]!, {
        tuple,
        created: this.ctx.now,
        newSent: false,
        destroySent: -1,
        firstFail: -1,
        confirmed: false,
        events: (t.status[slot]! & ST.ECACHE) !== 0,
        freed: -1,
      });
    this.allocatedCounter.add();
    return slot;
  }

  /** Whether a new entry gets the event-cache extension (§5.1, §12.1). */
  private wantsEcache(): boolean {
    if (this.eventsSysctl === 0) return false;
    if (this.eventsSysctl === 2) return this.sink.anyEventListener();
    return true;
  }

  /** Refreshes the timeout of a confirmed entry (§6.3 coalescing in timer eras, exact from E3). */
  private refresh(slot: number, timeoutS: number): void {
    const t = this.table;
    if (!(t.status[slot]! & ST.CONFIRMED)) {
      t.timeout[slot] = timeoutS;
      return;
    }
    if (this.cfg.expiry === 'gc') {
      t.timeout[slot] = this.ctx.now + seconds(timeoutS);
      return;
    }
    this.cacheEvent(slot, this.bits.REFRESH, t.cpu[slot]!); // E0 only; ctnetlink ignores it
    const exp = this.nowJ() + timeoutS * this.cfg.hz;
    if (this.cfg.refreshCoalesce && exp - t.timeout[slot]! < this.cfg.hz) return;
    t.timeout[slot] = exp;
    if (this.timers.pending(slot)) this.armEntryTimer(slot, TIMER_EXPIRE, this.atJiffy(exp));
  }

  /**
   * Lookup by tuple (one walk of the bucket). In gc eras an expired entry met on the chain is
   * deleted before the tuple is compared, as __nf_conntrack_find_get does (§7.1).
   */
  private lookup(tuple: number): number {
    if (this.cfg.expiry !== 'gc') return this.lookupNoGc(tuple);
    const t = this.table;
    const now = this.ctx.now;
    for (let node = t.head(t.bucketOf(tuple)); node !== NIL;) {
      const slot = node >> 1;
      const next = t.next(node);
      const st = t.status[slot]!;
      if (t.timeout[slot]! <= now && (st & (ST.CONFIRMED | ST.DYING | ST.HASHED)) === (ST.CONFIRMED | ST.HASHED)) {
        this.gcExpired(slot);
        node = next !== NIL && next >> 1 === slot ? t.next(next) : next;
        continue;
      }
      if (t.nodeTuple(node) === tuple && !(st & ST.DYING)) return node;
      node = next;
    }
    return NIL;
  }

  private lookupNoGc(tuple: number): number {
    const t = this.table;
    for (let node = t.head(t.bucketOf(tuple)); node !== NIL; node = t.next(node)) {
      if (t.nodeTuple(node) === tuple && !(t.status[node >> 1]! & ST.DYING)) return node;
    }
    return NIL;
  }

  private shouldGc(slot: number): boolean {
    const st = this.table.status[slot]!;
    return (
      (st & (ST.CONFIRMED | ST.DYING | ST.HASHED)) === (ST.CONFIRMED | ST.HASHED) &&
      this.table.timeout[slot]! <= this.ctx.now
    );
  }

  private gcExpired(slot: number): void {
    this.counters.expired.add();
    this.nfCtDelete(slot, 0);
  }

  // ---- event cache (§5.2, §4) ---------------------------------------------------------------

  private cacheEvent(slot: number, bit: number, cpu: number): void {
    if (bit === 0) return;
    const t = this.table;
    if (!(t.status[slot]! & ST.ECACHE)) return;
    if (this.cfg.era !== 'E0') {
      t.cache[slot]! |= bit;
      return;
    }
    // E0: one pending conntrack per CPU; caching for another one flushes the previous first.
    const held = this.e0Slot[cpu]!;
    if (held !== slot) {
      if (held !== NIL) this.e0Deliver(held, cpu);
      this.e0Slot[cpu] = slot;
      t.refs[slot]!++;
      this.e0Events[cpu] = 0;
    }
    this.e0Events[cpu]! |= bit;
  }

  /** __nf_ct_deliver_cached_events (≤ 2.6.30): deliver, then release the CPU's slot and its reference. */
  private e0Deliver(slot: number, cpu: number): void {
    const ev = this.e0Events[cpu]!;
    this.e0Events[cpu] = 0;
    this.e0Slot[cpu] = NIL;
    const st = this.table.status[slot]!;
    if (st & ST.CONFIRMED && !(st & ST.DYING) && ev !== 0) this.ctnetlink(slot, ev, 0);
    this.put(slot);
  }

  /** nf_ct_deliver_cached_events, per era. */
  private deliverCached(slot: number, cpu: number): void {
    const t = this.table;
    if (this.cfg.era === 'E0') {
      if (this.e0Slot[cpu] === slot) this.e0Deliver(slot, cpu);
      return;
    }
    if (!(t.status[slot]! & ST.ECACHE)) return;
    const events = t.cache[slot]!;
    t.cache[slot] = 0;
    const st = t.status[slot]!;
    if (!(st & ST.CONFIRMED) || st & ST.DYING) return;
    if (events === 0 && this.cfg.missedResend === 'next-event') return; // §5.3
    const missed = t.missed[slot]!;
    if (((events | missed) & t.ctmask[slot]!) === 0) return;
    if (this.ctnetlink(slot, events | missed, 0) < 0) t.missed[slot]! |= events;
    else if (missed !== 0) t.missed[slot]! &= ~missed;
  }

  /**
   * nf_conntrack_eventmask_report: the synchronous report of `mask` (DESTROY). Returns < 0 on
   * failure. E1/E2 act only on confirmed, non-DYING entries; E3/E4 on confirmed ones (§5.4, §7.3).
   */
  private eventmaskReport(slot: number, mask: number, portid: number): number {
    const t = this.table;
    const st = t.status[slot]!;
    if (!(st & ST.ECACHE) || !(st & ST.CONFIRMED)) return 0;
    if ((this.cfg.era === 'E1' || this.cfg.era === 'E2') && st & ST.DYING) return 0;
    const stored = t.portid[slot]!;
    const itemPortid = stored !== 0 ? stored : portid;
    const missed = stored !== 0 ? 0 : t.missed[slot]!;
    if (((mask | missed) & t.ctmask[slot]!) === 0) return 0;
    const r = this.ctnetlink(slot, mask | missed, itemPortid);
    if (r < 0) {
      if (mask & this.bits.DESTROY && stored === 0 && portid !== 0) t.portid[slot] = portid;
      else t.missed[slot]! |= mask;
      if (this.cfg.era === 'E3') t.ecacheState[slot] = ECACHE_DESTROY_FAIL;
    } else if (missed !== 0) t.missed[slot]! &= ~missed;
    return r;
  }

  /** ctnetlink_conntrack_event: one message; failure iff a BROADCAST_ERROR listener refused it. */
  private ctnetlink(slot: number, events: number, portid: number): number {
    const m = messageFor(events, this.bits);
    if (m === null || !this.sink.hasListeners(m.group)) return 0; // §3.3: nothing built, nothing missed
    const t = this.table;
    const ev: CtEvent = {
      type: m.type,
      group: m.group,
      flags: m.flags,
      events,
      id: t.id[slot]!,
      tuple: t.origTuple[slot]!,
      proto: t.proto[slot] === PROTO_TCP ? 'tcp' : 'udp',
      portid,
      serial: t.serial[slot]!,
      sentAt: this.ctx.now,
    };
    const r = this.sink.broadcast(ev, this.ctx);
    const c = this.eventCounters[m.type];
    c.attempts.add();
    if (r === ENOBUFS) c.failures.add();
    if (r === ENOBUFS && this.cfg.era !== 'E0') return -1; // E0 ignores the result (§4)
    if (m.type === 'new') {
      const tr = this.truth.get(ev.serial);
      if (tr) tr.newSent = true;
    }
    return 0;
  }

  // ---- deletion (§5.5, §6.1, §7.2, §12.3) ---------------------------------------------------

  /** nf_ct_kill: RST before reply, SYN on TIME_WAIT, gc and early-drop kills. */
  private kill(slot: number): boolean {
    if (this.cfg.expiry === 'timer') this.cancelEntryTimer(slot);
    return this.nfCtDelete(slot, 0);
  }

  /** The era's nf_ct_delete / death_by_timeout. Returns true if the entry is gone for good. */
  private nfCtDelete(slot: number, portid: number): boolean {
    const t = this.table;
    const era = this.cfg.era;
    if (era === 'E0') {
      // death_by_timeout: unlink and drop the hash reference; DESTROY at the last put (§4).
      if (this.adminContext && !(t.status[slot]! & ST.DYING)) {
        this.ctnetlink(slot, this.bits.DESTROY, portid); // conntrack -D / flush report it themselves
        t.status[slot]! |= ST.DYING;
        this.markDestroySent(slot);
      }
      this.unhashAndPut(slot);
      return true;
    }
    if (era === 'E3' || era === 'E4') {
      if (t.status[slot]! & ST.DYING) return false; // deletion already claimed (§7.2)
      t.status[slot]! |= ST.DYING;
    } else if (era === 'E2' && t.status[slot]! & ST.DYING) {
      this.unhashAndPut(slot);
      return true;
    }
    if (this.eventmaskReport(slot, this.bits.DESTROY, portid) < 0) {
      t.unhash(slot);
      this.park(slot);
      return false;
    }
    if (era === 'E1' || era === 'E2') t.status[slot]! |= ST.DYING;
    this.markDestroySent(slot);
    this.destroySent();
    this.unhashAndPut(slot);
    return true;
  }

  private markDestroySent(slot: number): void {
    const tr = this.truth.get(this.table.serial[slot]!);
    if (tr && tr.destroySent < 0) tr.destroySent = this.ctx.now;
  }

  private unhashAndPut(slot: number): void {
    this.table.unhash(slot);
    if (this.cfg.expiry === 'timer') this.cancelEntryTimer(slot);
    this.put(slot);
  }

  /** A failed DESTROY: keep the entry (and its count) for redelivery. */
  private park(slot: number): void {
    const t = this.table;
    if (this.cfg.expiry === 'timer') this.cancelEntryTimer(slot);
    t.status[slot]! |= ST.PARKED;
    this.counters.parked.add();
    const tr = this.truth.get(t.serial[slot]!);
    if (tr && tr.firstFail < 0) tr.firstFail = this.ctx.now;
    switch (this.cfg.era) {
      case 'E1':
        this.lists[0]!.pushHead(slot);
        this.armEntryTimer(slot, TIMER_RETRY, this.atJiffy(this.nowJ() + this.retryDelayJ()));
        return;
      case 'E2':
      case 'E3':
        // The entry now belongs to the dying list of the CPU that deleted it; no packet will
        // look it up again, so its cpu field records that list.
        t.cpu[slot] = this.deletingCpu(slot);
        this.lists[t.cpu[slot]!]!.pushHead(slot);
        this.scheduleWorkIfIdle();
        return;
      case 'E4':
        this.lists[0]!.pushHead(slot);
        this.scheduleWorkIfIdle();
        return;
    }
  }

  /** The CPU whose dying list takes an entry: its own CPU (packet/timer) or the admin CPU. */
  private deletingCpu(slot: number): number {
    return this.adminContext ? this.cfg.adminCpu : this.table.cpu[slot]!;
  }
  private adminContext = false;
  private flushVictims: number[] = [];
  private flushSerials: number[] = [];
  private flushNext = 0;
  private flushPortid = 0;

  /** nf_conntrack_ecache_delayed_work / DESTROY_FAIL: schedule the worker 1 s ahead if idle. */
  private scheduleWorkIfIdle(): void {
    if (this.ctx.timerPending(this.ecacheWork)) return;
    this.ctx.addTimer(this.ecacheWork, this.atJiffy(this.nowJ() + this.cfg.hz));
    this.ecacheDworkPending = true;
  }

  /** A DESTROY succeeded outside the worker: kick the worker now if redelivery is pending. */
  private destroySent(): void {
    if (!this.ecacheDworkPending) return;
    if (this.cfg.era === 'E4') {
      if (this.lists[0]!.length > 0) this.ctx.modTimer(this.ecacheWork, this.ctx.now + this.latency());
      else this.ecacheDworkPending = false;
    } else if (this.cfg.era === 'E2' || this.cfg.era === 'E3') {
      this.ecacheDworkPending = false;
      this.ctx.modTimer(this.ecacheWork, this.ctx.now + this.latency());
    }
  }

  /** Drops one reference; the last one frees the entry (E0: and sends its DESTROY). */
  private put(slot: number): void {
    const t = this.table;
    if (--t.refs[slot]! > 0) return;
    if (this.cfg.era === 'E0' && !(t.status[slot]! & ST.DYING) && t.status[slot]! & ST.CONFIRMED) {
      this.ctnetlink(slot, this.bits.DESTROY, 0); // destroy_conntrack (§4)
      this.markDestroySent(slot);
    }
    if (t.status[slot]! & ST.UNCONFIRMED) this.unconfirmed--;
    if (t.status[slot]! & ST.PARKED) this.unpark(slot);
    if (this.cfg.expiry === 'timer') this.cancelEntryTimer(slot);
    const tr = this.truth.get(t.serial[slot]!);
    if (tr) tr.freed = this.ctx.now;
    t.serial[slot] = 0;
    t.release(slot);
    t.count--;
    this.freedCounter.add();
  }

  private unpark(slot: number): void {
    const t = this.table;
    t.status[slot]! &= ~ST.PARKED;
    this.lists[this.lists.length === 1 ? 0 : t.cpu[slot]!]!.remove(slot);
  }

  // ---- per-entry timers: expiry (E0–E2) and E1 retry ----------------------------------------

  private timerExpired(slot: number): void {
    const t = this.table;
    if (this.cfg.refreshCoalesce && t.timeout[slot]! > this.nowJ()) {
      this.armEntryTimer(slot, TIMER_EXPIRE, this.atJiffy(t.timeout[slot]!));
      return;
    }
    this.counters.expired.add();
    this.nfCtDelete(slot, 0);
  }

  /** E1 retry delay in jiffies: `random32() % retry_timeout`, or the fixed timeout (ablation). */
  private retryDelayJ(): number {
    return this.cfg.retryJitter ? this.rng.intBelow(this.retryJ) : this.retryJ;
  }

  /** E1 death_by_event: retry the DESTROY; a failure draws a fresh delay (§5.5). */
  private e1Retry(slot: number): void {
    const t = this.table;
    this.counters.retries.add();
    if (this.eventmaskReport(slot, this.bits.DESTROY, 0) < 0) {
      this.armEntryTimer(slot, TIMER_RETRY, this.atJiffy(this.nowJ() + this.retryDelayJ()));
      return;
    }
    t.status[slot]! |= ST.DYING;
    this.redelivered(slot);
  }

  // ---- redelivery workers (§6.2, §7.3, §12.4) -----------------------------------------------

  private runEcacheWork(): void {
    this.counters.ecache_work_runs.add();
    const era = this.cfg.era;
    let ret = DONE;
    if (era === 'E4') ret = this.e4EvictList();
    else {
      for (let cpu = 0; cpu < this.lists.length; cpu++) {
        const r = this.e2EvictList(cpu);
        if (r === CONGESTED) {
          ret = CONGESTED;
          break;
        }
        if (r === RESTART) ret = RESTART;
      }
    }
    let delayJ = -1;
    if (ret === CONGESTED) delayJ = era === 'E4' ? msecsToJiffies(10, this.cfg.hz) : Math.floor(this.cfg.hz / 10);
    else if (ret === RESTART) delayJ = 0;
    if (era !== 'E4') this.ecacheDworkPending = delayJ > 0;
    // A restart runs again once this run is over: E4 runs cost workerCostNs per redelivery.
    if (delayJ === 0) this.ctx.addTimer(this.ecacheWork, this.ctx.now + this.workRunNs + this.latency());
    else if (delayJ > 0) this.ctx.addTimer(this.ecacheWork, this.atJiffy(this.nowJ() + delayJ));
  }

  private e2EvictList(cpu: number): number {
    const t = this.table;
    const list = this.lists[cpu]!;
    let sent = 0;
    for (let slot = list.head; slot !== NIL;) {
      const next = t.listNext[slot]!;
      if (this.cfg.era === 'E3' && t.ecacheState[slot] !== ECACHE_DESTROY_FAIL) {
        slot = next;
        continue;
      }
      if (this.eventmaskReport(slot, this.bits.DESTROY, 0) < 0) return CONGESTED;
      if (this.cfg.era === 'E2') t.status[slot]! |= ST.DYING;
      else t.ecacheState[slot] = ECACHE_DESTROY_SENT;
      this.redelivered(slot);
      if (++sent >= this.cfg.workBatch) return RESTART;
      slot = next;
    }
    return DONE;
  }

  private e4EvictList(): number {
    const list = this.lists[0]!;
    const stopJ = this.nowJ() + msecsToJiffies(10, this.cfg.hz);
    this.workRunNs = 0;
    while (list.head !== NIL) {
      const slot = list.head;
      if (this.eventmaskReport(slot, this.bits.DESTROY, 0) < 0) return CONGESTED;
      this.redelivered(slot);
      this.workRunNs += this.cfg.workerCostNs;
      const jiffiesNow = nsToJiffies(this.ctx.now + this.workRunNs, this.cfg.hz);
      // Shipped: time_after(stop, jiffies) is true while the budget is NOT exhausted, so the walk
      // stops after the first success. Fixed: stop only once the 10 ms budget is used up.
      const restart = this.cfg.ecacheFixedTimeCheck ? jiffiesNow > stopJ : stopJ > jiffiesNow;
      if (restart) return RESTART; // even when the list is now empty: one more (empty) run follows
    }
    return DONE;
  }

  private redelivered(slot: number): void {
    const t = this.table;
    this.markDestroySent(slot);
    this.counters.redelivered.add();
    const tr = this.truth.get(t.serial[slot]!);
    if (tr && tr.firstFail >= 0) this.ctx.sample('ct.redelivery_wait_ns', this.ctx.now - tr.firstFail);
    this.put(slot);
  }

  // ---- administrator actions ----------------------------------------------------------------

  /** conntrack -F (§5.5 flush, §3.6). */
  private flush(portid: number): void {
    const t = this.table;
    this.adminContext = true;
    // Unconfirmed entries are only marked DYING (they will never be confirmed).
    for (let slot = 0; slot < t.slotsUsed; slot++) if (t.status[slot]! & ST.UNCONFIRMED) t.status[slot]! |= ST.DYING;
    // The iterator walks buckets in order and takes each entry at the first of its two nodes.
    const victims: number[] = [];
    const seen = new Uint8Array(t.slotsUsed);
    for (let b = 0; b < t.buckets; b++) {
      for (let node = t.head(b); node !== NIL; node = t.next(node)) {
        if (!seen[node >> 1]) victims.push(node >> 1);
        seen[node >> 1] = 1;
      }
    }
    this.adminContext = false;
    this.flushVictims = victims;
    this.flushSerials = victims.map((v) => t.serial[v]!);
    this.flushNext = 0;
    this.flushPortid = portid;
    this.flushStep();
  }

  /**
   * Deletes flush victims in iteration order. With `flushCostNs` > 0 each entry takes that much
   * CPU time, so a big flush spreads over time (and readers drain their queues meanwhile, as
   * measured on 6.18.44: 2000 entries in 15 ms). Simplification: the victims are the entries
   * hashed when the flush started.
   */
  private flushStep(): void {
    const t = this.table;
    const cost = this.cfg.flushCostNs;
    this.adminContext = true;
    while (this.flushNext < this.flushVictims.length) {
      const i = this.flushNext++;
      const slot = this.flushVictims[i]!;
      if (t.serial[slot] !== this.flushSerials[i] || !(t.status[slot]! & ST.HASHED)) continue;
      this.counters.flushed.add();
      if (this.cfg.era === 'E1' && this.cfg.flushAttempts === 2) this.e1FlushTwice(slot, this.flushPortid);
      else {
        if (this.cfg.expiry === 'timer') this.cancelEntryTimer(slot);
        this.nfCtDelete(slot, this.flushPortid);
      }
      if (cost > 0 && this.flushNext < this.flushVictims.length) {
        this.ctx.send(this.ctx.self, { kind: 'flush-step' }, cost);
        break;
      }
    }
    this.adminContext = false;
  }

  /** 2.6.31–3.11: kill_report (attempt #1), then death_by_timeout (attempt #2) (§5.5). */
  private e1FlushTwice(slot: number, portid: number): void {
    const t = this.table;
    if (this.eventmaskReport(slot, this.bits.DESTROY, portid) >= 0) {
      t.status[slot]! |= ST.DYING;
      this.markDestroySent(slot);
    }
    this.cancelEntryTimer(slot);
    if (t.status[slot]! & ST.DYING) {
      this.unhashAndPut(slot);
      return;
    }
    this.nfCtDelete(slot, 0);
  }

  /** conntrack -D: by tuple, optionally checking CTA_ID (§5.5). */
  private ctnetlinkDelete(tuple: number, id: number | undefined, portid: number): void {
    const node = this.lookupNoGc(tuple);
    if (node === NIL) return;
    const slot = node >> 1;
    if (id !== undefined && this.table.id[slot] !== id) return;
    this.adminContext = true;
    if (this.cfg.expiry === 'timer') this.cancelEntryTimer(slot);
    this.nfCtDelete(slot, portid);
    this.adminContext = false;
  }

  /** conntrack -L: in gc eras every expired entry met is deleted (§7.1). */
  private dump(): void {
    if (this.cfg.expiry !== 'gc') return;
    const t = this.table;
    for (let b = 0; b < t.buckets; b++) {
      for (let node = t.head(b); node !== NIL;) {
        const next = t.next(node);
        if (this.shouldGc(node >> 1)) this.gcExpired(node >> 1);
        node = next;
      }
    }
  }

  private sysctl(name: SysctlName, value: number): void {
    if (name === 'max') this.max = value;
    else if (name === 'eventsSysctl') this.eventsSysctl = value as 0 | 1 | 2;
    else if (name === 'udpTimeoutS')
      this.timeouts = { ...this.timeouts, udpS: value }; // new packets only
    else this.retryJ = value * this.cfg.hz;
  }

  // ---- early drop (§5.6, §8) ----------------------------------------------------------------

  private earlyDrop(bucket: number): boolean {
    switch (this.cfg.earlyDrop) {
      case 'chain-last-always':
      case 'chain-last-delivered':
        return this.earlyDropChainLast(bucket, this.cfg.earlyDrop === 'chain-last-always');
      case 'chain-first':
        return this.earlyDropChainFirst(bucket);
      case 'buckets':
        return this.earlyDropBuckets(bucket);
    }
  }

  private earlyDropChainLast(start: number, successAlways: boolean): boolean {
    const t = this.table;
    let victim = NIL;
    let cnt = 0;
    for (let i = 0; i < t.buckets; i++) {
      const b = (start + i) % t.buckets;
      for (let node = t.head(b); node !== NIL; node = t.next(node)) {
        if (!(t.status[node >> 1]! & ST.ASSURED)) victim = node >> 1;
        cnt++;
      }
      if (victim !== NIL && t.status[victim]! & ST.DYING) victim = NIL;
      if (victim !== NIL || cnt >= 8) break;
    }
    if (victim === NIL) return false;
    this.cancelEntryTimer(victim);
    const gone = this.nfCtDelete(victim, 0);
    if (this.cfg.era === 'E0' || successAlways || gone) {
      this.stats.early_drop++;
      return true;
    }
    return false;
  }

  private earlyDropChainFirst(start: number): boolean {
    const t = this.table;
    let victim = NIL;
    let cnt = 0;
    for (let i = 0; i < t.buckets && victim === NIL && cnt < 8; i++) {
      const b = (start + i) % t.buckets;
      for (let node = t.head(b); node !== NIL; node = t.next(node)) {
        const st = t.status[node >> 1]!;
        if (!(st & ST.ASSURED) && !(st & ST.DYING)) {
          victim = node >> 1;
          break;
        }
        cnt++;
      }
    }
    if (victim === NIL) return false;
    if (this.cfg.expiry === 'timer') this.cancelEntryTimer(victim);
    if (this.nfCtDelete(victim, 0)) {
      this.stats.early_drop++;
      return true;
    }
    return false;
  }

  private earlyDropBuckets(start: number): boolean {
    const t = this.table;
    for (let i = 0; i < 8 && i < t.buckets; i++) {
      const b = (start + i) % t.buckets;
      const slots: number[] = [];
      for (let node = t.head(b); node !== NIL; node = t.next(node)) slots.push(node >> 1);
      let drops = 0;
      for (const slot of slots) {
        const st = t.status[slot]!;
        if (!(st & ST.HASHED)) continue;
        if (this.shouldGc(slot)) {
          this.gcExpired(slot);
          continue;
        }
        if (st & (ST.ASSURED | ST.DYING) || !(st & ST.CONFIRMED)) continue;
        if (this.kill(slot)) drops++;
      }
      if (drops > 0) {
        this.stats.early_drop += drops;
        return true;
      }
    }
    return false;
  }

  // ---- gc worker (§7.4, §7.5) ---------------------------------------------------------------

  private runGc(): void {
    this.counters.gc_runs.add();
    if (this.cfg.gc === 'gc-4.10') this.gc410();
    else this.gcFullScan();
  }

  /** Visits one entry during a gc scan; returns 1 if it evicted it. */
  private gcVisit(slot: number, max95: number): number {
    const t = this.table;
    const st = t.status[slot]!;
    if (!(st & ST.HASHED)) return 0;
    if (this.shouldGc(slot)) {
      this.gcExpired(slot);
      return 1;
    }
    if (this.cfg.gc === 'gc-6.0') {
      const remainingJ = nsToJiffies(Math.max(0, t.timeout[slot]! - this.ctx.now), this.cfg.hz);
      const x = Math.min(Math.max(remainingJ, this.cfg.hz), 300 * this.cfg.hz);
      this.gcNextRunJ += Math.trunc((x - this.gcNextRunJ) / ++this.gcCount);
    }
    if (!this.gcEarlyDrop || t.count < max95 || !(st & ST.CONFIRMED) || st & ST.DYING) return 0;
    const closing = this.cfg.gcAssistClosingTcp && t.proto[slot] === PROTO_TCP && tcpClosing(t.tcpState[slot]!);
    if (!(st & ST.ASSURED) || closing) {
      this.counters.gc_early_drops.add();
      this.kill(slot);
      return 1;
    }
    return 0;
  }

  /** 4.10 – 5.13: buckets/128 per run, adaptive interval between HZ/128 and HZ/8. */
  private gc410(): void {
    const t = this.table;
    const goal = Math.max(1, Math.floor(t.buckets / 128));
    const max95 = Math.floor(this.max / 100) * 95;
    let scanned = 0;
    let expired = 0;
    for (let i = 0; i < goal; i++) {
      const b = this.gcPos;
      this.gcPos = (this.gcPos + 1) % t.buckets;
      const slots: number[] = [];
      for (let node = t.head(b); node !== NIL; node = t.next(node)) slots.push(node >> 1);
      for (const slot of slots) {
        scanned++;
        expired += this.gcVisit(slot, max95);
      }
    }
    const minI = Math.max(Math.floor(this.cfg.hz / 128), 1);
    if (scanned > 0 && (expired * 100) / scanned > 50) this.gcInterval = minI;
    else this.gcInterval = Math.min(this.gcInterval + minI, Math.floor(this.cfg.hz / 8));
    this.gcEarlyDrop = false;
    this.ctx.addTimer(this.gcWork, this.atJiffy(this.nowJ() + this.gcInterval));
  }

  /** 5.14 (whole table, then 120 s) and 6.0 (whole table, then the mean remaining timeout). */
  private gcFullScan(): void {
    const t = this.table;
    const hz = this.cfg.hz;
    if (this.gcPos === 0) {
      this.gcNextRunJ = 60 * hz;
      this.gcCount = 100;
      this.gcCycleStart = this.ctx.now;
    }
    const max95 = Math.floor(this.max / 100) * 95;
    const expiredMax = Math.floor(64000 / hz);
    const budgetNs = jiffiesToNs(msecsToJiffies(10, hz), hz);
    let evictions = 0;
    let costNs = 0;
    while (this.gcPos < t.buckets) {
      // The next node is read before a visit may unlink the current one. An evicted entry's
      // other node, if it is next in this chain, is unlinked too, so re-read after a visit.
      for (let node = t.head(this.gcPos); node !== NIL;) {
        if (this.cfg.gc === 'gc-6.0' && evictions > expiredMax) {
          const young = this.ctx.now - this.gcCycleStart < seconds(60);
          this.ctx.addTimer(this.gcWork, young ? this.atJiffy(this.nowJ() + 1) : this.ctx.now + this.latency());
          return;
        }
        const slot = node >> 1;
        const next = t.next(node);
        const evicted = this.gcVisit(slot, max95);
        evictions += evicted;
        costNs += this.cfg.gcCostNs;
        node = evicted && next !== NIL && next >> 1 === slot ? t.next(next) : next;
      }
      this.gcPos++;
      if (costNs > budgetNs && this.gcPos < t.buckets) {
        this.ctx.addTimer(this.gcWork, this.ctx.now + this.latency());
        return;
      }
    }
    this.gcPos = 0;
    this.gcEarlyDrop = false;
    let nextJ: number;
    if (this.cfg.gc === 'gc-5.14') nextJ = 120 * hz;
    else {
      const mean = Math.min(Math.max(this.gcNextRunJ, hz), 60 * hz);
      nextJ = Math.max(1, mean - nsToJiffies(this.ctx.now - this.gcCycleStart, hz));
    }
    this.ctx.addTimer(this.gcWork, this.atJiffy(this.nowJ() + nextJ));
  }
}
