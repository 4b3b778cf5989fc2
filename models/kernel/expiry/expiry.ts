// How entries expire, era by era: per-conntrack kernel timers up to 4.8 (timers.ts) or
// timestamps with lazy eviction and a gc worker from 4.9 (gc.ts). docs/kernel-facts.md#expiry.
import type { Ctx } from '../../../sim/index.js';

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
