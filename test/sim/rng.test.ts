import test from 'ava';
import { Simulation, Stream, empiricalTable, type Ctx } from '../../sim/index.js';
import { Streams } from '../../sim/rng.js';

const rs = { seed: 1, run: 0 };

test('first draws of every distribution are pinned (a change here changes every result)', (t) => {
  const st = (name: string): Stream => new Stream(rs, name);
  const five = (f: () => number): number[] => Array.from({ length: 5 }, f);
  const u = st('pin/uniform');
  const i = st('pin/int');
  const e = st('pin/exp');
  const p = st('pin/pareto');
  const l = st('pin/lognormal');
  const d = st('pin/empirical');
  const table = empiricalTable([10, 20, 30], [1, 2, 1]);
  t.snapshot({
    next: five(() => st('pin/next').next()),
    uint32: five(() => st('pin/u32').uint32()),
    uniform: five(() => u.uniform(2, 4)),
    intBelow: five(() => i.intBelow(15 * 250)),
    exponential: five(() => e.exponential(100)),
    pareto: five(() => p.pareto(1.5, 1)),
    lognormal: five(() => l.lognormal(0, 1)),
    empirical: five(() => d.empirical(table)),
  });
});

test('intBelow is uint32 % n, the kernel idiom', (t) => {
  const a = new Stream(rs, 'x');
  const b = new Stream(rs, 'x');
  for (let k = 0; k < 1000; k++) t.is(a.intBelow(3750), b.uint32() % 3750);
  t.throws(() => a.intBelow(0), { message: /n must be an integer in \[1, 2\^32\]/ });
  t.throws(() => a.intBelow(2.5));
});

test('a stream depends only on seed, run and name', (t) => {
  const draws = (seed: number, run: number, name: string): number[] => {
    const s = new Stream({ seed, run }, name);
    return [s.next(), s.next(), s.next()];
  };
  t.deepEqual(draws(1, 0, 'a'), draws(1, 0, 'a'));
  t.notDeepEqual(draws(1, 0, 'a'), draws(2, 0, 'a'));
  t.notDeepEqual(draws(1, 0, 'a'), draws(1, 1, 'a'));
  t.notDeepEqual(draws(1, 0, 'a'), draws(1, 0, 'b'));
  // no accidental prefix collisions: seed 1 run 10 vs seed 11 run 0
  t.notDeepEqual(draws(1, 10, 'x'), draws(11, 0, 'x'));
});

test('adding an actor or a stream does not change what another actor draws', (t) => {
  const drawsOfA = (extra: boolean): number[] => {
    const sim = new Simulation({ seed: 7, run: 3 });
    const seen: number[] = [];
    if (extra)
      sim.spawn('b', {
        init: (ctx: Ctx) => void ctx.rng.next(),
        receive: (_m, ctx: Ctx) => void ctx.stream('more').next(),
      });
    sim.spawn('a', { receive: (_m, ctx: Ctx) => void seen.push(ctx.rng.next(), ctx.stream('sub').next()) });
    for (let i = 0; i < 5; i++) {
      sim.send('a', { kind: 'go' }, i);
      if (extra) sim.send('b', { kind: 'go' }, i);
    }
    sim.run();
    return seen;
  };
  t.deepEqual(drawsOfA(false), drawsOfA(true));
});

test('Streams caches one stream per name', (t) => {
  const s = new Streams(rs);
  t.is(s.get('a'), s.get('a'));
  t.not(s.get('a'), s.get('b'));
});

// Tolerances: the sample mean of n draws has standard error sd/sqrt(n); we allow 5 standard
// errors, so a correct generator fails with probability below 1e-6.
function meanOf(n: number, f: () => number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += f();
  return sum / n;
}

test('distribution means agree with theory within 5 standard errors', (t) => {
  const n = 200_000;
  const st = new Stream(rs, 'moments');
  const check = (name: string, mean: number, sd: number, f: () => number): void => {
    const m = meanOf(n, f);
    t.true(Math.abs(m - mean) < (5 * sd) / Math.sqrt(n), `${name}: ${m} vs ${mean}`);
  };
  check('uniform', 3, 2 / Math.sqrt(12), () => st.uniform(2, 4));
  check('intBelow', 49.5, Math.sqrt((100 * 100 - 1) / 12), () => st.intBelow(100));
  check('exponential', 10, 10, () => st.exponential(10));
  // Pareto alpha=3, xm=1: mean 1.5, variance 0.75
  check('pareto', 1.5, Math.sqrt(0.75), () => st.pareto(3, 1));
  // Lognormal(0, 0.5): mean e^{0.125}, variance (e^{0.25}-1)e^{0.25}
  check('lognormal', Math.exp(0.125), Math.sqrt((Math.exp(0.25) - 1) * Math.exp(0.25)), () => st.lognormal(0, 0.5));
  const table = empiricalTable([1, 2, 5], [0.5, 0.3, 0.2]);
  const em = 0.5 + 0.6 + 1;
  const ev = 0.5 * 1 + 0.3 * 4 + 0.2 * 25 - em * em;
  check('empirical', em, Math.sqrt(ev), () => st.empirical(table));
});

test('empirical tables reject bad weights', (t) => {
  t.throws(() => empiricalTable([1, 2], [1]), { message: /as many weights as values/ });
  t.throws(() => empiricalTable([1], [-1]), { message: />= 0/ });
  t.throws(() => empiricalTable([1, 2], [0, 0]), { message: /not all be zero/ });
});
