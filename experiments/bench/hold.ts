// `npm run bench -- hold`: the classic hold model with 1,000,000 pending cancellable timers.
// Each event re-arms the timer that fired; one event in four also re-arms (mod_timer) a random
// other pending timer before it fires, as conntrack refreshes do. The baseline is the textbook
// alternative: a binary heap with lazy deletion, where a re-arm leaves a dead entry behind.
import { performance } from 'node:perf_hooks';
import { Simulation, Stream, type Actor, type Ctx, type Timer } from '../../sim/index.js';
import { EventQueue } from '../../sim/queue.js';

const TIMERS = 1_000_000;
const MEAN_NS = 1_000_000_000; // mean hold time 1 s
// The message carries its own timer, as a model that re-arms on expiry would keep it.
type Fire = { readonly kind: 'fire'; timer: Timer<Fire> | undefined };

export interface HoldMeasured {
  readonly events: number;
  readonly seconds: number;
  readonly queueLength: number;
  readonly queueBytes: number;
  /** Simulated time of the last event: equal for the three variants (same draws, same order). */
  readonly endTime: number;
}

export function engineHold(seed: number, events: number, timerCount = TIMERS): HoldMeasured {
  const sim = new Simulation({ seed, run: 0, queueCapacity: timerCount });
  sim.spawn('hold', new HoldActor(timerCount));
  const t0 = performance.now();
  sim.run({ maxEvents: events });
  const seconds = (performance.now() - t0) / 1000;
  return { events, seconds, queueLength: sim.pending, queueBytes: sim.queueBytes, endTime: sim.now };
}

// A class, not an object literal with closures: the rounds of one benchmark process then share
// one `receive`, and the engine's call site stays monomorphic.
class HoldActor implements Actor<Fire> {
  private readonly timers: Timer<Fire>[] = [];
  private rng!: Stream;

  constructor(private readonly timerCount: number) {}

  init(ctx: Ctx): void {
    this.rng = ctx.rng;
    for (let i = 0; i < this.timerCount; i++) {
      const msg: Fire = { kind: 'fire', timer: undefined };
      const t = ctx.timer<Fire>(msg);
      msg.timer = t;
      this.timers.push(t);
      ctx.addTimer(t, Math.round(this.rng.exponential(MEAN_NS)));
    }
  }

  receive(msg: Fire, ctx: Ctx): void {
    const rng = this.rng;
    ctx.addTimer(msg.timer!, ctx.now + Math.round(rng.exponential(MEAN_NS)));
    // Every timer but the one firing is pending, and that one was re-armed above, so
    // mod_timer always moves a pending timer here.
    if (rng.next() < 0.25)
      ctx.modTimer(this.timers[rng.intBelow(this.timerCount)]!, ctx.now + Math.round(rng.exponential(MEAN_NS)));
  }
}

/**
 * The classic hold model on the pending-event set alone (no actors, no Timer objects): pop the
 * earliest event, push it again a random hold time later, and one time in four reschedule a
 * random other pending event by its handle. Same queue as the engine's, same random draws.
 */
export function queueHold(seed: number, events: number, timerCount = TIMERS): HoldMeasured {
  const rng = new Stream({ seed, run: 0 }, 'hold');
  const q = new EventQueue<number>(timerCount);
  const handles = new Float64Array(timerCount);
  for (let i = 0; i < timerCount; i++) handles[i] = q.push(Math.round(rng.exponential(MEAN_NS)), 0, 0, 0, i);
  let now = 0;
  const t0 = performance.now();
  for (let e = 0; e < events; e++) {
    now = q.peekTime();
    const slot = q.popSlot();
    const i = q.payloadOf(slot);
    q.release(slot);
    handles[i] = q.push(now + Math.round(rng.exponential(MEAN_NS)), 0, 0, 0, i);
    if (rng.next() < 0.25)
      q.reschedule(handles[rng.intBelow(timerCount)]!, now + Math.round(rng.exponential(MEAN_NS)), 0);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { events, seconds, queueLength: q.size, queueBytes: q.byteLength, endTime: now };
}

/**
 * `queueHold` with one plain object per timer (its message, holding its handle) as the payload,
 * as any model that knows which timer fired must have. No actors, no engine: the gap between
 * this and `queueHold` is what touching one object per event costs at this size.
 */
export function objectHold(seed: number, events: number, timerCount = TIMERS): HoldMeasured {
  const rng = new Stream({ seed, run: 0 }, 'hold');
  type Rec = { readonly kind: 'fire'; handle: number };
  const q = new EventQueue<Rec>(timerCount);
  const recs: Rec[] = [];
  for (let i = 0; i < timerCount; i++) {
    const r: Rec = { kind: 'fire', handle: -1 };
    r.handle = q.push(Math.round(rng.exponential(MEAN_NS)), 0, 0, 0, r);
    recs.push(r);
  }
  let now = 0;
  const t0 = performance.now();
  for (let e = 0; e < events; e++) {
    now = q.peekTime();
    const slot = q.popSlot();
    const r = q.payloadOf(slot);
    q.release(slot);
    r.handle = q.push(now + Math.round(rng.exponential(MEAN_NS)), 0, 0, 0, r);
    if (rng.next() < 0.25)
      q.reschedule(recs[rng.intBelow(timerCount)]!.handle, now + Math.round(rng.exponential(MEAN_NS)), 0);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { events, seconds, queueLength: q.size, queueBytes: q.byteLength, endTime: now };
}

interface Entry {
  time: number;
  seq: number;
  i: number;
  gen: number;
}

export function lazyHeapHold(seed: number, events: number, timerCount = TIMERS): HoldMeasured {
  const rng = new Stream({ seed, run: 0 }, 'hold');
  const heap: Entry[] = [];
  const gen = new Int32Array(timerCount);
  let seq = 0;
  const less = (a: Entry, b: Entry): boolean => a.time < b.time || (a.time === b.time && a.seq < b.seq);
  const push = (e: Entry): void => {
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(e, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = e;
  };
  const pop = (): Entry => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= heap.length) break;
        if (c + 1 < heap.length && less(heap[c + 1]!, heap[c]!)) c++;
        if (!less(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  };
  for (let i = 0; i < timerCount; i++) push({ time: Math.round(rng.exponential(MEAN_NS)), seq: seq++, i, gen: 0 });
  const t0 = performance.now();
  let done = 0;
  let now = 0;
  while (done < events) {
    const e = pop();
    if (e.gen !== gen[e.i]) continue; // a dead entry left by a re-arm
    done++;
    now = e.time;
    push({ time: now + Math.round(rng.exponential(MEAN_NS)), seq: seq++, i: e.i, gen: ++gen[e.i]! });
    if (rng.next() < 0.25) {
      const o = rng.intBelow(timerCount);
      push({ time: now + Math.round(rng.exponential(MEAN_NS)), seq: seq++, i: o, gen: ++gen[o]! });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { events, seconds, queueLength: heap.length, queueBytes: NaN, endTime: now };
}
