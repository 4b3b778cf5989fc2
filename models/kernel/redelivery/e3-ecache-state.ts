// 4.9 – 5.18 (E3), f330a7fdbe16 / b87a2f9199ea (2016-08): conntracks lose their timer, so
// nf_ct_delete claims an entry by setting IPS_DYING first; a failed DESTROY records
// ecache->state = DESTROY_FAIL and the per-CPU walk of E2 re-sends only entries in that state
// (then NF_CT_ECACHE_DESTROY_SENT). docs/kernel-facts.md#e3.
import { ECACHE_DESTROY_FAIL, ECACHE_DESTROY_SENT } from '../table.js';
import { E2PerCpuWork } from './e2-percpu-work.js';

export class E3EcacheState extends E2PerCpuWork {
  override delete(slot: number, portid: number): boolean {
    return this.core.claimAndDestroy(slot, portid);
  }

  override reportFailed(slot: number): void {
    this.core.table.ecacheState[slot] = ECACHE_DESTROY_FAIL;
  }

  protected override skip(slot: number): boolean {
    return this.core.table.ecacheState[slot] !== ECACHE_DESTROY_FAIL;
  }

  protected override markSent(slot: number): void {
    this.core.table.ecacheState[slot] = ECACHE_DESTROY_SENT;
  }
}
