// The engine alone (`nfct-sim/sim`), no netfilter: an M/M/1 queue as two actors, ten
// replications, the mean waiting time with its 95 % confidence interval. Run: node engine-only.mjs
import { Simulation, confidenceInterval, us } from 'nfct-sim/sim';

function oneRun(run) {
  const sim = new Simulation({ seed: 3, run });
  let busyUntil = 0;
  let waited = 0;
  let served = 0;
  sim.spawn('server', {
    receive(_m, ctx) {
      const start = Math.max(ctx.now, busyUntil);
      waited += start - ctx.now;
      busyUntil = start + Math.round(us(ctx.rng.exponential(80)));
      served++;
    },
  });
  sim.spawn('source', {
    init: (ctx) => ctx.send(ctx.self, { kind: 'tick' }),
    receive(_m, ctx) {
      ctx.send('server', { kind: 'job' });
      ctx.send(ctx.self, { kind: 'tick' }, Math.round(us(ctx.rng.exponential(100))));
    },
  });
  sim.run({ until: us(2_000_000) });
  return waited / served / 1000; // µs
}

const waits = Array.from({ length: 10 }, (_, run) => oneRun(run));
const ci = confidenceInterval(waits);
console.log(`mean wait ${ci.mean.toFixed(1)} µs ± ${ci.halfWidth.toFixed(1)} (theory for ρ = 0.8: 320 µs)`);
