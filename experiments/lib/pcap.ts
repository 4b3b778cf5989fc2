// pcap files of netlink messages, as an nlmon capture stores them: LINKTYPE_NETLINK (253),
// each record a 16-byte pseudo-header (ARPHRD_NETLINK, the netlink protocol) then the message
// (https://www.tcpdump.org/linktypes/LINKTYPE_NETLINK.html). Nanosecond timestamps (magic
// a1b23c4d), so simulated time is kept exactly.
const LINKTYPE_NETLINK = 253;
const ARPHRD_NETLINK = 824;
const NETLINK_NETFILTER = 12;
/** sll_pkttype of a message the kernel sent (netlink_deliver_tap: PACKET_KERNEL). */
const PACKET_KERNEL = 7;

/** One captured message at simulated time `tNs`. */
export interface PcapRecord {
  readonly tNs: number;
  readonly data: Uint8Array;
}

/** The whole file: global header, then one record per message, in the given order. */
export function pcapFile(records: readonly PcapRecord[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b23c4d, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(262144, 16); // snaplen
  head.writeUInt32LE(LINKTYPE_NETLINK, 20);
  const parts: Buffer[] = [head];
  for (const r of records) {
    const rec = Buffer.alloc(16 + 16);
    const sec = Math.floor(r.tNs / 1e9);
    rec.writeUInt32LE(sec, 0);
    rec.writeUInt32LE(r.tNs - sec * 1e9, 4);
    rec.writeUInt32LE(16 + r.data.length, 8);
    rec.writeUInt32LE(16 + r.data.length, 12);
    rec.writeUInt16BE(PACKET_KERNEL, 16);
    rec.writeUInt16BE(ARPHRD_NETLINK, 18);
    rec.writeUInt16BE(NETLINK_NETFILTER, 30);
    parts.push(rec, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}
