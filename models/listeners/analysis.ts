// Compares what a listener saw with the kernel's ground truth (the kernel must record truth).
import type { TruthView } from '../kernel/types.js';
import type { ListenerModel } from './types.js';

/** How far a listener's picture is from the kernel's. */
export interface ListenerReport {
  /** Messages received, by type. */
  readonly received: { readonly new: number; readonly update: number; readonly destroy: number };
  readonly enobufs: number;
  /** Conntracks that could report events and were confirmed, but whose NEW never arrived (listeners of group NEW). */
  readonly newMissed: number;
  /** Conntracks deleted in the kernel whose DESTROY never arrived (listeners of group DESTROY). */
  readonly destroyMissed: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly wrongDeletes: number;
  /** Entries in the listener's view at the end that the kernel no longer has. */
  readonly stale: number;
  /** Live kernel entries (that could report) missing from the view at the end. */
  readonly absent: number;
  /**
   * Time of the last change to the view when the final view matches the kernel exactly
   * (-1 when it does not: the listener never became consistent).
   */
  readonly consistentAt: number;
}

export function analyseListener(
  l: ListenerModel,
  truth: TruthView,
  live: readonly { serial: number; tuple: number; id: number }[],
): ListenerReport {
  const { seenNew, seenDestroy, lastChange } = l;
  const groups = l.socket.groups;
  let newMissed = 0;
  let destroyMissed = 0;
  for (const [serial, tr] of truth) {
    if (!tr.events || !tr.confirmed) continue;
    if (groups.has(1) && !seenNew.has(serial)) newMissed++;
    if (groups.has(3) && tr.destroySent >= 0 && !seenDestroy.has(serial)) destroyMissed++;
  }
  const liveSerials = new Set(live.map((e) => e.serial));
  let stale = 0;
  const inView = new Set<number>();
  for (const v of l.view.values()) {
    inView.add(v.serial);
    if (!liveSerials.has(v.serial)) stale++;
  }
  let absent = 0;
  for (const e of live) if (truth.get(e.serial)?.events !== false && !inView.has(e.serial)) absent++;
  const s = l.stats;
  return {
    received: { ...s.received },
    enobufs: s.enobufs,
    newMissed,
    destroyMissed,
    duplicates: s.duplicates,
    outOfOrder: s.outOfOrder,
    wrongDeletes: s.wrongDeletes,
    stale,
    absent,
    consistentAt: stale === 0 && absent === 0 ? lastChange : -1,
  };
}
