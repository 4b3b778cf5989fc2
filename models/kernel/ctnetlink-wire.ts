// The bytes of a ctnetlink event message, as net/netfilter/nf_conntrack_netlink.c's
// ctnetlink_conntrack_event builds them (docs/kernel-facts.md#ctnetlink-wire): nlmsghdr,
// nfgenmsg, then CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, CTA_ID, CTA_STATUS, CTA_TIMEOUT and, for TCP,
// CTA_PROTOINFO. The 6.18 layout is checked byte for byte against messages a live 6.18 kernel
// sent (test/models/kernel/ctnetlink-wire.test.ts); for older kernels it follows their source.
import type { CtEvent } from './events.js';
import { ENOBUFS } from './events.js';
import type { RealTuple } from '../workloads/addresses.js';
import { reverse } from '../workloads/addresses.js';

/** Kernel release features that change the layout. */
export interface WireOptions {
  /** nla_nest_start sets NLA_F_NESTED on every nest (5.2+, ae0be8de9a53). */
  readonly nestedFlag: boolean;
  /** DESTROY carries CTA_TIMEOUT (when not 0) and CTA_PROTOINFO (5.3+). */
  readonly destroyDetails: boolean;
}

/** The layout options of kernel release `version` ("6.18", "2.6.31"). */
export function wireOptions(version: string): WireOptions {
  const [a = 0, b = 0] = version.split('.').map(Number);
  const atLeast = (x: number, y: number): boolean => a > x || (a === x && b >= y);
  return { nestedFlag: atLeast(5, 2), destroyDetails: atLeast(5, 3) };
}

// include/uapi/linux/netlink.h, netfilter/nfnetlink.h, nfnetlink_conntrack.h
const NLA_F_NESTED = 0x8000;
const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_NEW = 0;
const IPCTNL_MSG_CT_DELETE = 2;
const NLMSG_ERROR = 2;
const CTA = { TUPLE_ORIG: 1, TUPLE_REPLY: 2, STATUS: 3, PROTOINFO: 4, TIMEOUT: 7, ID: 12 } as const;
const CTA_TUPLE = { IP: 1, PROTO: 2 } as const;
const CTA_IP = { V4_SRC: 1, V4_DST: 2, V6_SRC: 3, V6_DST: 4 } as const;
const CTA_PROTO = { NUM: 1, SRC_PORT: 2, DST_PORT: 3 } as const;
const CTA_PROTOINFO_TCP = 1;
const CTA_PROTOINFO_TCP_ = {
  STATE: 1,
  WSCALE_ORIGINAL: 2,
  WSCALE_REPLY: 3,
  FLAGS_ORIGINAL: 4,
  FLAGS_REPLY: 5,
} as const;
const AF = { ipv4: 2, ipv6: 10 } as const;

/** A growing little-endian buffer with netlink attribute helpers (host order = x86's). */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.len++, v);
  }
  u16(v: number, be = false): void {
    this.room(2);
    this.view.setUint16(this.len, v, !be);
    this.len += 2;
  }
  u32(v: number, be = false): void {
    this.room(4);
    this.view.setUint32(this.len, v >>> 0, !be);
    this.len += 4;
  }
  bytes(b: readonly number[]): void {
    for (const x of b) this.u8(x);
  }
  pad(): void {
    while (this.len % 4) this.u8(0);
  }
  setU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  setU16(at: number, v: number): void {
    this.view.setUint16(at, v, true);
  }
  /** An attribute whose payload `body` writes; nla_len excludes the trailing padding. */
  attr(type: number, body: () => void): void {
    const start = this.len;
    this.u16(0);
    this.u16(type);
    body();
    this.setU16(start, this.len - start);
    this.pad();
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function putTuple(w: Writer, type: number, t: RealTuple, nest: number): void {
  w.attr(type | nest, () => {
    w.attr(CTA_TUPLE.IP | nest, () => {
      const v4 = t.family === 'ipv4';
      w.attr(v4 ? CTA_IP.V4_SRC : CTA_IP.V6_SRC, () => w.bytes(t.src));
      w.attr(v4 ? CTA_IP.V4_DST : CTA_IP.V6_DST, () => w.bytes(t.dst));
    });
    w.attr(CTA_TUPLE.PROTO | nest, () => {
      w.attr(CTA_PROTO.NUM, () => w.u8(t.protonum));
      w.attr(CTA_PROTO.SRC_PORT, () => w.u16(t.sport, true));
      w.attr(CTA_PROTO.DST_PORT, () => w.u16(t.dport, true));
    });
  });
}

/** What tcp_to_nlattr reports of each direction's window tracking (struct ip_ct_tcp_state). */
export interface TcpWindow {
  readonly wscaleOrig: number;
  readonly wscaleReply: number;
  /** IP_CT_TCP_FLAG_* of each direction (window scale 0x01, SACK 0x02, close init 0x04, …). */
  readonly flagsOrig: number;
  readonly flagsReply: number;
}

/**
 * The model tracks TCP states, not windows: these are the values a live 6.18 capture of a
 * Linux client and server on loopback showed per state (window scale 10, SACK permitted, the
 * client closing first; test/fixtures/wire/wire-6.18.json).
 */
export function typicalTcpWindow(state: number): TcpWindow {
  const w = (fo: number, fr: number, wr = 10): TcpWindow => ({
    wscaleOrig: 10,
    wscaleReply: wr,
    flagsOrig: fo,
    flagsReply: fr,
  });
  switch (state) {
    case 1: // SYN_SENT: nothing seen from the server yet
      return w(0x03, 0x00, 0);
    case 2: // SYN_RECV
      return w(0x03, 0x23);
    case 3: // ESTABLISHED
      return w(0x23, 0x23);
    case 4: // FIN_WAIT
      return w(0x37, 0x23);
    case 6: // LAST_ACK
      return w(0x27, 0x33);
    default:
      return w(0x27, 0x23);
  }
}

/** tcp_to_nlattr: the state, and (not on DESTROY) window scales and flags (mask 0). */
function putTcpProtoinfo(w: Writer, state: number, destroy: boolean, nest: number, win: TcpWindow): void {
  w.attr(CTA.PROTOINFO | nest, () => {
    w.attr(CTA_PROTOINFO_TCP | NLA_F_NESTED, () => {
      w.attr(CTA_PROTOINFO_TCP_.STATE, () => w.u8(state));
      if (destroy) return;
      w.attr(CTA_PROTOINFO_TCP_.WSCALE_ORIGINAL, () => w.u8(win.wscaleOrig));
      w.attr(CTA_PROTOINFO_TCP_.WSCALE_REPLY, () => w.u8(win.wscaleReply));
      w.attr(CTA_PROTOINFO_TCP_.FLAGS_ORIGINAL, () => w.u16(win.flagsOrig));
      w.attr(CTA_PROTOINFO_TCP_.FLAGS_REPLY, () => w.u16(win.flagsReply));
    });
  });
}

/**
 * The message the kernel sends for `ev` about the conntrack whose original tuple is `orig`.
 * `protoinfoBit` is the era's IPCT_PROTOINFO bit (NEW and UPDATE carry CTA_PROTOINFO only with it).
 */
export function encodeEvent(
  ev: CtEvent,
  orig: RealTuple,
  protoinfoBit: number,
  o: WireOptions,
  win: TcpWindow = typicalTcpWindow(ev.tcpState),
): Uint8Array {
  const w = new Writer();
  const nest = o.nestedFlag ? NLA_F_NESTED : 0;
  const destroy = ev.type === 'destroy';
  // nlmsghdr: length (patched below), type, flags, seq 0, pid = the portid that caused it.
  w.u32(0);
  w.u16((NFNL_SUBSYS_CTNETLINK << 8) | (destroy ? IPCTNL_MSG_CT_DELETE : IPCTNL_MSG_CT_NEW));
  w.u16(ev.flags);
  w.u32(0);
  w.u32(ev.portid);
  // nfgenmsg: family, NFNETLINK_V0, res_id 0 (big-endian).
  w.u8(AF[orig.family]);
  w.u8(0);
  w.u16(0, true);
  putTuple(w, CTA.TUPLE_ORIG, orig, nest);
  putTuple(w, CTA.TUPLE_REPLY, reverse(orig), nest);
  w.attr(CTA.ID, () => w.u32(ev.id, true));
  w.attr(CTA.STATUS, () => w.u32(ev.status, true));
  const tcp = orig.protonum === 6;
  if (destroy) {
    if (o.destroyDetails && ev.timeoutS > 0) w.attr(CTA.TIMEOUT, () => w.u32(ev.timeoutS, true));
    if (o.destroyDetails && tcp) putTcpProtoinfo(w, ev.tcpState, true, nest, win);
  } else {
    w.attr(CTA.TIMEOUT, () => w.u32(ev.timeoutS, true));
    if (tcp && ev.events & protoinfoBit) putTcpProtoinfo(w, ev.tcpState, false, nest, win);
  }
  w.setU32(0, w.len);
  return w.done();
}

/**
 * The fixture's ENOBUFS marker (not a kernel message: recvmsg fails without one): an
 * NLMSG_ERROR whose error is -ENOBUFS and whose quoted request header is all zeros.
 */
export function enobufsMarker(): Uint8Array {
  const w = new Writer();
  w.u32(36);
  w.u16(NLMSG_ERROR);
  w.u16(0);
  w.u32(0);
  w.u32(0);
  w.u32(ENOBUFS);
  for (let i = 0; i < 16; i++) w.u8(0);
  return w.done();
}
