// Kernel configuration: one complete set of parameters per kernel version (validated by
// validate.ts). Presets (presets.ts) fill every field; users override field by field. UNVERIFIED items of the
// facts (docs/kernel-facts.md) are parameters whose default is the best value known.

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
  /** CPU time per entry of `conntrack -F` (an entry parked for redelivery costs this alone; 0: instantaneous). */
  readonly flushCostNs: number;
  /** Extra flush time per entry freed at once rather than parked (its release); absent: 0. */
  readonly flushFreeCostNs?: number;
  /**
   * Extra flush time per entry whose DESTROY a socket queued (queueing it and waking the reader,
   * in the flusher's context); absent: 0. A fast reader then paces the flush.
   */
  readonly flushDeliverCostNs?: number;
}
