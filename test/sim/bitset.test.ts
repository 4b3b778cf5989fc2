import test from 'ava';
import fc from 'fast-check';
import { BitSet } from '../../sim/index.js';

test('BitSet: members at word edges and past the first allocation, each counted once', (t) => {
  const s = new BitSet();
  const edges = [0, 31, 32, 63, 64, 2047, 2048, 2049, 100_000];
  for (const n of edges) s.add(n).add(n);
  t.is(s.size, edges.length);
  for (const n of edges) t.true(s.has(n), `has ${n}`);
  for (const n of [1, 30, 33, 2046, 2050, 99_999, 100_001, 10_000_000]) t.false(s.has(n), `not ${n}`);
  // 100,000 needs word 3125: the bitmap doubled from 64 words to 4096 (16 KiB), no further.
  t.is(s.bytes, 4096 * 4);
});

test('BitSet: refuses what is not an integer in [0, 2^31)', (t) => {
  const s = new BitSet();
  for (const bad of [-1, 1.5, NaN, 2 ** 31, Infinity])
    t.throws(() => s.add(bad), { instanceOf: RangeError, message: /must be an integer 0 <= n < 2\^31/ });
  t.is(s.size, 0);
  t.false(s.has(-1));
});

test('BitSet answers as a Set<number> does for any sequence of adds', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.nat({ max: 50_000 }), { maxLength: 300 }),
      fc.array(fc.nat({ max: 60_000 }), { maxLength: 100 }),
      (adds, probes) => {
        const b = new BitSet();
        const ref = new Set<number>();
        for (const n of adds) {
          b.add(n);
          ref.add(n);
        }
        return b.size === ref.size && [...adds, ...probes].every((n) => b.has(n) === ref.has(n));
      },
    ),
  );
  t.pass();
});
