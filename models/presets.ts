// Named kernel presets: complete, frozen configurations of the kernel model and its netlink
// layer, one per kernel version whose behaviour docs/kernel-facts.md describes. Users override
// field by field (immer `produce`, or `--set kernel.hz=1000`). Sources: docs/kernel-facts.md
// (eras at a glance, #table-defaults, #expiry, #rcvbuf).
import { freeze } from 'immer';
import { ConfigError } from '../sim/index.js';
import type { KernelConfig, Timeouts } from './kernel/config.js';
import type { NetlinkKernelConfig } from './netlink/config.js';

/** A kernel preset: the conntrack model plus the netlink behaviour of that kernel. */
export interface KernelPreset {
  /** One line: what this preset is, with the commit that defines its era. */
  readonly description: string;
  readonly kernel: KernelConfig;
  readonly netlink: NetlinkKernelConfig;
}

const GiB = 2 ** 30;

/**
 * Default nf_conntrack_buckets / nf_conntrack_max for a machine with `ramBytes` of usable RAM
 * (64-bit), per generation of the formula (docs/kernel-facts.md#table-defaults). Buckets are rounded up to 512.
 */
export function tableDefaults(
  ramBytes: number,
  generation: '<=3.19' | '4.0-5.14' | '5.15+',
): { buckets: number; max: number } {
  let buckets = Math.floor(ramBytes / 16384 / 8);
  if (generation === '5.15+') {
    if (ramBytes > GiB) buckets = 65536;
    if (ramBytes > 4 * GiB) buckets = 262144;
    buckets = Math.max(buckets, 1024);
  } else {
    if (ramBytes > GiB) buckets = 16384;
    if (generation === '4.0-5.14' && ramBytes > 4 * GiB) buckets = 65536;
    buckets = Math.max(buckets, 32);
  }
  buckets = Math.ceil(buckets / 512) * 512;
  return { buckets, max: generation === '5.15+' ? buckets : 4 * buckets };
}

/** The measuring VM: 23 GiB of RAM. */
const RAM = 23 * GiB;

const TCP = {
  synSentS: 120,
  synRecvS: 60,
  establishedS: 432000,
  finWaitS: 120,
  closeWaitS: 60,
  lastAckS: 30,
  timeWaitS: 120,
  closeS: 10,
};
const TIMEOUTS_OLD: Timeouts = { udpS: 30, udpStreamS: 180, udpStreamMinAgeS: 0, udpAssuredNeedsAge: false, tcp: TCP };
const TIMEOUTS_NEW: Timeouts = { udpS: 30, udpStreamS: 120, udpStreamMinAgeS: 2, udpAssuredNeedsAge: true, tcp: TCP };

// 2.6.31-era right-sized allocation: 64-aligned + sizeof(sk_buff) (≈680 TCP, ≈616 UDP; the
// docs/kernel-facts.md#rcvbuf marks these as estimates). ≤ 2.6.30 allocated NLMSG_GOODSIZE and trimmed.
const TRUESIZE_2631 = { newTcp: 680, newUdp: 616, updateTcp: 680, updateUdp: 616, destroyTcp: 680, destroyUdp: 616 };
const TRUESIZE_2630 = { newTcp: 428, newUdp: 380, updateTcp: 428, updateUdp: 380, destroyTcp: 372, destroyUdp: 372 };
// ~3.2+ on x86_64: kmalloc-1024 head + 256 = 1280 for every ordinary event (measured on 6.18).
const TRUESIZE_MODERN = {
  newTcp: 1280,
  newUdp: 1280,
  updateTcp: 1280,
  updateUdp: 1280,
  destroyTcp: 1280,
  destroyUdp: 1280,
};

const base: Omit<KernelConfig, 'version' | 'era'> = {
  hz: 250,
  cpus: 1,
  adminCpu: 0,
  ...tableDefaults(RAM, '<=3.19'),
  eventsSysctl: 1,
  retryTimeoutS: 15,
  retryJitter: true,
  workBatch: 16,
  missedResend: 'next-event',
  flushAttempts: 1,
  earlyDrop: 'chain-last-always',
  gc: 'none',
  gcAssistClosingTcp: false,
  refreshCoalesce: true,
  ecacheFixedTimeCheck: false,
  idScheme: 'address',
  timeouts: TIMEOUTS_OLD,
  timerWheel: 'exact',
  latency: { kind: 'none' },
  workerCostNs: 0,
  gcCostNs: 0,
  flushCostNs: 0,
};

const nl2631: NetlinkKernelConfig = {
  admission: 'A',
  sockMinRcvbuf: 256,
  rmemDefault: 124928,
  rmemMax: 124928,
  truesize: TRUESIZE_2631,
};
const nl3x: NetlinkKernelConfig = {
  admission: 'A',
  sockMinRcvbuf: 2304,
  rmemDefault: 212992,
  rmemMax: 212992,
  truesize: TRUESIZE_MODERN,
};

const PRESETS: Record<string, KernelPreset> = {
  'linux-2.6.30': {
    description:
      'E0: best-effort events, per-CPU single-slot event cache, DESTROY at the last reference (no reliable delivery yet)',
    kernel: { ...base, version: '2.6.30', era: 'E0' },
    netlink: { ...nl2631, truesize: TRUESIZE_2630 },
  },
  'linux-2.6.31': {
    description:
      'E1: the seed commit dd7669a92c (2009-06-13): missed cache, dying list, per-entry retry timer U[0, 15 s)',
    kernel: { ...base, version: '2.6.31', era: 'E1', flushAttempts: 2 },
    netlink: nl2631,
  },
  'linux-3.12': {
    description: 'E1 after c655bc6896b9 (one flush attempt) with early drop counting only delivered DESTROYs',
    kernel: { ...base, version: '3.12', era: 'E1', earlyDrop: 'chain-last-delivered' },
    netlink: nl3x,
  },
  'linux-3.17': {
    description: 'E2: 9500507c6138 (2014-06-10): per-netns delayed work over per-CPU dying lists, 1 s then 100 ms',
    kernel: { ...base, version: '3.17', era: 'E2', earlyDrop: 'chain-first' },
    netlink: nl3x,
  },
  'linux-4.9': {
    description:
      'E3: f330a7fdbe16/b87a2f9199ea (2016-08): no conntrack timer, gc worker, ecache state; 4.10 gc heuristics (4.9-rc details UNVERIFIED)',
    kernel: {
      ...base,
      version: '4.9',
      era: 'E3',
      earlyDrop: 'buckets',
      timerWheel: 'wheel-4.8',
      gc: 'gc-4.10',
      refreshCoalesce: false,
      ...tableDefaults(RAM, '4.0-5.14'),
    },
    netlink: nl3x,
  },
  'linux-5.19': {
    description:
      'E4: 2ed3bf188b33 (2022-04-11): dedicated ecache dying list, LIFO, 1 s then 10 ms; nf_conntrack_events=2 (90d1daa45849)',
    kernel: {
      ...base,
      version: '5.19',
      era: 'E4',
      eventsSysctl: 2,
      workBatch: 32,
      missedResend: 'any-packet',
      earlyDrop: 'buckets',
      gc: 'gc-6.0',
      gcAssistClosingTcp: true,
      refreshCoalesce: false,
      idScheme: 'siphash',
      timeouts: TIMEOUTS_NEW,
      timerWheel: 'wheel-4.8',
      ...tableDefaults(RAM, '5.15+'),
    },
    netlink: nl3x,
  },
};

// Debian 12's 6.1 as shipped now (6.1.192-3): E4 as in 5.19, with two stable backports that
// upstream only has from later releases — Debian's changelog lists "netlink: Fix rmem check in
// netlink_broadcast_deliver()" under 6.1.147-1 (ChangeLog-6.1.146) and "netfilter: ecache: fix
// inverted time_after() check" under 6.1.180-1 (ChangeLog-6.1.178); the 6.1.192 source has both
// (af_netlink.c netlink_broadcast_deliver: charge, then `rmem == truesize || rmem <= rcvbuf`;
// nf_conntrack_ecache.c ecache_work_evict_list: `time_after(jiffies, stop)`). rmem_max is still
// SK_RMEM_MAX = 212992 (sock.c); SOCK_MIN_RCVBUF 2304 and the gc worker (avg_timeout, 6.0's) as
// 5.19/6.18. A Debian 6.1 older than 6.1.147-1 is this with netlink.admission=A and
// kernel.ecacheFixedTimeCheck=false (docs/kernel-facts.md#linux-6-1).
PRESETS['linux-6.1'] = {
  description:
    "Debian 12's 6.1.192: E4 with the stable backports of the 6.16 netlink admission (B) and of the ecache time-check fix; rmem_max 212992",
  kernel: { ...PRESETS['linux-5.19']!.kernel, version: '6.1', ecacheFixedTimeCheck: true },
  netlink: { ...nl3x, admission: 'B' },
};
PRESETS['linux-6.18'] = {
  description:
    'E4 as shipped in 6.18 (inverted time_after() in ecache_work), netlink admission B (6.16+), rmem_max 4 MiB',
  kernel: { ...PRESETS['linux-5.19']!.kernel, version: '6.18' },
  netlink: { ...nl3x, admission: 'B', rmemMax: 4194304 },
};
PRESETS['linux-6.18-fixed'] = {
  description: 'linux-6.18 plus b06163ce52ec "netfilter: ecache: fix inverted time_after() check" (2026-07-07)',
  kernel: { ...PRESETS['linux-6.18']!.kernel, version: '6.18-fixed', ecacheFixedTimeCheck: true },
  netlink: PRESETS['linux-6.18']!.netlink,
};

const FROZEN: Readonly<Record<string, KernelPreset>> = freeze(PRESETS, true);

/** Names of all presets, oldest kernel first. */
export const PRESET_NAMES: readonly string[] = Object.keys(FROZEN);

/** The frozen preset `name`; throws a ConfigError listing the known names. */
export function preset(name: string): KernelPreset {
  const p = FROZEN[name];
  if (p === undefined) throw new ConfigError('preset', name, `must be one of ${PRESET_NAMES.join(', ')}`);
  return p;
}
