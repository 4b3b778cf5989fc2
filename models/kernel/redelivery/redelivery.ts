// The base of DESTROY-redelivery designs (the Redelivery interface is in ../strategies.ts): what
// nf_ct_delete does, what happens when a DESTROY fails or succeeds, what the era's worker or
// timer does, and which lists hold parked entries. One module per era implements it (e0-best-effort.ts … e4-dedicated-list.ts); a new
// design is one more module, registered in ../eras.ts (docs/architecture.md#adding-an-era).
import type { Ctx } from '../../../sim/index.js';
import type { KernelCore, Redelivery } from '../strategies.js';
import type { SlotList } from '../table.js';

/** A design with no lists, no worker and no timer; eras override what they have. */
export abstract class BaseRedelivery implements Redelivery {
  readonly lists: readonly SlotList[] = [];
  constructor(protected readonly core: KernelCore) {}
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
