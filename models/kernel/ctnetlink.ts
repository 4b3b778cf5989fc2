// The event half of net/netfilter/nf_conntrack_netlink.c: ctnetlink_conntrack_event builds one
// message for a delivery call and broadcasts it to the group's sockets
// (docs/kernel-facts.md#ctnetlink).
import type { KernelCore } from './strategies.js';
import { ENOBUFS, messageFor, type CtEvent } from './events.js';
import { PROTO_TCP } from './table.js';

/**
 * ctnetlink_conntrack_event: one message for `events`; returns -1 iff a NETLINK_BROADCAST_ERROR
 * listener refused it and the era acts on that (≤ 2.6.30 ignores the result), else 0.
 */
export function ctnetlinkEvent(core: KernelCore, slot: number, events: number, portid: number): number {
  const m = messageFor(events, core.bits);
  if (m === null || !core.sink.hasListeners(m.group)) return 0; // nothing built, nothing missed
  const t = core.table;
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
    sentAt: core.ctx.now,
  };
  const r = core.sink.broadcast(ev, core.ctx);
  const c = core.eventCounters[m.type];
  c.attempts.add();
  if (r === ENOBUFS) c.failures.add();
  if (r === ENOBUFS && core.era.reliable) return -1;
  if (m.type === 'new') core.truth.newSent(ev.serial);
  return 0;
}
