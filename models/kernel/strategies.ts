// The seams between the conntrack core and the era's strategies. The core (core.ts) implements
// KernelCore; an era (eras.ts) is a set of strategies built against it: an event cache, a
// DESTROY redelivery design and an expiry mechanism. A new era, or a user's own redelivery
// design, is written against these interfaces only (docs/architecture.md#adding-an-era).
import type { KernelWork } from '../cpu/work.js';
import type { Counter, Ctx, Stream } from '../../sim/index.js';
import type { KernelConfig, Timeouts } from './config.js';
import type { EventBits, EventSink } from './events.js';
import type { CtTable, SlotList } from './table.js';
import type { KernelTime } from './timers.js';
import type { TruthLog } from './truth.js';
import type { CtStats } from './types.js';

/** Kernel counters a strategy may bump (names in ../names.ts). */
export type KernelCounter =
  | 'retries'
  | 'expired'
  | 'parked'
  | 'redelivered'
  | 'flushed'
  | 'ecache_work_runs'
  | 'gc_runs'
  | 'table_full_drops'
  | 'early_drop_attempts'
  | 'gc_early_drops';

/** What the core offers its strategies: state, kernel time and timers, and the shared deletion steps. */
export interface KernelCore {
  readonly cfg: KernelConfig;
  readonly era: EraModel;
  readonly bits: EventBits;
  readonly table: CtTable;
  readonly stats: CtStats;
  readonly sink: EventSink;
  /** Ground truth of every lifetime (not a kernel structure; see truth.ts). */
  readonly truth: TruthLog;
  readonly cache: EventCache;
  readonly redelivery: Redelivery;
  readonly expiry: Expiry;
  readonly ctx: Ctx;
  /** The kernel's own random stream (E1 retry delays). */
  readonly rng: Stream;
  readonly counters: Readonly<Record<KernelCounter, Counter>>;
  readonly eventCounters: Readonly<Record<'new' | 'update' | 'destroy', { attempts: Counter; failures: Counter }>>;
  /** Sysctls, as they are now (a scenario may change them while it runs). */
  readonly max: number;
  readonly retryTimeoutJ: number;
  readonly timeouts: Timeouts;
  /** The machine the kernel's work runs on, when the scenario names one (models/cpu/work.ts). */
  readonly cpu: KernelWork | undefined;
  /** True while `conntrack -F` / `-D` runs: deletions happen in the admin process on the admin CPU. */
  adminContext: boolean;

  /** Kernel time: jiffies, timer lateness, the entries' kernel timers. */
  readonly time: KernelTime;
  /** Lookup by tuple without side effects: the node (2·slot + direction) or NIL. */
  findNode(tuple: number): number;
  /** nf_ct_kill: stop the entry's timer, then the era's nf_ct_delete. */
  kill(slot: number, portid?: number): boolean;
  /** The entry expired: count it and delete it. */
  expire(slot: number): void;
  /** Report DESTROY; on failure unhash and park the entry, on success free it. */
  destroyOrPark(slot: number, portid: number, markDying: boolean): boolean;
  /** nf_ct_delete from 4.9: claim with IPS_DYING, then {@link destroyOrPark}. */
  claimAndDestroy(slot: number, portid: number): boolean;
  /** Ground truth: the entry's DESTROY went out. */
  markDestroySent(slot: number): void;
  /** Unlink from the hash table and drop the table's reference. */
  unhashAndPut(slot: number): void;
  /** A parked entry's DESTROY finally got through: record it and free the entry. */
  redelivered(slot: number): void;
  /** nf_ct_put. */
  put(slot: number): void;
}

/** The era's event cache, as the core's packet path uses it. */
export interface EventCache {
  /** nf_conntrack_event_cache: remember `bit` for the entry in `slot`, processed on `cpu`. */
  cache(slot: number, bit: number, cpu: number): void;
  /** nf_ct_deliver_cached_events: send what is cached (and, from 2.6.31, what was missed). */
  deliver(slot: number, cpu: number): void;
  /** nf_conntrack_eventmask_report: report `mask` (a DESTROY) now; < 0 if a reliable listener refused it. */
  report(slot: number, mask: number, portid: number): number;
}

/**
 * A DESTROY-redelivery design: what nf_ct_delete does, what happens when a DESTROY fails or
 * succeeds, what the design's worker or timer does, and which lists hold parked entries.
 */
export interface Redelivery {
  /** Lists of parked entries, for the count and `conntrack -L dying` (E1 one, E2/E3 one per CPU, E4 one). */
  readonly lists: readonly SlotList[];
  /** Creates the design's timers; runs once, from the kernel's init. */
  init(ctx: Ctx): void;
  /** The era's nf_ct_delete (death_by_timeout ≤ 2.6.30): true if the entry is gone for good. */
  delete(slot: number, portid: number): boolean;
  /** `conntrack -F` deleting one entry (2.6.31–3.11 try twice). */
  flushDelete(slot: number, portid: number): void;
  /** A DESTROY failed and the core flagged the entry PARKED: keep it for redelivery. */
  park(slot: number): void;
  /** A parked entry is being freed: unlink it from its list. */
  unpark(slot: number): void;
  /** A DESTROY succeeded outside the worker (2.6.31+: a chance to kick the worker). */
  destroySent(): void;
  /** nf_conntrack_eventmask_report failed for the entry. */
  reportFailed(slot: number): void;
  /** The last reference of the entry is being dropped (≤ 2.6.30 sends DESTROY here). */
  lastPut(slot: number): void;
  /** The design's per-entry timer fired (2.6.31's retry timer). */
  timerFired(slot: number): void;
  /** The design's worker ran (the ecache work item). */
  work(): void;
}

/** How entries expire: per-conntrack timers (≤ 4.8) or timestamps and the gc worker (4.9+). */
export interface Expiry {
  /** Creates the design's timers (the gc worker's first run); runs once, from the kernel's init. */
  init(ctx: Ctx): void;
  /** __nf_conntrack_confirm: the entry's clock starts with `timeoutS`. */
  start(slot: number, timeoutS: number): void;
  /** __nf_ct_refresh_acct on a confirmed entry. */
  refresh(slot: number, timeoutS: number): void;
  /** del_timer of the entry's timer where the era has one (nothing in gc eras). */
  cancel(slot: number): void;
  /** ____nf_conntrack_find: the node of `tuple` or NIL; gc eras evict expired entries met on the way. */
  lookup(tuple: number): number;
  /** The entry's expiry timer fired (timer eras). */
  timerFired(slot: number): void;
  /** The gc worker ran (gc eras). */
  work(): void;
  /** conntrack -L: gc eras evict every expired entry the dump meets. */
  dump(): void;
  /** An allocation failed because the table is full (gc eras: the next gc run may early-drop). */
  tableFull(): void;
  /** nf_ct_is_expired on a confirmed, hashed entry that no deleter has claimed (false in timer eras). */
  isExpired(slot: number): boolean;
}

/** One era (or design): what it is and the strategies the core runs with. */
export interface EraModel {
  /** One line, with the commit that defines it. */
  readonly description: string;
  readonly bits: EventBits;
  /** netlink_broadcast's ENOBUFS counts as a failed delivery (false: best effort, ≤ 2.6.30). */
  readonly reliable: boolean;
  /** How entries expire: per-conntrack timers (≤ 4.8) or timestamps and the gc worker (4.9+). */
  readonly expiry: 'timer' | 'gc';
  /** Values of net.netfilter.nf_conntrack_events that exist (2 = auto from 5.19). */
  readonly eventsSysctlValues: readonly (0 | 1 | 2)[];
  /** Builds the era's event cache for a kernel. */
  createCache(core: KernelCore): EventCache;
  /** Builds the era's DESTROY redelivery for a kernel. */
  createRedelivery(core: KernelCore): Redelivery;
  /** Builds the era's expiry (timers or gc) for a kernel. */
  createExpiry(core: KernelCore): Expiry;
}
