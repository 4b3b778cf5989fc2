// Real tuples for a workload's flows. The kernel model works on tuple numbers (flow k of a
// workload uses tupleBase + 2·(k mod tupleSpace), its reply direction that number ^ 1); this
// module maps such a number to the addresses and ports a consumer of the events would read,
// so fixtures carry real tuples while the simulation, its fingerprints and CSVs stay as they
// are. The map is injective within a workload's range as long as the range holds enough
// tuples, which validation checks when the workload bounds its distinct tuples.
import ipaddr from 'ipaddr.js';
import { ConfigError, checkInt, checkObject, checkOneOf } from '../../sim/index.js';

/** Addresses and ports of a workload's flows, in the original direction. */
export interface AddressConfig {
  readonly family: 'ipv4' | 'ipv6';
  /** Client addresses, as a CIDR block; flow tuples take them in order, fastest-varying first. */
  readonly src: string;
  /** Server addresses, as a CIDR block. */
  readonly dst: string;
  /** Client ports, inclusive range [lo, hi]. */
  readonly sport: readonly [number, number];
  /** Server ports, inclusive range [lo, hi]. */
  readonly dport: readonly [number, number];
}

/** A flow's original-direction tuple as ctnetlink reports it. */
export interface RealTuple {
  readonly family: 'ipv4' | 'ipv6';
  /** IPPROTO_UDP 17 or IPPROTO_TCP 6. */
  readonly protonum: number;
  /** Addresses as 4 or 16 bytes, network order. */
  readonly src: readonly number[];
  readonly dst: readonly number[];
  readonly sport: number;
  readonly dport: number;
}

/** DNS-like clients of 10.0.0.0/16 asking one server: 65,536 × 64,512 distinct tuples. */
export const DEFAULT_ADDRESSES: AddressConfig = {
  family: 'ipv4',
  src: '10.0.0.0/16',
  dst: '10.255.0.1/32',
  sport: [1024, 65535],
  dport: [53, 53],
};

/** Checks an address config; `tuples` is how many distinct tuples the workload can use (0: unbounded). */
export function validateAddresses(v: unknown, path: string, tuples: number): AddressConfig {
  const o = checkObject(path, v, ['family', 'src', 'dst', 'sport', 'dport']);
  const family = checkOneOf(`${path}.family`, o.family, ['ipv4', 'ipv6']);
  const sizes: number[] = [];
  for (const k of ['src', 'dst'] as const) {
    const cidr = o[k];
    if (typeof cidr !== 'string' || !ipaddr.isValidCIDR(cidr))
      throw new ConfigError(`${path}.${k}`, cidr, `must be an ${family} CIDR block such as ${DEFAULT_ADDRESSES[k]}`);
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    if (addr.kind() !== family)
      throw new ConfigError(`${path}.${k}`, cidr, `must be an ${family} block (family is ${family})`);
    sizes.push(2 ** Math.min(48, (family === 'ipv4' ? 32 : 128) - bits));
  }
  for (const k of ['sport', 'dport'] as const) {
    const r = o[k];
    if (!Array.isArray(r) || r.length !== 2)
      throw new ConfigError(`${path}.${k}`, r, 'must be a range [lo, hi] of ports');
    const lo = checkInt(`${path}.${k}[0]`, r[0], { min: 1, max: 65535 });
    const hi = checkInt(`${path}.${k}[1]`, r[1], { min: lo, max: 65535 });
    sizes.push(hi - lo + 1);
  }
  const capacity = sizes.reduce((a, b) => a * b, 1);
  if (tuples > 0 && capacity < tuples)
    throw new ConfigError(
      path,
      `${capacity} tuples`,
      `must hold the workload's ${tuples} distinct tuples (widen src, dst or a port range)`,
    );
  return v as AddressConfig;
}

/** The block's first address as bytes and its size (capped at 2^48: more is never enumerated). */
function block(cidr: string): { base: readonly number[]; size: number } {
  const [addr, bits] = ipaddr.parseCIDR(cidr);
  const bytes = addr.toByteArray();
  const host = bytes.length * 8 - bits;
  // Clear the host bits: 10.0.0.7/16 is the block 10.0.0.0/16.
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bytes.length * 8 - host - i * 8));
    bytes[i]! &= (0xff << (8 - keep)) & 0xff;
  }
  return { base: bytes, size: 2 ** Math.min(48, host) };
}

/** base + offset, big-endian bytes (offset < 2^48). */
function addBytes(base: readonly number[], offset: number): number[] {
  const out = [...base];
  let carry = offset;
  for (let i = out.length - 1; i >= 0 && carry > 0; i--) {
    const v = out[i]! + (carry % 256);
    carry = Math.floor(carry / 256) + (v >> 8);
    out[i] = v & 0xff;
  }
  return out;
}

/**
 * The real tuple of the workload's `index`-th distinct tuple: a mixed-radix count over
 * (src address, sport, dst address, dport), the source address varying fastest.
 */
export function realTuple(a: AddressConfig, proto: 'udp' | 'tcp', index: number): RealTuple {
  const src = block(a.src);
  const dst = block(a.dst);
  const nSport = a.sport[1] - a.sport[0] + 1;
  const nDport = a.dport[1] - a.dport[0] + 1;
  let i = index;
  const s = i % src.size;
  i = Math.floor(i / src.size);
  const sp = i % nSport;
  i = Math.floor(i / nSport);
  const d = i % dst.size;
  i = Math.floor(i / dst.size);
  const dp = i % nDport;
  return {
    family: a.family,
    protonum: proto === 'tcp' ? 6 : 17,
    src: addBytes(src.base, s),
    dst: addBytes(dst.base, d),
    sport: a.sport[0] + sp,
    dport: a.dport[0] + dp,
  };
}

/** The reply direction of a tuple without NAT: addresses and ports swapped. */
export function reverse(t: RealTuple): RealTuple {
  return { ...t, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

/** An address as conntrack prints it (dotted quad, or RFC 5952 IPv6). */
export function formatAddress(bytes: readonly number[]): string {
  const a = ipaddr.fromByteArray([...bytes]);
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

/** What {@link tupleOf} needs of a workload. */
export interface TupleSource {
  readonly kind: 'udp' | 'tcp';
  readonly tupleBase: number;
  readonly tupleSpace: number;
  readonly addresses: AddressConfig;
}

/**
 * The real original-direction tuple of kernel tuple number `tuple` (either direction): that of
 * the workload with the highest tupleBase at or below it whose range holds it; undefined if none.
 */
export function tupleOf(workloads: readonly TupleSource[], tuple: number): RealTuple | undefined {
  const orig = tuple & ~1;
  let best: TupleSource | undefined;
  for (const w of workloads) {
    if (w.tupleBase > orig || (best && best.tupleBase >= w.tupleBase)) continue;
    if (w.tupleSpace > 0 && orig >= w.tupleBase + 2 * w.tupleSpace) continue;
    best = w;
  }
  return best && realTuple(best.addresses, best.kind, (orig - best.tupleBase) / 2);
}
