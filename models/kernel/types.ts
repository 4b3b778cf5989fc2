// The kernel actor's messages and the read-only view that tests and experiments get of it.
import type { Actor } from '../../sim/index.js';
import type { Proto } from './events.js';
import type { CtTable } from './table.js';

/** A packet for the conntrack hooks. */
export interface PacketMsg {
  readonly kind: 'packet';
  /** Tuple as seen on the wire; `tuple ^ 1` is the reverse direction. */
  readonly tuple: number;
  readonly proto: Proto;
  /** TCP flags (TCPF); ignored for UDP. */
  readonly flags?: number;
  /** False: the packet is dropped by a rule before the confirm hook. Default true. */
  readonly reachesConfirm?: boolean;
  /** Time between conntrack input and the confirm hook (e.g. a queue); default 0. */
  readonly confirmDelayNs?: number;
  /** How long the skb keeps its reference on the conntrack after confirm; default 0. */
  readonly holdNs?: number;
}

/** Administrator actions and sysctl changes. */
export type AdminMsg =
  | { readonly kind: 'flush'; readonly portid: number } // conntrack -F
  | { readonly kind: 'delete'; readonly tuple: number; readonly id?: number; readonly portid: number } // conntrack -D
  | { readonly kind: 'dump' } // conntrack -L: in gc eras walks the table and evicts expired entries
  | { readonly kind: 'sysctl'; readonly name: SysctlName; readonly value: number };

/** The sysctls a scenario may change while it runs. */
export const SYSCTL_NAMES = ['max', 'eventsSysctl', 'retryTimeoutS', 'udpTimeoutS'] as const;
/** A sysctl a scenario action may change (`max` is nf_conntrack_max). */
export type SysctlName = (typeof SYSCTL_NAMES)[number];

/** Messages the kernel sends itself (timers, work items, deferred steps). */
export type InternalMsg =
  | { readonly kind: 'timers' }
  | { readonly kind: 'ecache-work' }
  | { readonly kind: 'gc-work' }
  | { readonly kind: 'flush-step' }
  | { readonly kind: 'admin-step' } // a conntrack -D or -L on the machine has had its CPU for a phase
  | {
      readonly kind: 'confirm';
      readonly slot: number;
      readonly serial: number;
      readonly reaches: boolean;
      readonly holdNs: number;
    }
  | { readonly kind: 'skb-free'; readonly slot: number; readonly serial: number };

export type KernelMsg = PacketMsg | AdminMsg | InternalMsg;

/** Types of an entry's kernel timer (it has at most one pending at a time): expiry or retry. */
export const TIMER_EXPIRE = 0;
/** Timer type of an entry's DESTROY retry (2.6.31's retry timer, or a design's own). */
export const TIMER_RETRY = 1;

/** `conntrack -S` counters (search_restart is not modelled and stays 0). */
export interface CtStats {
  found: number;
  insert: number;
  insert_failed: number;
  drop: number;
  early_drop: number;
  search_restart: number;
}

/** What tests and experiments can read from a running kernel. */
export interface KernelView {
  readonly table: CtTable;
  readonly stats: CtStats;
  /** Entries waiting for DESTROY redelivery (`conntrack -L dying`). */
  parkedCount(): number;
  /** Parked entries in redelivery order for E4 (head first), per CPU list for E2/E3, any order for E1. */
  parkedSlots(): number[][];
  /** Entries linked in the hash table. */
  hashedCount(): number;
  /** Entries allocated but not yet confirmed (not in the hash table). */
  unconfirmedCount(): number;
  /** Slot of the live (hashed) entry whose original or reply tuple is `tuple`, or -1. */
  find(tuple: number): number;
  /**
   * The hashed entries. With `unexpired`, without those that have expired but wait for the gc
   * worker (gc eras): what a 6.x table dump, which evicts them as it goes, would list.
   */
  liveEntries(unexpired?: boolean): { tuple: number; id: number; serial: number }[];
  /**
   * Ground-truth log of each conntrack lifetime (serial → times), for invariants and listener
   * analysis. Empty unless the kernel was built with `{ truth: true }` (it grows with every
   * conntrack ever created).
   */
  readonly truth: TruthView;
}

/** Read access to the ground-truth log: records by serial, iterated in serial order. */
export interface TruthView extends Iterable<[number, Truth]> {
  /** Lifetimes recorded. */
  readonly size: number;
  /** The record of `serial` as it stands now (a copy), or undefined. */
  get(serial: number): Truth | undefined;
  /** [serial, record] in serial (allocation) order. */
  entries(): IterableIterator<[number, Truth]>;
  /** The records in serial (allocation) order. */
  values(): IterableIterator<Truth>;
}

/** Ground truth of one conntrack lifetime (times in ns, -1 when it has not happened). */
export interface Truth {
  readonly tuple: number;
  created: number;
  /** The kernel counted a NEW as delivered (for E0: as sent). */
  newSent: boolean;
  /** It entered the hash table. */
  confirmed: boolean;
  /** It had the event-cache extension (it could emit events at all). */
  readonly events: boolean;
  /** First DESTROY that succeeded (E0: was sent). */
  destroySent: number;
  /** First failed DESTROY (the entry was parked). */
  firstFail: number;
  freed: number;
}

/** The kernel actor plus a read-only view for tests. */
export interface KernelModel extends Actor<KernelMsg> {
  readonly view: KernelView;
}
