import test from 'ava';
import fc from 'fast-check';
import { CtTable, NIL } from '../../../models/kernel/table.js';

/** The first non-empty bucket at or after `from`, by reading every head. */
function linearNext(t: CtTable, from: number): number {
  for (let b = from; b < t.buckets; b++) if (t.bucketHeads[b] !== NIL) return b;
  return t.buckets;
}

test('nextOccupied: an empty table, and a start at or past the last bucket, give the bucket count', (t) => {
  const table = new CtTable(100, 7);
  t.is(table.nextOccupied(0), 100);
  t.is(table.nextOccupied(99), 100);
  t.is(table.nextOccupied(100), 100);
  t.is(table.nextOccupied(1000), 100);
});

test('nextOccupied agrees with a scan of every head after any hash/unhash sequence (bucket counts not a multiple of 32)', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 31, 32, 33, 100, 1024),
      fc.array(fc.record({ tuple: fc.nat({ max: 5000 }).map((n) => 2 * n), drop: fc.boolean() }), { maxLength: 80 }),
      (buckets, ops) => {
        const table = new CtTable(buckets, 3);
        const slots: number[] = [];
        for (const op of ops) {
          const slot = table.alloc();
          table.origTuple[slot] = op.tuple;
          table.hash(slot);
          slots.push(slot);
          if (op.drop) table.unhash(slots[slots.length >> 1]!);
        }
        for (let from = 0; from <= buckets; from++)
          if (table.nextOccupied(from) !== linearNext(table, from)) return false;
        return true;
      },
    ),
  );
  t.pass();
});
