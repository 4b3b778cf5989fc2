// A Ctx that records what an actor does, so a model can be unit-tested without the engine.
import type { ActorId, ActorRef, Ctx, Message, Timer } from '../../sim/index.js';
import type { Stream } from '../../sim/index.js';
import { Counter, Gauge, Histogram, Recorder, Tally } from '../../sim/record.js';
import { Streams } from '../../sim/rng.js';

export interface Sent {
  readonly to: ActorId;
  readonly msg: Message;
  readonly delay: number;
}

interface FakeTimer extends Timer {
  armed: boolean;
  expires: number;
}

export interface FakeCtx extends Ctx {
  now: number;
  readonly sent: Sent[];
  readonly counters: Map<string, number>;
  readonly samples: Map<string, number[]>;
  readonly recorder: Recorder;
  /** Timers in arming order, with their state. */
  readonly timers: FakeTimer[];
  stopped: boolean;
}

/** A fake context for actor `self` with streams seeded from `seed` (run 0). */
export function fakeCtx(opts: { seed: number; self: ActorId; now?: number; actors?: ActorId[] }): FakeCtx {
  const streams = new Streams({ seed: opts.seed, run: 0 });
  const recorder = new Recorder();
  const actors = opts.actors ?? [];
  const counters = new Map<string, number>();
  const samples = new Map<string, number[]>();
  const sent: Sent[] = [];
  const timers: FakeTimer[] = [];
  const idOf = (to: ActorId | ActorRef): ActorId => (typeof to === 'number' ? (actors[to] ?? `#${to}`) : to);
  const ctx: FakeCtx = {
    now: opts.now ?? 0,
    self: opts.self,
    sent,
    counters,
    samples,
    recorder,
    timers,
    stopped: false,
    get rng(): Stream {
      return streams.get(opts.self);
    },
    stream: (name) => streams.get(`${opts.self}/${name}`),
    ref: (id) => {
      const i = actors.indexOf(id);
      if (i < 0) throw new RangeError(`no actor called ${id}`);
      return i;
    },
    send<M extends Message>(to: ActorId | ActorRef, msg: M, delay = 0) {
      if (!Number.isSafeInteger(delay) || delay < 0) throw new RangeError(`bad delay ${delay}`);
      sent.push({ to: idOf(to), msg, delay });
      return sent.length - 1;
    },
    cancel: () => false,
    timer<M extends Message>(msg: M): Timer<M> {
      const t = { msg, expires: 0, armed: false };
      timers.push(t);
      return t as Timer<M>;
    },
    addTimer(t, expires) {
      const f = t as FakeTimer;
      if (f.armed) throw new Error('add_timer on a pending timer');
      f.armed = true;
      f.expires = expires;
    },
    modTimer(t, expires) {
      const f = t as FakeTimer;
      const was = f.armed;
      f.armed = true;
      f.expires = expires;
      return was;
    },
    delTimer(t) {
      const f = t as FakeTimer;
      const was = f.armed;
      f.armed = false;
      return was;
    },
    timerPending: (t) => (t as FakeTimer).armed,
    count(name, by = 1) {
      counters.set(name, (counters.get(name) ?? 0) + by);
    },
    sample(name, value) {
      const a = samples.get(name) ?? [];
      a.push(value);
      samples.set(name, a);
    },
    level(name, value) {
      recorder.gauge(opts.self, name).set(value, ctx.now);
    },
    counter: (name): Counter => recorder.counter(opts.self, name),
    tally: (name): Tally => recorder.tally(opts.self, name),
    gauge: (name): Gauge => recorder.gauge(opts.self, name),
    histogram: (name, lo, hi, bins): Histogram => recorder.histogram(opts.self, name, lo, hi, bins),
    stop() {
      ctx.stopped = true;
    },
  };
  return ctx;
}
