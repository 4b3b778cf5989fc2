// How answers print a replicated figure (experiments/lib/common.ts pm): the report relies on it
// to show an interval wider than its mean as the range of the runs.
import test from 'ava';
import { pm } from '../../experiments/lib/common.js';

test("pm: mean ± half-width; the runs' range when the interval is wider than the mean; plain when identical", (t) => {
  t.is(pm([12, 3, 9, 15]), '12.00 ± 3.00');
  t.is(pm([12.5, 20.1, 1, 30], 1), '12.5 (runs 1.0–30.0)');
  t.is(pm([5, 5, 1, 9], 0), '5 ± 5', 'a half-width equal to the mean is not wider');
  t.is(pm([7, 0, 7, 7], 1), '7.0', 'every run agreed');
  t.is(pm([-2, 3, -6, 1], 0), '-2 (runs -6–1)');
  t.is(pm([4, NaN], 1), '4.0', 'one run: no interval');
  t.is(pm(undefined), 'n/a');
});
