// Conntrack event bits per era and the ctnetlink message they become.
// Sources: include/uapi/linux/netfilter/nf_conntrack_common.h (enum ip_conntrack_events) and
// ctnetlink_conntrack_event() in net/netfilter/nf_conntrack_netlink.c; docs/kernel-facts.md#ctnetlink.
import type { Ctx } from '../../sim/index.js';

/** The semantic events the model caches, mapped to each era's bit values. */
export interface EventBits {
  readonly NEW: number;
  readonly RELATED: number;
  readonly DESTROY: number;
  /** First reply-direction packet (E0: IPCT_STATUS). */
  readonly REPLY: number;
  /** Entry became ASSURED (E0: IPCT_STATUS). */
  readonly ASSURED: number;
  readonly PROTOINFO: number;
  readonly HELPER: number;
  readonly MARK: number;
  /** Timeout refresh: E0's IPCT_REFRESH, which ctnetlink ignores; 0 (no event) from 2.6.31. */
  readonly REFRESH: number;
  /** E0 only: bits that may form an UPDATE on their own (STATUS | PROTOINFO). */
  readonly updateMask: number;
}

/** ≤ 2.6.30: bitmask values of enum ip_conntrack_events. */
export const BITS_E0: EventBits = {
  NEW: 1 << 0,
  RELATED: 1 << 1,
  DESTROY: 1 << 2,
  REFRESH: 1 << 3,
  REPLY: 1 << 4, // IPCT_STATUS
  ASSURED: 1 << 4, // IPCT_STATUS
  PROTOINFO: 1 << 5,
  HELPER: 1 << 7,
  MARK: 1 << 12,
  updateMask: (1 << 4) | (1 << 5),
};

/** 2.6.31+: `1 << n` with the IPCT_* bit numbers. */
export const BITS_E1: EventBits = {
  NEW: 1 << 0,
  RELATED: 1 << 1,
  DESTROY: 1 << 2,
  REPLY: 1 << 3,
  ASSURED: 1 << 4,
  PROTOINFO: 1 << 5,
  HELPER: 1 << 6,
  MARK: 1 << 7,
  REFRESH: 0,
  updateMask: 0xffff,
};

/** Netlink multicast groups of NETLINK_NETFILTER (enum nfnetlink_groups). */
export const GROUP = { NEW: 1, UPDATE: 2, DESTROY: 3 } as const;
/** Netlink multicast group: 1 NFNLGRP_CONNTRACK_NEW, 2 _UPDATE, 3 _DESTROY. */
export type Group = 1 | 2 | 3;

/** nlmsg flags of a NEW message. */
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export type MessageType = 'new' | 'update' | 'destroy';

/** The three kinds of message (shared: every delivery attempt asks, most of them fail). */
const MESSAGES = {
  destroy: Object.freeze({ type: 'destroy', group: GROUP.DESTROY, flags: 0 }),
  new: Object.freeze({ type: 'new', group: GROUP.NEW, flags: NLM_F_CREATE | NLM_F_EXCL }),
  update: Object.freeze({ type: 'update', group: GROUP.UPDATE, flags: 0 }),
} as const;

/**
 * The one message a delivery call produces (checklist core#5, netlink#15): DESTROY if the
 * DESTROY bit is set, else NEW (CREATE|EXCL) if NEW or RELATED, else UPDATE; null when E0's
 * ctnetlink would send nothing (no STATUS/PROTOINFO bit) or the mask is empty.
 */
export function messageFor(
  events: number,
  bits: EventBits,
): { readonly type: MessageType; readonly group: Group; readonly flags: number } | null {
  if (events & bits.DESTROY) return MESSAGES.destroy;
  if (events & (bits.NEW | bits.RELATED)) return MESSAGES.new;
  if (events & bits.updateMask) return MESSAGES.update;
  return null;
}

/** Layer-4 protocol of a flow. */
export type Proto = 'udp' | 'tcp';

/**
 * One ctnetlink event message as broadcast to the listeners. `serial` is simulator-only ground
 * truth (unique per conntrack lifetime; the kernel's CTA_ID may be reused).
 */
export interface CtEvent {
  readonly type: MessageType;
  readonly group: Group;
  readonly flags: number;
  /** All event bits carried (delivered | missed). */
  readonly events: number;
  /** CTA_ID as the era forms it. */
  readonly id: number;
  /** Original-direction tuple (the workload's tuple number). */
  readonly tuple: number;
  readonly proto: Proto;
  /** nlmsg_pid: port id of the process that caused the deletion, or 0. */
  readonly portid: number;
  /** Simulator-only: unique id of this conntrack's lifetime. */
  readonly serial: number;
  /** Simulated time of this broadcast attempt (ns). */
  readonly sentAt: number;
  /** CTA_STATUS: the entry's IPS_* bits as the kernel numbers them (IPS_CONFIRMED 8, …). */
  readonly status: number;
  /** CTA_TIMEOUT: whole seconds to expiry when the message was built (0 once expired). */
  readonly timeoutS: number;
  /** TCP: enum tcp_conntrack state (CTA_PROTOINFO_TCP_STATE); 0 for UDP. */
  readonly tcpState: number;
}

/** The kernel's IPS_* status bits that events carry (include/uapi/linux/netfilter/nf_conntrack_common.h). */
export const IPS = { SEEN_REPLY: 1 << 1, ASSURED: 1 << 2, CONFIRMED: 1 << 3, DYING: 1 << 9 } as const;

/** Errno values as the kernel returns them (negative). */
export const ENOBUFS = -105;
export const ESRCH = -3;
export const EAGAIN = -11;

/**
 * Where the kernel model hands its events: the netlink model implements it. The kernel asks
 * "does anybody listen to group G" and "broadcast this; did a listener with
 * NETLINK_BROADCAST_ERROR refuse it" (docs/kernel-facts.md#broadcast-error).
 */
export interface EventSink {
  /** netlink_has_listeners(group). */
  hasListeners(group: Group): boolean;
  /** nf_ctnetlink_has_listener: some socket subscribed to any conntrack event group. */
  anyEventListener(): boolean;
  /**
   * netlink_broadcast: ENOBUFS, 0 or ESRCH. Runs synchronously in the caller's context; `ctx`
   * is the kernel's, used to wake readers.
   */
  broadcast(ev: CtEvent, ctx: Ctx): number;
  /**
   * Optional: when every socket of `group` would refuse a `type` message about a `proto`
   * conntrack, refuse it there (as `broadcast` would) and return the result; else undefined,
   * having done nothing. Lets the kernel skip building an event nobody takes.
   */
  refuseAll?(group: Group, type: MessageType, proto: Proto, ctx: Ctx): number | undefined;
  /** Broadcasts some socket queued so far (absent: not counted; a flush then charges no delivery cost). */
  readonly deliveries?: number;
}

/** A sink with no sockets: nothing listens, nothing is sent. */
export const NO_LISTENERS: EventSink = {
  hasListeners: () => false,
  anyEventListener: () => false,
  broadcast: () => ESRCH,
};
