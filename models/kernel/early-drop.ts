// early_drop in net/netfilter/nf_conntrack_core.c: when the table is full, an allocation tries
// to delete an unassured entry near the new tuple's bucket. Four algorithms, by kernel version
// (docs/kernel-facts.md#early-drop):
// - chain-last-always (≤ 2.6.34): the last unassured entry of whole chains within an 8-node
//   budget; counts as a drop even if its DESTROY failed;
// - chain-last-delivered (~2.6.37 – 3.14): the same scan; a drop only if the DESTROY was delivered;
// - chain-first (3.15 – 4.7): the first eligible entry in chain order, 8 skipped nodes; a drop
//   only if nf_ct_delete returned true;
// - buckets (4.8+): up to 8 buckets, every eligible entry of a bucket deleted (expired ones
//   evicted on the way), success after a bucket with a drop.
import type { KernelCore } from './strategies.js';
import type { EarlyDrop } from './config.js';
import { NIL, ST } from './table.js';

/** Tries to make room for an entry hashed to `bucket`; true if an entry was dropped. */
export function earlyDrop(core: KernelCore, bucket: number): boolean {
  return ALGORITHMS[core.cfg.earlyDrop](core, bucket);
}

const ALGORITHMS: Record<EarlyDrop, (core: KernelCore, bucket: number) => boolean> = {
  'chain-last-always': (core, b) => chainLast(core, b, true),
  'chain-last-delivered': (core, b) => chainLast(core, b, false),
  'chain-first': chainFirst,
  buckets,
};

function chainLast(core: KernelCore, start: number, successAlways: boolean): boolean {
  const t = core.table;
  let victim = NIL;
  let cnt = 0;
  for (let i = 0; i < t.buckets; i++) {
    const b = (start + i) % t.buckets;
    for (let node = t.head(b); node !== NIL; node = t.next(node)) {
      if (!(t.status[node >> 1]! & ST.ASSURED)) victim = node >> 1;
      cnt++;
    }
    if (victim !== NIL && t.status[victim]! & ST.DYING) victim = NIL;
    if (victim !== NIL || cnt >= 8) break;
  }
  if (victim === NIL) return false;
  // ≤ 2.6.30's deletion always succeeds, so "always" and "delivered" agree there.
  if (core.kill(victim) || successAlways) {
    core.stats.early_drop++;
    return true;
  }
  return false;
}

function chainFirst(core: KernelCore, start: number): boolean {
  const t = core.table;
  let victim = NIL;
  let cnt = 0;
  for (let i = 0; i < t.buckets && victim === NIL && cnt < 8; i++) {
    const b = (start + i) % t.buckets;
    for (let node = t.head(b); node !== NIL; node = t.next(node)) {
      const st = t.status[node >> 1]!;
      if (!(st & ST.ASSURED) && !(st & ST.DYING)) {
        victim = node >> 1;
        break;
      }
      cnt++;
    }
  }
  if (victim === NIL) return false;
  if (core.kill(victim)) {
    core.stats.early_drop++;
    return true;
  }
  return false;
}

function buckets(core: KernelCore, start: number): boolean {
  const t = core.table;
  for (let i = 0; i < 8 && i < t.buckets; i++) {
    const b = (start + i) % t.buckets;
    const slots: number[] = [];
    for (let node = t.head(b); node !== NIL; node = t.next(node)) slots.push(node >> 1);
    let drops = 0;
    for (const slot of slots) {
      const st = t.status[slot]!;
      if (!(st & ST.HASHED)) continue;
      if (core.expiry.isExpired(slot)) {
        core.expire(slot);
        continue;
      }
      if (st & (ST.ASSURED | ST.DYING) || !(st & ST.CONFIRMED)) continue;
      if (core.kill(slot)) drops++;
    }
    if (drops > 0) {
      core.stats.early_drop += drops;
      return true;
    }
  }
  return false;
}
