// User-space listeners: a generic reader process on one NETLINK_NETFILTER socket, with the
// behaviours of `conntrack -E` (conntrack-tools src/conntrack.c) and of conntrackd's event
// handler, buffer growth, overrun resync and internal cache
// (docs/kernel-facts.md#conntrack-e to #conntrackd-cache). Every listener keeps its own view of the table and a log of what it received.
//
// Simplifications: a resync takes its dump as one snapshot of the kernel's hashed entries (the
// dump socket's flow control is not modelled) and costs `resyncUsPerEntry` per dumped entry and
// per cached object; conntrackd's sync channels are not modelled here.
import type { Actor, Ctx, Stream, Timer } from '../../sim/index.js';
import { s as seconds } from '../../sim/index.js';
import { ENOBUFS, type CtEvent } from '../kernel/events.js';
import type { NetlinkKernelConfig } from '../netlink/config.js';
import { DumpStream, NetlinkFamily, NetlinkSocket, type RcvbufRequest } from '../netlink/socket.js';

// A dump skb: NLMSG_GOODSIZE-sized (about 16 KiB of head on x86_64 with 4 KiB pages → kmalloc
// 16384 + 576 overhead), holding entries of ~150 bytes. UNVERIFIED sizes; they only pace the dump.
const DUMP_ENTRIES_PER_SKB = 100;
const DUMP_SKB_TRUESIZE = 16384 + 576;
import { drawNs, type ConntrackdConfig, type ListenerConfig } from './config.js';
import { SyncLink } from './sync.js';
import { METRIC } from '../names.js';

/** One line of a listener's log: a message, an ENOBUFS, a resync or the exit. */
export type LogEntry =
  | { readonly t: number; readonly kind: 'msg'; readonly ev: CtEvent }
  | { readonly t: number; readonly kind: 'enobufs' }
  | { readonly t: number; readonly kind: 'resync'; readonly added: number; readonly purged: number }
  | { readonly t: number; readonly kind: 'exit' };

/** An object of the listener's own table view. */
export interface ViewEntry {
  readonly tuple: number;
  readonly id: number;
  readonly serial: number;
}

/** The kernel's live entries, as a resync dump sees them. */
export interface DumpSource {
  liveEntries(): ViewEntry[];
}

type ListenerMsg =
  | { readonly kind: 'wake' }
  | { readonly kind: 'step' }
  | { readonly kind: 'resync' }
  | { readonly kind: 'resync-done' };

/** Counters a listener keeps while it runs. */
export interface ListenerStats {
  received: { new: number; update: number; destroy: number };
  enobufs: number;
  /** A message of a type already received for the same conntrack lifetime. */
  duplicates: number;
  /** A DESTROY arriving after the NEW of a newer conntrack with the same tuple. */
  outOfOrder: number;
  /** conntrackd: a DESTROY that removed the cache object of another (newer) conntrack. */
  wrongDeletes: number;
  resyncs: number;
  bufferGrowths: number;
}

export interface ListenerModel extends Actor<ListenerMsg> {
  readonly socket: NetlinkSocket;
  readonly log: LogEntry[];
  readonly view: Map<string | number, ViewEntry>;
  readonly stats: ListenerStats;
  readonly cfg: ListenerConfig;
  /** False after `conntrack -E` ≤ 1.4.5 exited on ENOBUFS. */
  readonly running: boolean;
  /** Events handled per readiness (per nfct_catch for conntrackd). */
  readonly perCatch: readonly number[];
  /** Conntrack lifetimes (serials) whose NEW / DESTROY arrived at least once. */
  readonly seenNew: ReadonlySet<number>;
  readonly seenDestroy: ReadonlySet<number>;
  /** Time of the last message or resync that could change the view. */
  readonly lastChange: number;
  /** The cache key of an entry for this listener (tuple+ID or tuple, by version). */
  key(e: { tuple: number; id: number }): string | number;
}

/** Builds a listener and subscribes its socket to `family`. */
export function listener(
  id: string,
  cfg: ListenerConfig,
  family: NetlinkFamily,
  nl: NetlinkKernelConfig,
  dump?: DumpSource,
  backupId?: string,
  keepLog = true,
): ListenerModel {
  return new Listener(id, cfg, family, nl, dump, backupId, keepLog);
}

class Listener implements ListenerModel {
  readonly socket: NetlinkSocket;
  readonly log: LogEntry[] = [];
  readonly view = new Map<string | number, ViewEntry>();
  readonly stats: ListenerStats = {
    received: { new: 0, update: 0, destroy: 0 },
    enobufs: 0,
    duplicates: 0,
    outOfOrder: 0,
    wrongDeletes: 0,
    resyncs: 0,
    bufferGrowths: 0,
  };
  running = true;
  private rng!: Stream;
  private budget = Infinity;
  private reading = false;
  private busy = false;
  private resyncAlarm!: Timer;
  private growthWarned = false;
  private maxGrowth = 0;
  readonly seenNew = new Set<number>();
  readonly seenDestroy = new Set<number>();
  lastChange = 0;
  private readonly newestSerialByTuple = new Map<number, number>();
  private firstCatch = true;
  private link: SyncLink | undefined;
  /** Readiness handler calls (nfct_catch / the read loop) and the events handled in each. */
  catches = 0;
  readonly perCatch: number[] = [];

  constructor(
    readonly id: string,
    readonly cfg: ListenerConfig,
    private readonly family: NetlinkFamily,
    private readonly nl: NetlinkKernelConfig,
    private readonly dump: DumpSource | undefined,
    private readonly backupId: string | undefined,
    private readonly keepLog: boolean,
  ) {
    let rcvbuf: RcvbufRequest = { kind: 'default' };
    let reliable = false;
    if (cfg.kind === 'raw') {
      reliable = cfg.broadcastError;
      if (cfg.rcvbufBytes > 0) rcvbuf = { kind: cfg.force ? 'SO_RCVBUFFORCE' : 'SO_RCVBUF', bytes: cfg.rcvbufBytes };
    } else if (cfg.kind === 'conntrack-e') {
      // -b: SO_RCVBUFFORCE on the event socket up to 1.4.6; from 1.4.7 it lands on the command
      // socket and the event socket keeps rmem_default (docs/kernel-facts.md#conntrack-e).
      if (cfg.bufferSize > 0 && (cfg.version === '1.4.5' || cfg.version === '1.4.6'))
        rcvbuf = { kind: 'SO_RCVBUFFORCE', bytes: cfg.bufferSize };
    } else {
      reliable = cfg.eventsReliable;
      const size = cfg.netlinkBufferSize;
      if (cfg.version === '0.9.14') {
        if (size > 0) rcvbuf = { kind: 'SO_RCVBUFFORCE', bytes: size };
      } else if (size > 0 && size <= cfg.maxGrowth) rcvbuf = { kind: 'SO_RCVBUFFORCE', bytes: Math.floor(size / 2) }; // halved since 2010
    }
    const noEnobufs = cfg.kind === 'raw' ? cfg.noEnobufs : reliable; // conntrackd sets both (kernel-facts#conntrackd-resync)
    this.socket = new NetlinkSocket(id, { groups: cfg.groups, broadcastError: reliable, noEnobufs, rcvbuf }, nl);
    if (cfg.kind === 'conntrackd')
      this.maxGrowth = cfg.version === '0.9.14' ? Math.max(cfg.maxGrowth, this.socket.rcvbuf) : cfg.maxGrowth;
    family.add(this.socket);
  }

  init(ctx: Ctx): void {
    this.rng = ctx.rng;
    if (this.cfg.kind === 'conntrackd' && this.cfg.sync.mode !== 'none' && this.backupId !== undefined) {
      this.link = new SyncLink(this.cfg.sync, this.backupId, ctx.stream('link'));
      ctx.counter(METRIC.syncLost);
    }
    ctx.counter(METRIC.listenerEnobufs);
    ctx.counter(METRIC.listenerResyncs);
    this.resyncAlarm = ctx.timer({ kind: 'resync' });
    const self = ctx.ref(ctx.self);
    this.socket.onReadable = (kctx) =>
      void kctx.send(self, { kind: 'wake' }, drawNs(this.cfg.reader.wakeupUs, this.rng));
    this.socket.waiting = true;
  }

  receive(msg: ListenerMsg, ctx: Ctx): void {
    if (!this.running) return;
    switch (msg.kind) {
      case 'wake':
        if (this.busy || this.reading) return;
        this.reading = true;
        this.newCatch();
        return this.step(ctx);
      case 'step':
        if (this.budget <= 0) {
          // conntrackd: EventIterationLimit reached; the fd is served again on the next main
          // loop iteration, after alarms due now.
          this.reading = false;
          ctx.send(ctx.self, { kind: 'wake' });
          return;
        }
        return this.step(ctx);
      case 'resync':
        return this.startResync(ctx);
      case 'resync-done':
        this.busy = false;
        this.reading = true;
        this.newCatch();
        return this.step(ctx);
    }
  }

  snapshot(): unknown {
    return {
      rcvbuf: this.socket.rcvbuf,
      queued: this.socket.queueLength,
      view: this.view.size,
      stats: structuredClone(this.stats),
      running: this.running,
    };
  }

  /** Starts one nfct_catch: conntrackd handles at most EventIterationLimit + 1 events in it. */
  private newCatch(): void {
    this.catches++;
    if (this.cfg.kind !== 'conntrackd') return;
    this.budget = this.firstCatch ? 1 : this.cfg.iterationLimit + 1; // the counter starts at 0 (kernel-facts#conntrackd-resync)
    this.firstCatch = false;
  }

  /** Reads until a message needs processing time, the socket is empty, or the tool exits. */
  private step(ctx: Ctx): void {
    for (;;) {
      const r = this.socket.recv();
      if (r.kind === 'empty') {
        this.reading = false;
        this.socket.waiting = true;
        return;
      }
      if (r.kind === 'error') {
        if (r.errno === ENOBUFS) this.onEnobufs(ctx);
        if (!this.running) return;
        continue;
      }
      this.handle(r.ev, ctx);
      this.budget--;
      this.perCatch[this.catches - 1] = (this.perCatch[this.catches - 1] ?? 0) + 1;
      ctx.send(
        ctx.self,
        { kind: 'step' },
        Math.round(drawNs(this.cfg.reader.costUs, this.rng) * this.cfg.reader.slowdown),
      );
      return;
    }
  }

  private onEnobufs(ctx: Ctx): void {
    this.stats.enobufs++;
    this.log.push({ t: ctx.now, kind: 'enobufs' });
    ctx.count(METRIC.listenerEnobufs);
    const cfg = this.cfg;
    if (cfg.kind === 'raw') return;
    if (cfg.kind === 'conntrack-e') {
      // "WARNING: We have hit ENOBUFS! We are losing events." ≤ 1.4.5 then exits (kernel-facts#conntrack-e).
      if (cfg.version === '1.4.5') {
        this.running = false;
        this.reading = false;
        this.family.remove(this.socket);
        this.log.push({ t: ctx.now, kind: 'exit' });
      }
      return;
    }
    this.grow(cfg);
    if (cfg.overrunResyncS > 0 && this.dump) ctx.modTimer(this.resyncAlarm, ctx.now + seconds(cfg.overrunResyncS)); // re-armed by every ENOBUFS
  }

  /** conntrackd's buffer growth on ENOBUFS, by version (docs/kernel-facts.md#conntrackd-buffer). */
  private grow(cfg: ConntrackdConfig): void {
    const cur = this.socket.rcvbuf;
    if (cfg.version === '0.9.14') {
      if (this.growthWarned) return;
      let req = cur;
      if (cur > this.maxGrowth) {
        req = this.maxGrowth;
        this.growthWarned = true;
      }
      this.socket.setRcvbuf({ kind: 'SO_RCVBUFFORCE', bytes: req });
    } else {
      if (2 * cur > this.maxGrowth) return; // "cannot be doubled further" (logged once)
      this.socket.setRcvbuf({ kind: 'SO_RCVBUFFORCE', bytes: cur });
    }
    if (this.socket.rcvbuf > cur) this.stats.bufferGrowths++;
  }

  key(ev: { tuple: number; id: number }): string | number {
    const c = this.cfg;
    const byId = c.kind === 'conntrackd' && c.version !== '1.4.7' && c.version !== '1.4.8';
    return byId ? `${ev.tuple}/${ev.id}` : ev.tuple;
  }

  /** Applies one event to the counters and the view (conntrackd's cache rules, docs/kernel-facts.md#conntrackd-cache). */
  private handle(ev: CtEvent, ctx: Ctx): void {
    if (this.keepLog) this.log.push({ t: ctx.now, kind: 'msg', ev });
    this.lastChange = ctx.now;
    this.stats.received[ev.type]++;
    const key = this.key(ev);
    if (ev.type === 'destroy') {
      if (this.seenDestroy.has(ev.serial)) this.stats.duplicates++;
      this.seenDestroy.add(ev.serial);
      if ((this.newestSerialByTuple.get(ev.tuple) ?? 0) > ev.serial) this.stats.outOfOrder++;
      const obj = this.view.get(key);
      if (obj !== undefined) {
        if (obj.serial !== ev.serial) this.stats.wrongDeletes++;
        this.view.delete(key);
        this.link?.send(ctx, 'del', key, obj);
      }
      return;
    }
    if (ev.type === 'new') {
      if (this.seenNew.has(ev.serial)) this.stats.duplicates++;
      this.seenNew.add(ev.serial);
      if ((this.newestSerialByTuple.get(ev.tuple) ?? 0) < ev.serial) this.newestSerialByTuple.set(ev.tuple, ev.serial);
    }
    const entry = { tuple: ev.tuple, id: ev.id, serial: ev.serial };
    this.view.set(key, entry);
    this.link?.send(ctx, ev.type === 'new' ? 'new' : 'upd', key, entry);
  }

  /** conntrackd resync: dump, apply every entry, purge objects the kernel no longer has (docs/kernel-facts.md#conntrackd-resync). */
  private startResync(ctx: Ctx): void {
    if (this.cfg.kind !== 'conntrackd' || !this.dump) return;
    const live = this.dump.liveEntries();
    // The dump arrives on the resync socket (rmem_default), flow-controlled, read to the end in
    // this one handler call; the entries are those of the table when it started.
    const stream = new DumpStream(
      live.length,
      this.nl.rmemDefault,
      this.nl.admission,
      DUMP_ENTRIES_PER_SKB,
      DUMP_SKB_TRUESIZE,
    );
    let read = 0;
    for (let n = stream.recv(); n > 0; n = stream.recv()) read += n;
    if (read !== live.length) throw new Error('dump lost entries'); // cannot happen: flow control
    const liveKeys = new Set<string | number>();
    let added = 0;
    for (const e of live) {
      const k = this.key(e);
      liveKeys.add(k);
      if (!this.view.has(k)) {
        added++;
        this.link?.send(ctx, 'new', k, e);
      }
      this.view.set(k, e);
    }
    const cacheSize = this.view.size;
    let purged = 0;
    for (const k of [...this.view.keys()]) {
      if (!liveKeys.has(k)) {
        this.link?.send(ctx, 'del', k, this.view.get(k)!);
        this.view.delete(k);
        purged++;
      }
    }
    this.stats.resyncs++;
    this.lastChange = ctx.now;
    this.log.push({ t: ctx.now, kind: 'resync', added, purged });
    ctx.count(METRIC.listenerResyncs);
    // The event socket is not read until the dump and the purge are done.
    this.busy = true;
    this.reading = false;
    ctx.send(
      ctx.self,
      { kind: 'resync-done' },
      Math.round((live.length + cacheSize) * this.cfg.resyncUsPerEntry * 1e3),
    );
  }
}
