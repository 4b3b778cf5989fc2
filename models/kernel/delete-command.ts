// `conntrack -D` as a process on the machine. conntrack-tools deletes through a dump
// (src/conntrack.c, do_command_ct, case CT_DELETE): it dumps the whole table
// (ctnetlink_dump_table walks every bucket and sends the original-direction node of each entry),
// compares each entry with the command's tuple itself, and sends a delete request
// (ctnetlink_del_conntrack) for a match as soon as it reads it. The dump comes in batches, one
// skb per recvmsg; the match is read, and deleted, when the batch that holds it arrives.
// docs/kernel-facts.md#flush-and-delete-from-user-space.
import type { CtTable } from './table.js';
import { NIL } from './table.js';

/**
 * Dump entries per batch: the first skb is filled in the dump request's own sendmsg (about
 * 3.8 KiB), the later ones up to the reader's 32 KiB buffer (netlink_dump sizes them from
 * max_recvmsg_len). Measured on 6.18.44: 164-byte UDP entries, batches of 23, then 197.
 */
export const DUMP_FIRST_BATCH = 23;
export const DUMP_BATCH = 197;

/** How much of a dump a command has walked when it deletes its entry, and how much is left. */
export interface DumpSplit {
  readonly bucketsBefore: number;
  readonly entriesBefore: number;
  readonly bucketsAfter: number;
  readonly entriesAfter: number;
}

/**
 * Where the dump of `t` reaches the end of the batch that holds `slot` (NIL or an entry not
 * hashed: no batch holds it, the whole dump comes first). A batch ends in the bucket of the
 * first entry that no longer fits; the batch that holds the table's last entry ends with the walk.
 */
export function dumpSplit(t: CtTable, slot: number): DumpSplit {
  // The dump's order: buckets in turn, each chain from its head, original-direction nodes only.
  const forEachEntry = (visit: (slot: number, bucket: number) => boolean): void => {
    for (let b = 0; b < t.buckets; b++)
      for (let node = t.head(b); node !== NIL; node = t.next(node)) if (!(node & 1) && !visit(node >> 1, b)) return;
  };
  let total = 0;
  let index = -1;
  forEachEntry((s) => {
    if (s === slot) index = total;
    total++;
    return true;
  });
  const batchEnd =
    index < 0
      ? Infinity
      : index < DUMP_FIRST_BATCH
        ? DUMP_FIRST_BATCH
        : DUMP_FIRST_BATCH + DUMP_BATCH * Math.ceil((index - DUMP_FIRST_BATCH + 1) / DUMP_BATCH);
  if (batchEnd >= total) return { bucketsBefore: t.buckets, entriesBefore: total, bucketsAfter: 0, entriesAfter: 0 };
  let seen = 0;
  let endBucket = 0;
  forEachEntry((_s, b) => {
    if (seen++ < batchEnd) return true;
    endBucket = b;
    return false;
  });
  return {
    bucketsBefore: endBucket + 1,
    entriesBefore: batchEnd,
    bucketsAfter: t.buckets - endBucket - 1,
    entriesAfter: total - batchEnd,
  };
}
