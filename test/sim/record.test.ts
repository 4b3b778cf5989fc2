import test from 'ava';
import fc from 'fast-check';
import { confidenceInterval, kaplanMeier, kmQuantile } from '../../sim/index.js';
import { Gauge, Histogram, Recorder, Tally } from '../../sim/record.js';
import { studentT } from '../../sim/stats.js';

test('Welford tally matches the two-pass formulas', (t) => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 200 }), (xs) => {
      const tl = new Tally();
      xs.forEach((x) => tl.add(x));
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
      const tol = 1e-9 * Math.max(1, Math.abs(mean), v);
      return (
        Math.abs(tl.mean - mean) <= tol &&
        Math.abs(tl.variance - v) <= 1e-6 * Math.max(1, v) &&
        tl.min === Math.min(...xs) &&
        tl.max === Math.max(...xs)
      );
    }),
    { seed: 3 },
  );
  t.pass();
});

test('gauge gives the time-weighted mean and restarts at the cut with its current level', (t) => {
  const g = new Gauge();
  g.set(2, 0);
  g.set(4, 10); // 2 for 10 ns
  g.set(0, 15); // 4 for 5 ns
  t.is(g.mean(20), (2 * 10 + 4 * 5 + 0 * 5) / 20);
  t.is(g.max, 4);
  g.set(3, 20);
  g.cut(30);
  t.is(g.mean(40), 3);
  t.is(g.max, 3);
});

test('histogram quantiles interpolate inside bins', (t) => {
  const h = new Histogram(0, 100, 10);
  for (let i = 0; i < 100; i++) h.add(i + 0.5);
  t.is(h.quantile(0.5), 50);
  t.is(h.quantile(0.9), 90);
  h.add(-3);
  h.add(1000);
  t.is(h.under, 1);
  t.is(h.over, 1);
  t.throws(() => new Histogram(1, 1, 3), { message: /hi > lo/ });
});

test('recorder totals a counter over owners and snapshots with sorted keys', (t) => {
  const r = new Recorder();
  r.counter('netlink/sock-1', 'netlink.enobufs').add(2);
  r.counter('netlink/sock-0', 'netlink.enobufs').add(3);
  r.counter('netlink/sock-0', 'netlink.other').add(1);
  t.is(r.total('netlink.enobufs'), 5);
  t.deepEqual(Object.keys(r.snapshot(0).counters), [
    'netlink/sock-0:netlink.enobufs',
    'netlink/sock-0:netlink.other',
    'netlink/sock-1:netlink.enobufs',
  ]);
});

test('confidence interval uses Student t with n-1 degrees of freedom', (t) => {
  // t(0.975, 4) = 2.776445...
  t.true(Math.abs(studentT(0.975, 4) - 2.7764451) < 1e-6);
  const ci = confidenceInterval([1, 2, 3, 4, 5]);
  t.is(ci.mean, 3);
  t.true(Math.abs(ci.sd - Math.sqrt(2.5)) < 1e-12);
  t.true(Math.abs(ci.halfWidth - (2.7764451 * Math.sqrt(2.5)) / Math.sqrt(5)) < 1e-6);
  t.true(Number.isNaN(confidenceInterval([1]).halfWidth));
});

test('confidence intervals cover the true mean at about the nominal rate', (t) => {
  // 2000 intervals of 5 normal-ish samples; coverage must be within 4 binomial standard errors of 95 %.
  let seed = 12345;
  const u = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed + 0.5) / 2 ** 32;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const trials = 2000;
  let covered = 0;
  for (let i = 0; i < trials; i++) {
    const ci = confidenceInterval(Array.from({ length: 5 }, () => 10 + 2 * normal()));
    if (Math.abs(ci.mean - 10) <= ci.halfWidth) covered++;
  }
  const se = Math.sqrt((0.95 * 0.05) / trials);
  t.true(Math.abs(covered / trials - 0.95) < 4 * se, `coverage ${covered / trials}`);
});

test('a total of a counter no owner has is an error naming the counters that exist, not a silent zero', (t) => {
  const r = new Recorder();
  r.counter('netlink/sock-0', 'netlink.enobufs').add(2);
  r.counter('kernel/conntrack', 'ct.parked');
  t.is(r.total('ct.parked'), 0); // registered, never incremented: a real zero
  t.throws(() => r.total('ct.parkd'), {
    instanceOf: RangeError,
    message: 'no counter named ct.parkd; counters of this run: ct.parked, netlink.enobufs',
  });
});

test('Kaplan–Meier on a hand-computed case: 1, 2, 2, 3+, 4, 5+ (+ = still running)', (t) => {
  const xs = [1, 2, 2, 3, 4, 5].map((x) => ({ t: x, ended: x !== 3 && x !== 5 }));
  // t=1: 1 of 6 at risk ends → 5/6; t=2: 2 of 5 → 5/6·3/5 = 1/2; t=3 censored; t=4: 1 of 2 → 1/4.
  const km = kaplanMeier(xs);
  t.deepEqual(
    km.map((s) => s.t),
    [1, 2, 4],
  );
  t.true(Math.abs(km[0]!.survival - 5 / 6) < 1e-12);
  t.true(Math.abs(km[1]!.survival - 0.5) < 1e-12);
  t.true(Math.abs(km[2]!.survival - 0.25) < 1e-12);
  t.is(kmQuantile(xs, 0.5), 2); // S(2) = 1/2 ≤ 1/2
  t.is(kmQuantile(xs, 0.75), 4);
  t.is(kmQuantile(xs, 0.9), Infinity); // S never falls to 0.1: say "at least 5"
  // A censored time tied with an ended one is still at risk when that one ends.
  const tie = [
    { t: 2, ended: true },
    { t: 2, ended: false },
  ];
  t.deepEqual(kaplanMeier(tie), [{ t: 2, survival: 0.5 }]);
  // Nothing censored: the empirical survival function.
  t.is(kmQuantile([3, 1, 2].map((x) => ({ t: x, ended: true }))), 2);
  t.deepEqual(kaplanMeier([]), []);
});
