// Layer-4 trackers (nf_conntrack_proto_udp.c, nf_conntrack_proto_tcp.c; docs/kernel-facts.md#expiry): UDP's
// unreplied/stream timeouts and ASSURED rule per era, and the TCP states that short flows pass
// through. Simplification: TCP sequence/window checks are not modelled; a packet's flags alone
// drive the state machine.
import type { Timeouts } from './config.js';
import { TCP } from './table.js';

/** TCP flags carried by a simulated packet (own encoding). */
export const TCPF = { SYN: 1, ACK: 2, FIN: 4, RST: 8 } as const;

/** What the tracker decided for one packet. */
export interface TrackResult {
  /** New timeout in seconds (refresh), or -1 for no refresh. */
  timeoutS: number;
  /** Set IPS_ASSURED (and cache IPCT_ASSURED) on this packet. */
  assure: boolean;
  /** New TCP state (same as before when unchanged). */
  state: number;
  /** Kill the entry now (TCP RST before any reply). */
  kill: boolean;
  /** Kill the old entry and re-run the lookup (SYN on TIME_WAIT/CLOSE → NF_REPEAT). */
  repeat: boolean;
}

/**
 * nf_conntrack_udp_packet. `seenReply` is the status *before* this packet (SEEN_REPLY is set
 * after the tracker ran, so the first reply is still "unreplied"); `ageS` is the time since
 * creation.
 */
export function trackUdp(t: Timeouts, seenReply: boolean, assured: boolean, ageS: number, out: TrackResult): void {
  out.kill = false;
  out.repeat = false;
  out.assure = false;
  if (!seenReply) {
    out.timeoutS = t.udpS;
    return;
  }
  const oldEnough = ageS >= t.udpStreamMinAgeS;
  out.timeoutS = oldEnough ? t.udpStreamS : t.udpS;
  if (!assured && (!t.udpAssuredNeedsAge || oldEnough)) out.assure = true;
}

/** Timeout of a TCP state in seconds. */
export function tcpTimeoutS(t: Timeouts, state: number): number {
  const tt = t.tcp;
  switch (state) {
    case TCP.SYN_SENT:
      return tt.synSentS;
    case TCP.SYN_RECV:
      return tt.synRecvS;
    case TCP.ESTABLISHED:
      return tt.establishedS;
    case TCP.FIN_WAIT:
      return tt.finWaitS;
    case TCP.CLOSE_WAIT:
      return tt.closeWaitS;
    case TCP.LAST_ACK:
      return tt.lastAckS;
    case TCP.TIME_WAIT:
      return tt.timeWaitS;
    default:
      return tt.closeS;
  }
}

/** True for the closing states that the gc early-drop assist may kill from 4.12. */
export function tcpClosing(state: number): boolean {
  return (
    state === TCP.FIN_WAIT ||
    state === TCP.CLOSE_WAIT ||
    state === TCP.LAST_ACK ||
    state === TCP.TIME_WAIT ||
    state === TCP.CLOSE
  );
}

/**
 * nf_conntrack_tcp_packet, simplified. `reply` is the packet's direction; `seenReply` the
 * status before this packet.
 */
export function trackTcp(
  t: Timeouts,
  state: number,
  flags: number,
  reply: boolean,
  seenReply: boolean,
  out: TrackResult,
): void {
  out.kill = false;
  out.repeat = false;
  out.assure = false;
  let next = state;
  if (flags & TCPF.RST) {
    if (!seenReply && !reply) {
      out.kill = true; // RST before any reply: the entry dies now
      out.state = state;
      out.timeoutS = -1;
      return;
    }
    next = TCP.CLOSE;
  } else if (flags & TCPF.SYN && !(flags & TCPF.ACK) && !reply) {
    if (state === TCP.TIME_WAIT || state === TCP.CLOSE) {
      out.repeat = true; // tcp_packet returns -NF_REPEAT after nf_ct_kill
      out.state = state;
      out.timeoutS = -1;
      return;
    }
    if (state === TCP.NONE) next = TCP.SYN_SENT;
  } else if (flags & TCPF.SYN && flags & TCPF.ACK && reply) {
    if (state === TCP.SYN_SENT) next = TCP.SYN_RECV;
  } else if (flags & TCPF.FIN) {
    if (state === TCP.ESTABLISHED || state === TCP.SYN_RECV) next = TCP.FIN_WAIT;
    else if (state === TCP.FIN_WAIT || state === TCP.CLOSE_WAIT) next = TCP.LAST_ACK;
  } else if (flags & TCPF.ACK) {
    if (state === TCP.SYN_RECV && !reply) {
      next = TCP.ESTABLISHED;
      if (seenReply) out.assure = true;
    } else if (state === TCP.FIN_WAIT) next = TCP.CLOSE_WAIT;
    else if (state === TCP.LAST_ACK) next = TCP.TIME_WAIT;
  }
  out.state = next;
  out.timeoutS = tcpTimeoutS(t, next);
}
