// `npm run bench -- engine`: the M/M/1/K model (lambda 0.9, mu 1.0 per ms, K 10, 1,000,000
// arrivals) through the real engine and through a bare inlined heap loop of the same model,
// timed in the same process so the ratio is meaningful on a noisy machine.
import { performance } from 'node:perf_hooks';
import { Simulation, Stream } from '../../sim/index.js';
import { mm1kStation } from '../../models/queueing/mm1k.js';

const CFG = { arrivalRateHz: 900, serviceRateHz: 1000, capacity: 10 };
const ARRIVALS = 1_000_000;

export interface Measured {
  readonly events: number;
  readonly seconds: number;
  readonly check: number; // departures, to show both loops simulate the same thing
}

export function engineRun(seed: number): Measured {
  const sim = new Simulation({ seed, run: 0, queueCapacity: 64 });
  sim.spawn('mm1k/station', mm1kStation(CFG, ARRIVALS));
  const t0 = performance.now();
  sim.run();
  const seconds = (performance.now() - t0) / 1000;
  const blocked = sim.recorder.counter('mm1k/station', 'mm1k.blocked').value;
  return { events: sim.eventCount, seconds, check: ARRIVALS - blocked };
}

// The same model with everything inlined: a binary heap over parallel typed arrays keyed by
// (time, seq), the same alea streams and the same rounding; no actors, no contexts, no metrics
// objects. This is the ceiling the engine is measured against.
export function bareRun(seed: number): Measured {
  const arrivals = new Stream({ seed, run: 0 }, 'mm1k/station/arrivals');
  const service = new Stream({ seed, run: 0 }, 'mm1k/station/service');
  const meanGap = 1e9 / CFG.arrivalRateHz;
  const meanService = 1e9 / CFG.serviceRateHz;
  let cap = 64;
  let time = new Float64Array(cap);
  let seqs = new Float64Array(cap);
  let kinds = new Uint8Array(cap);
  let n = 0;
  let seq = 0;
  const push = (t: number, kind: number): void => {
    if (n === cap) {
      cap *= 2;
      const t2 = new Float64Array(cap);
      t2.set(time);
      time = t2;
      const s2 = new Float64Array(cap);
      s2.set(seqs);
      seqs = s2;
      const k2 = new Uint8Array(cap);
      k2.set(kinds);
      kinds = k2;
    }
    let i = n++;
    const sq = seq++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (time[p]! < t || (time[p] === t && seqs[p]! < sq)) break;
      time[i] = time[p]!;
      seqs[i] = seqs[p]!;
      kinds[i] = kinds[p]!;
      i = p;
    }
    time[i] = t;
    seqs[i] = sq;
    kinds[i] = kind;
  };
  const pop = (): void => {
    const t = time[--n]!;
    const sq = seqs[n]!;
    const k = kinds[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (time[c + 1]! < time[c]! || (time[c + 1] === time[c] && seqs[c + 1]! < seqs[c]!))) c++;
      if (t < time[c]! || (t === time[c] && sq < seqs[c]!)) break;
      time[i] = time[c]!;
      seqs[i] = seqs[c]!;
      kinds[i] = kinds[c]!;
      i = c;
    }
    time[i] = t;
    seqs[i] = sq;
    kinds[i] = k;
  };
  let now = 0;
  let events = 0;
  let inSystem = 0;
  let arrived = 0;
  let blocked = 0;
  let area = 0;
  let since = 0;
  const t0 = performance.now();
  push(Math.round(arrivals.exponential(meanGap)), 0);
  while (n > 0) {
    now = time[0]!;
    const kind = kinds[0]!;
    pop();
    events++;
    if (kind === 0) {
      arrived++;
      if (arrived < ARRIVALS) push(now + Math.round(arrivals.exponential(meanGap)), 0);
      if (inSystem === CFG.capacity) {
        blocked++;
        continue;
      }
      area += inSystem * (now - since);
      since = now;
      inSystem++;
      if (inSystem === 1) push(now + Math.round(service.exponential(meanService)), 1);
    } else {
      area += inSystem * (now - since);
      since = now;
      inSystem--;
      if (inSystem > 0) push(now + Math.round(service.exponential(meanService)), 1);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  if (area < 0) console.log(area); // keeps the accumulation alive
  return { events, seconds, check: ARRIVALS - blocked };
}
