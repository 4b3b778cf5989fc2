import { EventQueue, Stream } from './sim/index.ts';
import { performance } from 'node:perf_hooks';
const N = 1_000_000;
const rng = new Stream({ seed: 1, run: 0 }, 'h');
const q = new EventQueue<number>(N);
const handles = new Float64Array(N);
for (let i = 0; i < N; i++) handles[i] = q.push(Math.round(rng.exponential(1e9)), 0, 0, 0, i);
for (let round = 0; round < 3; round++) {
  let t0 = performance.now();
  for (let e = 0; e < 1_000_000; e++) {
    const now = q.peekTime();
    const slot = q.popSlot();
    const i = q.payloadOf(slot);
    q.release(slot);
    handles[i] = q.push(now + Math.round(rng.exponential(1e9)), 0, 0, 0, i);
    if (rng.next() < 0.25) {
      const o = rng.intBelow(N);
      q.reschedule(handles[o]!, now + Math.round(rng.exponential(1e9)), 0);
    }
  }
  let dt = (performance.now() - t0) / 1000;
  console.log('hold', (1 / dt).toFixed(2), 'M/s', (q as any).count, (q as any).oCount);
}
