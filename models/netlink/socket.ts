// One NETLINK_NETFILTER socket's receive side, and the protocol's broadcast (the EventSink the
// kernel model talks to). Kernel facts: docs/kernel-facts.md#netlink-admission to #rcvbuf
// (af_netlink.c: netlink_broadcast, do_one_broadcast, netlink_broadcast_deliver,
// netlink_overrun, netlink_rcv_wake, netlink_recvmsg).
//
// Simplifications: skb clone failures and message-build (allocation) failures are not modelled,
// nor BPF filters; every listener is in the kernel's network namespace.
import type { Ctx } from '../../sim/index.js';
import {
  ENOBUFS,
  ESRCH,
  type CtEvent,
  type EventSink,
  type Group,
  type MessageType,
  type Proto,
} from '../kernel/events.js';
import type { NetlinkKernelConfig, Truesize } from './config.js';

/** How the application sized the receive buffer. */
export type RcvbufRequest =
  | { readonly kind: 'default' }
  | { readonly kind: 'SO_RCVBUF'; readonly bytes: number }
  | { readonly kind: 'SO_RCVBUFFORCE'; readonly bytes: number };

/**
 * sk_rcvbuf after setsockopt (docs/kernel-facts.md#rcvbuf): SO_RCVBUF caps the value at rmem_max,
 * SO_RCVBUFFORCE does not; both double it and raise it to SOCK_MIN_RCVBUF.
 */
export function rcvbufFor(req: RcvbufRequest, nl: NetlinkKernelConfig): number {
  if (req.kind === 'default') return nl.rmemDefault;
  let v = Math.min(req.bytes, 0x3fffffff); // INT_MAX / 2
  if (req.kind === 'SO_RCVBUF') v = Math.min(v, nl.rmemMax);
  return Math.max(2 * v, nl.sockMinRcvbuf);
}

/**
 * How many skbs of truesize `truesize` an empty, uncongested queue of `rcvbuf` admits
 * (docs/kernel-facts.md#netlink-admission): variant A checks before charging, so one more than
 * fits; variant B charges first, but always takes one skb into an empty queue.
 */
export function eventsThatFit(rcvbuf: number, truesize: number, admission: 'A' | 'B'): number {
  return admission === 'A' ? Math.floor(rcvbuf / truesize) + 1 : Math.max(1, Math.floor(rcvbuf / truesize));
}

/** truesize of one event skb for the era (docs/kernel-facts.md#rcvbuf). */
export function truesizeOf(ev: CtEvent, t: Truesize): number {
  return truesizeFor(ev.type, ev.proto, t);
}

/** truesize of a message of `type` about a `proto` conntrack. */
export function truesizeFor(type: MessageType, proto: Proto, t: Truesize): number {
  const tcp = proto === 'tcp';
  if (type === 'destroy') return tcp ? t.destroyTcp : t.destroyUdp;
  if (type === 'new') return tcp ? t.newTcp : t.newUdp;
  return tcp ? t.updateTcp : t.updateUdp;
}

/** What one recvmsg returns. */
export type RecvResult =
  | { readonly kind: 'data'; readonly ev: CtEvent }
  | { readonly kind: 'error'; readonly errno: number }
  | { readonly kind: 'empty' }; // EAGAIN on a non-blocking socket

/** Options of a socket. */
export interface SocketOptions {
  /** Multicast groups (1 NEW, 2 UPDATE, 3 DESTROY). */
  readonly groups: readonly Group[];
  /** NETLINK_BROADCAST_ERROR. */
  readonly broadcastError: boolean;
  /** NETLINK_NO_ENOBUFS. */
  readonly noEnobufs: boolean;
  readonly rcvbuf: RcvbufRequest;
}

/** The receive queue of one socket, with its accounting and congestion state. */
export class NetlinkSocket {
  rcvbuf: number;
  /** sk_rmem_alloc: truesize of queued skbs. */
  rmem = 0;
  /** NETLINK_S_CONGESTED. */
  congested = false;
  /** sk_err (0 or ENOBUFS), returned by the next recvmsg before any data. */
  pendingError = 0;
  /** sk_drops: every refused broadcast (the Drops column of /proc/net/netlink). */
  drops = 0;
  broadcastError: boolean;
  noEnobufs: boolean;
  readonly groups: Set<Group>;
  /** Called when the socket becomes readable (data or an error) while the reader waits for it. */
  onReadable: ((ctx: Ctx) => void) | undefined;
  /** True while the reader sleeps in poll(); cleared when it is woken. */
  waiting = false;
  private readonly q: { ev: CtEvent; truesize: number }[] = [];
  private qHead = 0;

  constructor(
    readonly id: string,
    opts: SocketOptions,
    private readonly nl: NetlinkKernelConfig,
  ) {
    this.groups = new Set(opts.groups);
    this.broadcastError = opts.broadcastError;
    this.noEnobufs = opts.noEnobufs;
    this.rcvbuf = rcvbufFor(opts.rcvbuf, nl);
  }

  /** Queued skbs. */
  get queueLength(): number {
    return this.q.length - this.qHead;
  }

  /** setsockopt(SO_RCVBUF / SO_RCVBUFFORCE); returns what getsockopt would report. */
  setRcvbuf(req: RcvbufRequest): number {
    this.rcvbuf = rcvbufFor(req, this.nl);
    return this.rcvbuf;
  }

  /** setsockopt(NETLINK_NO_ENOBUFS): enabling it also clears the congestion bit (docs/kernel-facts.md#congestion). */
  setNoEnobufs(on: boolean): void {
    this.noEnobufs = on;
    if (on) this.congested = false;
  }

  /**
   * netlink_broadcast_deliver: admission (variant A or B), then charge and enqueue; on refusal
   * netlink_overrun. Returns true if the skb was queued.
   */
  deliver(ev: CtEvent, ctx: Ctx): boolean {
    const T = truesizeOf(ev, this.nl.truesize);
    if (this.refuses(T)) {
      this.overrun(ctx);
      return false;
    }
    this.rmem += T;
    this.q.push({ ev, truesize: T });
    this.wake(ctx);
    return true;
  }

  /** Whether admission refuses an skb of truesize `T` now (congested, or no room by the era's rule). */
  refuses(T: number): boolean {
    if (this.congested) return true;
    return this.nl.admission === 'A' ? this.rmem > this.rcvbuf : this.rmem !== 0 && this.rmem + T > this.rcvbuf;
  }

  /** netlink_overrun: one ENOBUFS per congestion episode, a drop for every refusal. */
  overrun(ctx: Ctx): void {
    if (!this.noEnobufs && !this.congested) {
      this.congested = true;
      this.pendingError = ENOBUFS;
      this.wake(ctx); // sk_error_report: poll() reports the socket readable
    }
    this.drops++;
  }

  private wake(ctx: Ctx): void {
    if (this.waiting && this.onReadable) {
      this.waiting = false;
      this.onReadable(ctx);
    }
  }

  /**
   * netlink_recvmsg: a pending error first (and cleared), else the oldest skb (its truesize is
   * released); then netlink_rcv_wake clears the congestion bit if the queue is now empty.
   */
  recv(): RecvResult {
    let r: RecvResult;
    if (this.pendingError !== 0) {
      r = { kind: 'error', errno: this.pendingError };
      this.pendingError = 0;
    } else if (this.qHead < this.q.length) {
      const item = this.q[this.qHead]!;
      this.q[this.qHead++] = undefined as never;
      if (this.qHead > 1024 && this.qHead * 2 > this.q.length) {
        this.q.splice(0, this.qHead);
        this.qHead = 0;
      }
      this.rmem -= item.truesize;
      r = { kind: 'data', ev: item.ev };
    } else r = { kind: 'empty' };
    if (this.queueLength === 0) this.congested = false;
    return r;
  }

  /** True if a recv would return something now. */
  get readable(): boolean {
    return this.pendingError !== 0 || this.queueLength > 0;
  }
}

/**
 * The NETLINK_NETFILTER protocol's multicast list: the EventSink of the kernel model. Sockets
 * are tried newest subscriber first, as on mc_list.
 */
export class NetlinkFamily implements EventSink {
  private readonly sockets: NetlinkSocket[] = [];
  /** Broadcasts that returned -ENOBUFS (a reliable listener refused). */
  failures = 0;
  /** Broadcasts some socket queued (the sender's context then paid for a queued skb and a wake-up). */
  deliveries = 0;
  /** Optional observer of every broadcast and its result (for traces and tests). */
  tap: ((ev: CtEvent, result: number) => void) | undefined;

  constructor(readonly nl: NetlinkKernelConfig) {}

  /** Subscribes a socket (bind / NETLINK_ADD_MEMBERSHIP). */
  add(sock: NetlinkSocket): void {
    this.sockets.unshift(sock);
  }

  /** Closes a socket: it leaves every group. */
  remove(sock: NetlinkSocket): void {
    const i = this.sockets.indexOf(sock);
    if (i >= 0) this.sockets.splice(i, 1);
  }

  hasListeners(group: Group): boolean {
    for (const s of this.sockets) if (s.groups.has(group)) return true;
    return false;
  }

  anyEventListener(): boolean {
    return this.hasListeners(1) || this.hasListeners(2) || this.hasListeners(3);
  }

  /**
   * The broadcast of a `type` message about a `proto` conntrack to `group` when every socket of
   * the group refuses it, without the message: each socket's netlink_overrun, then the result
   * (-ENOBUFS if a BROADCAST_ERROR socket is among them, else -ESRCH). Undefined, and nothing
   * done, when some socket would take it or a tap watches every message: then `broadcast`.
   * Saves building an event that no socket takes (a retried DESTROY into full buffers).
   */
  refuseAll(group: Group, type: MessageType, proto: Proto, ctx: Ctx): number | undefined {
    if (this.tap !== undefined) return undefined;
    const T = truesizeFor(type, proto, this.nl.truesize);
    for (const s of this.sockets) if (s.groups.has(group) && !s.refuses(T)) return undefined;
    let failure = false;
    for (const s of this.sockets) {
      if (!s.groups.has(group)) continue;
      s.overrun(ctx);
      if (s.broadcastError) failure = true;
    }
    if (failure) this.failures++;
    return failure ? ENOBUFS : ESRCH;
  }

  /** netlink_broadcast (docs/kernel-facts.md#broadcast-error): -ENOBUFS iff a BROADCAST_ERROR socket refused it; else 0 if anyone took it; else -ESRCH. */
  broadcast(ev: CtEvent, ctx: Ctx): number {
    let delivered = false;
    let failure = false;
    for (const s of this.sockets) {
      if (!s.groups.has(ev.group)) continue;
      if (s.deliver(ev, ctx)) delivered = true;
      else if (s.broadcastError) failure = true;
    }
    const result = failure ? ENOBUFS : delivered ? 0 : ESRCH;
    if (failure) this.failures++;
    if (delivered) this.deliveries++;
    this.tap?.(ev, result);
    return result;
  }
}

/**
 * A table dump on its own socket (conntrack -L, conntrackd resync): netlink_dump fills one skb
 * of up to `perSkb` entries at a time while the socket has room, and resumes inside the
 * reader's recvmsg once the queue has drained to rcvbuf/2. Dump replies are flow-controlled,
 * never dropped: no overrun, no ENOBUFS, no drop counter (docs/kernel-facts.md#netlink-admission).
 */
export class DumpStream {
  rmem = 0;
  private next = 0;
  private readonly q: { entries: number; truesize: number }[] = [];
  /** Times the dump paused because the socket was full. */
  pauses = 0;

  constructor(
    private readonly total: number,
    private readonly rcvbuf: number,
    private readonly admission: 'A' | 'B' | '2.6.31',
    private readonly perSkb: number,
    private readonly skbTruesize: number,
  ) {
    this.fill();
  }

  /** Entries not yet read. */
  get remaining(): number {
    return this.total - this.next + this.q.reduce((n, s) => n + s.entries, 0);
  }

  /** Skbs queued now. */
  get queued(): number {
    return this.q.length;
  }

  private canFill(): boolean {
    // 2.6.31: sock_rmalloc needs rmem < rcvbuf; 4.x–6.15 skip while rmem >= rcvbuf;
    // 6.16+: skip if the queue is non-empty and rmem_after >= rcvbuf.
    if (this.admission === 'B') return this.q.length === 0 || this.rmem + this.skbTruesize < this.rcvbuf;
    return this.rmem < this.rcvbuf;
  }

  private fill(): void {
    while (this.next < this.total) {
      if (!this.canFill()) {
        this.pauses++;
        return;
      }
      const n = Math.min(this.perSkb, this.total - this.next);
      this.next += n;
      this.q.push({ entries: n, truesize: this.skbTruesize });
      this.rmem += this.skbTruesize;
    }
  }

  /** recvmsg on the dump socket: entries in the skb read (0 when the dump is over). */
  recv(): number {
    const skb = this.q.shift();
    if (skb === undefined) return 0;
    this.rmem -= skb.truesize;
    if (this.rmem <= this.rcvbuf / 2) this.fill();
    return skb.entries;
  }
}
