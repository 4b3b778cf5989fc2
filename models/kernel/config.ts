// Kernel configuration: one complete, validated set of parameters per kernel version. Presets
// (presets.ts) fill every field; users override field by field. UNVERIFIED items of the
// facts (docs/kernel-facts.md) are parameters whose default is the best value known.
import { checkBool, checkInt, checkNumber, checkObject, checkOneOf, ConfigError } from '../../sim/index.js';
import { eraModel, eraNames } from './eras.js';
import { HZ_VALUES } from './jiffies.js';

/** The kernel eras (models/kernel/eras.ts); a registered design adds its own name. */
export type Era = 'E0' | 'E1' | 'E2' | 'E3' | 'E4' | (string & {});

/** Early-drop algorithm (docs/kernel-facts.md#early-drop). */
export type EarlyDrop =
  /** ≤ 2.6.34: last non-ASSURED entry of whole chains, 8-node budget; counts as a drop even if its DESTROY failed. */
  | 'chain-last-always'
  /** ~2.6.37 – 3.14: same scan; a drop only if the victim's DESTROY was delivered. */
  | 'chain-last-delivered'
  /** 3.15 – 4.7: first (newest) eligible entry in chain order, 8 skipped nodes; a drop only if nf_ct_delete returned true. */
  | 'chain-first'
  /** 4.8+: up to 8 buckets, every eligible entry of a bucket deleted, success after a bucket with a drop. */
  | 'buckets';
export const EARLY_DROPS: readonly EarlyDrop[] = [
  'chain-last-always',
  'chain-last-delivered',
  'chain-first',
  'buckets',
];

/** gc worker generation (docs/kernel-facts.md#gc-worker); 'none' in the timer eras. */
export type GcGeneration = 'none' | 'gc-4.10' | 'gc-5.14' | 'gc-6.0';
export const GC_GENERATIONS: readonly GcGeneration[] = ['none', 'gc-4.10', 'gc-5.14', 'gc-6.0'];

/** Scheduling latency added to kernel timers and work items (seeded, default none). */
export type Latency =
  | { readonly kind: 'none' }
  | { readonly kind: 'constant'; readonly us: number }
  | { readonly kind: 'uniform'; readonly maxUs: number }
  | { readonly kind: 'exponential'; readonly meanUs: number };

/** TCP timeouts in seconds (nf_conntrack_tcp_timeout_*). */
export interface TcpTimeouts {
  readonly synSentS: number;
  readonly synRecvS: number;
  readonly establishedS: number;
  readonly finWaitS: number;
  readonly closeWaitS: number;
  readonly lastAckS: number;
  readonly timeWaitS: number;
  readonly closeS: number;
}

/** Timeouts in seconds and the UDP stream rules of the era (docs/kernel-facts.md#expiry). */
export interface Timeouts {
  readonly udpS: number;
  readonly udpStreamS: number;
  /** ≥ 5.0: the stream timeout applies only to packets this long after creation (0 before). */
  readonly udpStreamMinAgeS: number;
  /** ≥ ~5.16: ASSURED only for a post-reply packet at least udpStreamMinAgeS after creation. */
  readonly udpAssuredNeedsAge: boolean;
  readonly tcp: TcpTimeouts;
}

/** Everything the kernel model needs, for one network namespace. */
export interface KernelConfig {
  /** Kernel version this config describes (label only). */
  readonly version: string;
  readonly era: Era;
  /** CONFIG_HZ. */
  readonly hz: number;
  /** Number of CPUs; entries are assigned to CPUs by tuple hash (RSS). */
  readonly cpus: number;
  /** CPU that runs administrator commands (flush, delete) and the gc worker. */
  readonly adminCpu: number;
  /** nf_conntrack_buckets. */
  readonly buckets: number;
  /** nf_conntrack_max (0 = unlimited). */
  readonly max: number;
  /** net.netfilter.nf_conntrack_events: 0 never, 1 always, 2 only if a listener exists at creation (E4). E0 has no sysctl: 1. */
  readonly eventsSysctl: 0 | 1 | 2;
  /** E1: nf_conntrack_events_retry_timeout in seconds (default 15). */
  readonly retryTimeoutS: number;
  /** E1: retry after `random % timeout` (true, the kernel) or exactly `timeout` (an ablation). */
  readonly retryJitter: boolean;
  /** E2/E3: redeliveries per CPU per worker pass (16; 32 on 64-bit from commit 63f55acf7b47). */
  readonly workBatch: number;
  /** Missed events: re-sent only with a new cached event (≤ ~4.10) or by any later packet (≥ 4.12). */
  readonly missedResend: 'next-event' | 'any-packet';
  /** Immediate DESTROY attempts per entry on flush: 2 up to 3.11, 1 from 3.12. */
  readonly flushAttempts: 1 | 2;
  readonly earlyDrop: EarlyDrop;
  /** gc worker generation of the gc eras (E3+); 'none' in the timer eras. */
  readonly gc: GcGeneration;
  /** 4.12+: gc early-drop assist also kills TCP entries in closing states. */
  readonly gcAssistClosingTcp: boolean;
  /** Timer eras: a refresh moves the timer only if it moves by at least HZ. */
  readonly refreshCoalesce: boolean;
  /** E4: the July-2026 fix of the inverted time_after() check in ecache_work. */
  readonly ecacheFixedTimeCheck: boolean;
  /** CTA_ID: object address (≤ 5.0) or siphash of address, netns and original tuple (5.3+). */
  readonly idScheme: 'address' | 'siphash';
  readonly timeouts: Timeouts;
  /**
   * Timer wheel: 'exact' runs a timer on the tick of its expiry (the cascading wheel up to 4.7);
   * 'wheel-4.8' rounds the expiry up to its wheel level's granularity (4.8+, at least +1 jiffy).
   */
  readonly timerWheel: 'exact' | 'wheel-4.8';
  /** Lateness of timers and work items on a real machine (default none). */
  readonly latency: Latency;
  /** Simulated CPU time of one redelivery in ecache_work (E4 budget of 10 ms; default 0). */
  readonly workerCostNs: number;
  /** Simulated CPU time per entry visited by the gc worker (its 10 ms budget; default 0). */
  readonly gcCostNs: number;
  /** CPU time per entry of `conntrack -F`: the flush spreads over time (0: instantaneous). */
  readonly flushCostNs: number;
}

const KERNEL_KEYS = [
  'version',
  'era',
  'hz',
  'cpus',
  'adminCpu',
  'buckets',
  'max',
  'eventsSysctl',
  'retryTimeoutS',
  'retryJitter',
  'workBatch',
  'missedResend',
  'flushAttempts',
  'earlyDrop',
  'gc',
  'gcAssistClosingTcp',
  'refreshCoalesce',
  'ecacheFixedTimeCheck',
  'idScheme',
  'timeouts',
  'timerWheel',
  'latency',
  'workerCostNs',
  'gcCostNs',
  'flushCostNs',
] as const;

/** Validates a kernel config; throws a ConfigError naming the first bad field under `path`. */
export function validateKernel(cfg: unknown, path = 'kernel'): KernelConfig {
  const o = checkObject(path, cfg, KERNEL_KEYS);
  for (const k of KERNEL_KEYS) if (!(k in o)) throw new ConfigError(`${path}.${k}`, undefined, 'is required');
  const p = (k: string): string => `${path}.${k}`;
  if (typeof o.version !== 'string') throw new ConfigError(p('version'), o.version, 'must be a string');
  const era = checkOneOf(p('era'), o.era, eraNames());
  const model = eraModel(era);
  checkOneOf(p('hz'), o.hz, HZ_VALUES);
  const cpus = checkInt(p('cpus'), o.cpus, { min: 1, max: 256 });
  checkInt(p('adminCpu'), o.adminCpu, { min: 0, max: cpus - 1 });
  checkInt(p('buckets'), o.buckets, { min: 1, max: 2 ** 26 });
  checkInt(p('max'), o.max, { min: 0, max: 2 ** 31 - 1 });
  const ev = checkOneOf(p('eventsSysctl'), o.eventsSysctl, [0, 1, 2]);
  if (!model.eventsSysctlValues.includes(ev))
    throw new ConfigError(
      p('eventsSysctl'),
      ev,
      ev === 2
        ? `the value 2 (auto) exists only from 5.19 (era E4); use ${model.eventsSysctlValues.join(' or ')}`
        : `${era} (≤ 2.6.30) has no nf_conntrack_events sysctl: must be 1`,
    );
  // proc_dointvec_jiffies; 0 would make random % 0 divide by zero in the kernel.
  checkInt(p('retryTimeoutS'), o.retryTimeoutS, { min: 1, max: 86400 });
  checkBool(p('retryJitter'), o.retryJitter);
  checkInt(p('workBatch'), o.workBatch, { min: 1, max: 1024 });
  checkOneOf(p('missedResend'), o.missedResend, ['next-event', 'any-packet']);
  checkOneOf(p('flushAttempts'), o.flushAttempts, [1, 2]);
  checkOneOf(p('earlyDrop'), o.earlyDrop, EARLY_DROPS);
  const gc = checkOneOf(p('gc'), o.gc, GC_GENERATIONS);
  if (model.expiry === 'gc' && gc === 'none')
    throw new ConfigError(p('gc'), gc, `must name a gc generation: era ${era} has no conntrack timers`);
  if (model.expiry === 'timer' && gc !== 'none')
    throw new ConfigError(p('gc'), gc, `must be 'none': era ${era} expires entries with timers`);
  checkBool(p('gcAssistClosingTcp'), o.gcAssistClosingTcp);
  checkBool(p('refreshCoalesce'), o.refreshCoalesce);
  checkBool(p('ecacheFixedTimeCheck'), o.ecacheFixedTimeCheck);
  checkOneOf(p('idScheme'), o.idScheme, ['address', 'siphash']);
  validateTimeouts(o.timeouts, p('timeouts'));
  checkOneOf(p('timerWheel'), o.timerWheel, ['exact', 'wheel-4.8']);
  validateLatency(o.latency, p('latency'));
  checkInt(p('workerCostNs'), o.workerCostNs, { min: 0, max: 1e9 });
  checkInt(p('gcCostNs'), o.gcCostNs, { min: 0, max: 1e9 });
  checkInt(p('flushCostNs'), o.flushCostNs, { min: 0, max: 1e9 });
  return cfg as KernelConfig;
}

function validateTimeouts(v: unknown, path: string): void {
  const o = checkObject(path, v, ['udpS', 'udpStreamS', 'udpStreamMinAgeS', 'udpAssuredNeedsAge', 'tcp']);
  // The kernel refuses a zero timeout for these sysctls' meaning (an entry would die at once).
  checkInt(`${path}.udpS`, o.udpS, { min: 1 });
  checkInt(`${path}.udpStreamS`, o.udpStreamS, { min: 1 });
  checkInt(`${path}.udpStreamMinAgeS`, o.udpStreamMinAgeS, { min: 0, max: 60 });
  checkBool(`${path}.udpAssuredNeedsAge`, o.udpAssuredNeedsAge);
  const tcpKeys = ['synSentS', 'synRecvS', 'establishedS', 'finWaitS', 'closeWaitS', 'lastAckS', 'timeWaitS', 'closeS'];
  const t = checkObject(`${path}.tcp`, o.tcp, tcpKeys);
  for (const k of tcpKeys) checkInt(`${path}.tcp.${k}`, t[k], { min: 1 });
}

function validateLatency(v: unknown, path: string): void {
  const kind = checkOneOf(`${path}.kind`, (v as { kind?: unknown } | null)?.kind, [
    'none',
    'constant',
    'uniform',
    'exponential',
  ]);
  if (kind === 'none') checkObject(path, v, ['kind']);
  else if (kind === 'constant')
    checkNumber(`${path}.us`, checkObject(path, v, ['kind', 'us']).us, { min: 0, max: 1e7 });
  else if (kind === 'uniform')
    checkNumber(`${path}.maxUs`, checkObject(path, v, ['kind', 'maxUs']).maxUs, { min: 0, max: 1e7 });
  else checkNumber(`${path}.meanUs`, checkObject(path, v, ['kind', 'meanUs']).meanUs, { min: 0, max: 1e7 });
}
