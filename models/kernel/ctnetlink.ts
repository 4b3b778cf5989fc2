// The event half of net/netfilter/nf_conntrack_netlink.c: ctnetlink_conntrack_event builds one
// message for a delivery call and broadcasts it to the group's sockets
// (docs/kernel-facts.md#ctnetlink).
import type { KernelCore } from './strategies.js';
import { ENOBUFS, IPS, messageFor, type CtEvent } from './events.js';
import { PROTO_TCP, ST } from './table.js';

/**
 * ctnetlink_conntrack_event: one message for `events`; returns -1 iff a NETLINK_BROADCAST_ERROR
 * listener refused it and the era acts on that (≤ 2.6.30 ignores the result), else 0.
 */
export function ctnetlinkEvent(core: KernelCore, slot: number, events: number, portid: number): number {
  const m = messageFor(events, core.bits);
  if (m === null || !core.sink.hasListeners(m.group)) return 0; // nothing built, nothing missed
  const t = core.table;
  const proto = t.proto[slot] === PROTO_TCP ? 'tcp' : 'udp';
  // A message every socket refuses is not built (the result and the sockets' state are the same).
  let r = core.sink.refuseAll?.(m.group, m.type, proto, core.ctx);
  if (r === undefined) {
    const ev: CtEvent = {
      type: m.type,
      group: m.group,
      flags: m.flags,
      events,
      id: t.id[slot]!,
      tuple: t.origTuple[slot]!,
      proto,
      portid,
      serial: t.serial[slot]!,
      sentAt: core.ctx.now,
      status: ipsStatus(t.status[slot]!),
      timeoutS: remainingS(core, slot),
      tcpState: t.tcpState[slot]!,
    };
    r = core.sink.broadcast(ev, core.ctx);
  }
  const c = core.eventCounters[m.type];
  c.attempts.add();
  if (r === ENOBUFS) c.failures.add();
  if (r === ENOBUFS && core.era.reliable) return -1;
  if (m.type === 'new') core.truth.newSent(t.serial[slot]!);
  return 0;
}

/** ctnetlink_dump_status: the model's status bits as the kernel's IPS_* bits. */
function ipsStatus(st: number): number {
  return (
    (st & ST.CONFIRMED ? IPS.CONFIRMED : 0) |
    (st & ST.SEEN_REPLY ? IPS.SEEN_REPLY : 0) |
    (st & ST.ASSURED ? IPS.ASSURED : 0) |
    (st & ST.DYING ? IPS.DYING : 0)
  );
}

/**
 * ctnetlink_dump_timeout: seconds to expiry, truncated, never negative (timer eras: the timer's
 * expires − jiffies; gc eras: ct->timeout − nfct_time_stamp, here at ns rather than jiffy grain).
 */
function remainingS(core: KernelCore, slot: number): number {
  const t = core.table;
  if (t.expiry === 'timer') return Math.max(0, Math.floor((t.expiresJ[slot]! - core.time.nowJ()) / core.cfg.hz));
  return Math.max(0, Math.floor((t.deadlineNs[slot]! - core.ctx.now) / 1e9));
}
