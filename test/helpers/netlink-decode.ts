// A small independent reader of ctnetlink event messages, for tests: what a consumer would
// parse out of the bytes (it does not share code with the encoder it checks).
import type { CtEvent } from '../../models/kernel/events.js';
import type { RealTuple } from '../../models/workloads/addresses.js';

export interface DecodedEvent {
  readonly len: number;
  readonly msgType: number;
  readonly flags: number;
  readonly pid: number;
  readonly family: number;
  readonly orig: RealTuple;
  readonly reply: RealTuple;
  readonly id: number;
  readonly status: number;
  readonly timeout: number | undefined;
  readonly tcpState: number | undefined;
  /** CTA_PROTOINFO_TCP carries more than the state (NEW/UPDATE with IPCT_PROTOINFO). */
  readonly fullProtoinfo: boolean;
  readonly window: { wscaleOrig: number; wscaleReply: number; flagsOrig: number; flagsReply: number } | undefined;
  /** Top-level attribute types in order (NLA_F_NESTED kept). */
  readonly attrs: readonly number[];
}

interface Attr {
  type: number;
  data: Buffer;
}

function attrs(b: Buffer): Attr[] {
  const out: Attr[] = [];
  for (let off = 0; off + 4 <= b.length;) {
    const len = b.readUInt16LE(off);
    out.push({ type: b.readUInt16LE(off + 2), data: b.subarray(off + 4, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

const find = (as: Attr[], type: number): Attr | undefined => as.find((a) => (a.type & 0x3fff) === type);

function tuple(b: Buffer): RealTuple {
  const t = attrs(b);
  const ip = attrs(find(t, 1)!.data);
  const pr = attrs(find(t, 2)!.data);
  const v6 = find(ip, 3) !== undefined;
  return {
    family: v6 ? 'ipv6' : 'ipv4',
    src: [...find(ip, v6 ? 3 : 1)!.data],
    dst: [...find(ip, v6 ? 4 : 2)!.data],
    protonum: find(pr, 1)!.data[0]!,
    sport: find(pr, 2)!.data.readUInt16BE(0),
    dport: find(pr, 3)!.data.readUInt16BE(0),
  };
}

export function decodeEvent(hex: string): DecodedEvent {
  const b = Buffer.from(hex, 'hex');
  const top = attrs(b.subarray(20, b.readUInt32LE(0)));
  const pi = find(top, 4);
  const tcp = pi && attrs(find(attrs(pi.data), 1)!.data);
  const timeout = find(top, 7);
  return {
    len: b.readUInt32LE(0),
    msgType: b.readUInt16LE(4),
    flags: b.readUInt16LE(6),
    pid: b.readUInt32LE(12),
    family: b[16]!,
    orig: tuple(find(top, 1)!.data),
    reply: tuple(find(top, 2)!.data),
    id: find(top, 12)!.data.readUInt32BE(0),
    status: find(top, 3)!.data.readUInt32BE(0),
    timeout: timeout?.data.readUInt32BE(0),
    tcpState: tcp && find(tcp, 1)!.data[0],
    fullProtoinfo: tcp !== undefined && tcp.length > 1,
    window:
      tcp && tcp.length > 1
        ? {
            wscaleOrig: find(tcp, 2)!.data[0]!,
            wscaleReply: find(tcp, 3)!.data[0]!,
            flagsOrig: find(tcp, 4)!.data.readUInt16LE(0),
            flagsReply: find(tcp, 5)!.data.readUInt16LE(0),
          }
        : undefined,
    attrs: top.map((a) => a.type),
  };
}

/** The event a decoded message stands for (`protoinfoBit` set when it carries a full CTA_PROTOINFO). */
export function eventOf(d: DecodedEvent, protoinfoBit: number): CtEvent {
  const type = (d.msgType & 0xff) === 2 ? 'destroy' : d.flags & 0x600 ? 'new' : 'update';
  return {
    type,
    group: type === 'new' ? 1 : type === 'update' ? 2 : 3,
    flags: d.flags,
    events: d.fullProtoinfo ? protoinfoBit : 0,
    id: d.id,
    tuple: 0,
    proto: d.orig.protonum === 6 ? 'tcp' : 'udp',
    portid: d.pid,
    serial: 0,
    sentAt: 0,
    status: d.status,
    timeoutS: d.timeout ?? 0,
    tcpState: d.tcpState ?? 0,
  };
}
