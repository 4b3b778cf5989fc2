// What the core asks of a DESTROY-redelivery design: what nf_ct_delete does, what happens when a
// DESTROY fails or succeeds, what the era's worker or timer does, and which lists hold parked
// entries. One module per era implements it (e0-best-effort.ts … e4-dedicated-list.ts); a new
// design is one more module, registered in ../eras.ts (docs/architecture.md#adding-an-era).
import type { Ctx } from '../../../sim/index.js';
import type { Conntrack } from '../core.js';
import type { SlotList } from '../table.js';

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

/** A design with no lists, no worker and no timer; eras override what they have. */
export abstract class BaseRedelivery implements Redelivery {
  readonly lists: readonly SlotList[] = [];
  constructor(protected readonly core: Conntrack) {}
  abstract delete(slot: number, portid: number): boolean;
  init(_ctx: Ctx): void {}
  flushDelete(slot: number, portid: number): void {
    this.core.expiry.cancel(slot);
    this.delete(slot, portid);
  }
  park(_slot: number): void {}
  unpark(_slot: number): void {}
  destroySent(): void {}
  reportFailed(_slot: number): void {}
  lastPut(_slot: number): void {}
  timerFired(_slot: number): void {}
  work(): void {}
}
