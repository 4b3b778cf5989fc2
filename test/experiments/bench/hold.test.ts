import test from 'ava';
import { engineHold, lazyHeapHold, objectHold, queueHold } from '../../../experiments/bench/hold.js';

// The hold benchmark's three variants must be the same model, or its ratios mean nothing.
test('hold benchmark: engine timers, queue, queue with objects and lazy heap run the same events; only the lazy heap keeps dead entries', (t) => {
  const timers = 2000;
  const events = 20_000;
  const e = engineHold(7, events, timers);
  const q = queueHold(7, events, timers);
  const o = objectHold(7, events, timers);
  const l = lazyHeapHold(7, events, timers);
  t.true(e.endTime > 0);
  t.is(q.endTime, e.endTime);
  t.is(o.endTime, e.endTime);
  t.is(l.endTime, e.endTime);
  t.is(e.queueLength, timers);
  t.is(q.queueLength, timers);
  t.is(o.queueLength, timers);
  // Every re-arm leaves a dead entry at the timer's old expiry, a memoryless Exp(1 s) later.
  // Re-arms come at a quarter of the event rate (timers / 1 s), so at the end
  // 0.25 * timers * (1 - e^-T) are still queued; a sum of Bernoullis: variance <= mean.
  const expected = 0.25 * timers * (1 - Math.exp(-e.endTime / 1e9));
  const dead = l.queueLength - timers;
  t.true(Math.abs(dead - expected) < 5 * Math.sqrt(expected), `dead entries ${dead}, expected ${expected.toFixed(0)}`);
});
