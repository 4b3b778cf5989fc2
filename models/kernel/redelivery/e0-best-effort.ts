// ≤ 2.6.30 (E0): best-effort events, no redelivery. death_by_timeout unlinks the entry and
// drops the table's reference; destroy_conntrack sends DESTROY when the last reference goes,
// whatever netlink_broadcast returns. conntrack -F / -D report the DESTROY themselves
// (ctnetlink_del_conntrack, nf_ct_iterate_cleanup). docs/kernel-facts.md#e0.
import { ctnetlinkEvent } from '../ctnetlink.js';
import { ST } from '../table.js';
import { BaseRedelivery } from './redelivery.js';

export class E0BestEffort extends BaseRedelivery {
  delete(slot: number, portid: number): boolean {
    const core = this.core;
    const t = core.table;
    if (core.adminContext && !(t.status[slot]! & ST.DYING)) {
      ctnetlinkEvent(core, slot, core.bits.DESTROY, portid);
      t.status[slot]! |= ST.DYING;
      core.markDestroySent(slot);
    }
    core.unhashAndPut(slot);
    return true;
  }

  /** destroy_conntrack: the DESTROY of an entry nobody deleted explicitly. */
  override lastPut(slot: number): void {
    const core = this.core;
    const st = core.table.status[slot]!;
    if (!(st & ST.DYING) && st & ST.CONFIRMED) {
      ctnetlinkEvent(core, slot, core.bits.DESTROY, 0);
      core.markDestroySent(slot);
    }
  }
}
