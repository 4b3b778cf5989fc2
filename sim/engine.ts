/**
 * The simulation kernel: actors, the event queue, timers, streams, metrics and run control.
 * @module
 */
import type { Actor, ActorId, ActorRef, Ctx, Message, Timer } from './actor.js';
import { EventQueue, PRIORITY_DEFAULT, PRIORITY_MIN, type EventHandle } from './queue.js';
import { Recorder, type Counter, type Gauge, type Histogram, type Tally } from './record.js';
import { Streams, type RunSeed, type Stream } from './rng.js';
import { assertTime, type SimTime } from './time.js';
import { Fingerprint, type TraceSink } from './trace.js';

/** Options of a {@link Simulation}. */
export interface SimulationOptions extends RunSeed {
  /** Compute the event fingerprint (costs a few ns per event). Default false. */
  readonly fingerprint?: boolean;
  /** Receives every dispatched event (opt-in; slows the run). */
  readonly trace?: TraceSink;
  /** Initial capacity of the event queue. */
  readonly queueCapacity?: number;
}

/** Limits for {@link Simulation.run}. */
export interface RunLimits {
  /** Process only events with time strictly below this (ns). Default: no limit. */
  readonly until?: SimTime;
  /** Stop after this many events. Default: no limit. */
  readonly maxEvents?: number;
}

/** Why {@link Simulation.run} returned. */
export type StopReason = 'empty' | 'until' | 'maxEvents' | 'stopped';

/** Result of {@link Simulation.run}. */
export interface RunResult {
  readonly reason: StopReason;
  /** Events processed by this call. */
  readonly events: number;
  /** Simulated time at return. */
  readonly now: SimTime;
}

const CONTROL = -2; // target index of engine-internal events
const OUTSIDE = -1; // source index of events scheduled from outside any actor

type ControlMsg = { readonly kind: 'warmup-cut' };

class TimerImpl<M extends Message> implements Timer<M> {
  handle = -1;
  expires = 0;
  constructor(
    readonly owner: number,
    readonly msg: M,
  ) {}
}

/**
 * A discrete-event simulation. Events run in `(time, priority, seq)` order (the event queue, sim/queue.ts).
 * Time advances only from event to event; nothing here reads the wall clock.
 */
export class Simulation {
  /** Current simulated time (ns). */
  now: SimTime = 0;
  /** Events dispatched so far. */
  eventCount = 0;
  /** Every metric recorded by the actors. */
  readonly recorder = new Recorder();
  /** The run's named random streams. */
  readonly streams: Streams;
  private readonly queue: EventQueue<Message>;
  private readonly actors: Actor[] = [];
  private readonly ctxs: ActorCtx[] = [];
  private readonly ids: ActorId[] = [];
  private readonly refs = new Map<ActorId, ActorRef>();
  private readonly fp: Fingerprint | undefined;
  private readonly trace: TraceSink | undefined;
  private stopRequested = false;

  constructor(readonly options: SimulationOptions) {
    if (!Number.isSafeInteger(options.seed))
      throw new RangeError(`seed must be a safe integer, got ${String(options.seed)}`);
    if (!Number.isSafeInteger(options.run) || options.run < 0)
      throw new RangeError(`run must be a non-negative integer, got ${String(options.run)}`);
    this.streams = new Streams(options);
    this.queue = new EventQueue<Message>(options.queueCapacity);
    this.fp = options.fingerprint === true ? new Fingerprint() : undefined;
    this.trace = options.trace;
  }

  /** Adds an actor under `id` (unique, non-empty) and calls its `init`. Returns its ref. */
  spawn<M extends Message>(id: ActorId, actor: Actor<M>): ActorRef {
    if (typeof id !== 'string' || !/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(id)) {
      throw new RangeError(
        `actor id must be a path of [A-Za-z0-9_.-] segments separated by '/', got ${JSON.stringify(id)}`,
      );
    }
    if (this.refs.has(id)) throw new RangeError(`actor id ${JSON.stringify(id)} is already taken`);
    const ref = this.actors.length;
    this.actors.push(actor as Actor);
    this.ids.push(id);
    this.refs.set(id, ref);
    const ctx = new ActorCtx(this, ref, id);
    this.ctxs.push(ctx);
    actor.init?.(ctx);
    return ref;
  }

  /** The ref of actor `id`; throws if there is none. */
  ref(id: ActorId | ActorRef): ActorRef {
    if (typeof id === 'number') {
      if (id >= 0 && id < this.actors.length && Number.isInteger(id)) return id;
      throw new RangeError(`no actor with ref ${id}`);
    }
    const r = this.refs.get(id);
    if (r === undefined) throw new RangeError(`no actor called ${JSON.stringify(id)}`);
    return r;
  }

  /** The id of actor `ref`. */
  idOf(ref: ActorRef): ActorId {
    return this.ids[ref]!;
  }

  /** The actor object spawned under `id`. */
  actor<A extends Actor = Actor>(id: ActorId): A {
    return this.actors[this.ref(id)] as A;
  }

  /** A named stream of this run (shared with actors that ask for the same name). */
  stream(name: string): Stream {
    return this.streams.get(name);
  }

  /** Schedules `msg` for `to` after `delay` ns, from outside any actor. */
  send<M extends Message>(to: ActorId | ActorRef, msg: M, delay: SimTime = 0): EventHandle {
    return this.schedule(OUTSIDE, this.ref(to), msg, delay, PRIORITY_DEFAULT);
  }

  /** Cancels a pending event; false if it already ran or was cancelled. */
  cancel(handle: EventHandle): boolean {
    return this.queue.cancel(handle);
  }

  /**
   * Applies the recorder's warm-up cut at absolute time `at`, before any other event at that
   * time (engine priority).
   */
  warmupAt(at: SimTime): void {
    const msg: ControlMsg = { kind: 'warmup-cut' };
    this.queue.push(assertTime(at, 'warm-up time'), PRIORITY_MIN, CONTROL, OUTSIDE, msg);
  }

  /** Number of pending events. */
  get pending(): number {
    return this.queue.size;
  }

  /** Time of the next event, or Infinity. */
  get nextTime(): number {
    return this.queue.peekTime();
  }

  /** Bytes held by the event queue's arrays. */
  get queueBytes(): number {
    return this.queue.byteLength;
  }

  /** The fingerprint so far as 8 hex digits (throws if fingerprinting is off). */
  get fingerprint(): string {
    if (this.fp === undefined) throw new Error('fingerprint was not enabled for this simulation');
    return this.fp.hex;
  }

  /** Requests a stop after the current event (callable from inside a handler). */
  stop(): void {
    this.stopRequested = true;
  }

  /** Processes exactly one event if there is one. Returns false when the queue is empty. */
  step(): boolean {
    return this.run({ maxEvents: 1 }).events === 1;
  }

  /**
   * Runs until the queue is empty, the next event is at or after `until`, `maxEvents` events
   * were processed, or `stop()` was called. With `until`, the clock ends at `until` unless the
   * run stopped earlier for another reason.
   */
  run(limits: RunLimits = {}): RunResult {
    const until = limits.until ?? Infinity;
    const maxEvents = limits.maxEvents ?? Infinity;
    if (until !== Infinity) assertTime(until, 'until');
    if (!(maxEvents >= 0)) throw new RangeError(`maxEvents must be >= 0, got ${String(maxEvents)}`);
    this.stopRequested = false;
    const q = this.queue;
    const { actors, ctxs, fp, trace } = this;
    let n = 0;
    let reason: StopReason = 'empty';
    for (;;) {
      if (n >= maxEvents) {
        reason = 'maxEvents';
        break;
      }
      const t = q.peekTime();
      if (t === Infinity) break;
      if (!(t < until)) {
        reason = 'until';
        break;
      }
      const slot = q.popSlot();
      const target = q.targetOf(slot);
      const msg = q.payloadOf(slot);
      const source = q.sourceOf(slot);
      q.release(slot);
      this.now = t;
      n++;
      this.eventCount++;
      if (target === CONTROL) {
        this.recorder.cut(t);
        continue;
      }
      if (fp !== undefined) fp.addEvent(t, target, msg.kind);
      if (trace !== undefined) trace.event(t, source >= 0 ? this.ids[source] : undefined, this.ids[target]!, msg);
      actors[target]!.receive(msg, ctxs[target]!);
      if (this.stopRequested) {
        reason = 'stopped';
        break;
      }
    }
    if (reason === 'until' || (reason === 'empty' && until !== Infinity)) this.now = Math.max(this.now, until);
    return { reason, events: n, now: this.now };
  }

  /** Plain snapshot of every actor that has one (freeze it with immer for checkpoints). */
  snapshot(): { now: SimTime; events: number; actors: Record<ActorId, unknown> } {
    const actors: Record<ActorId, unknown> = {};
    this.actors.forEach((a, i) => {
      if (a.snapshot) actors[this.ids[i]!] = a.snapshot();
    });
    return { now: this.now, events: this.eventCount, actors };
  }

  /** @internal */
  schedule(source: number, target: number, msg: Message, delay: SimTime, priority: number): EventHandle {
    if (!Number.isSafeInteger(delay) || delay < 0) {
      throw new RangeError(
        `delay must be a non-negative integer number of ns, got ${String(delay)} (message '${msg.kind}' to ${this.ids[target] ?? target})`,
      );
    }
    return this.queue.push(this.now + delay, priority, target, source, msg);
  }

  /** @internal `mod_timer`, or `add_timer` when `idle` is known. Returns true if it was pending. */
  armTimer(t: TimerImpl<Message>, expires: SimTime, idle: boolean): boolean {
    if (!Number.isSafeInteger(expires) || expires < 0) assertTime(expires, 'timer expiry');
    const at = expires < this.now ? this.now : expires; // a timer in the past fires at once
    t.expires = expires;
    if (!idle && this.queue.reschedule(t.handle, at, PRIORITY_DEFAULT)) return true;
    t.handle = this.queue.push(at, PRIORITY_DEFAULT, t.owner, t.owner, t.msg);
    return false;
  }

  /** @internal */
  disarmTimer(t: TimerImpl<Message>): boolean {
    return this.queue.cancel(t.handle);
  }

  /** @internal */
  timerPending(t: TimerImpl<Message>): boolean {
    return this.queue.isPending(t.handle);
  }
}

/** The context handed to one actor. */
class ActorCtx implements Ctx {
  private ownStream: Stream | undefined;

  constructor(
    private readonly sim: Simulation,
    private readonly selfRef: ActorRef,
    readonly self: ActorId,
  ) {}

  get now(): SimTime {
    return this.sim.now;
  }
  get rng(): Stream {
    return (this.ownStream ??= this.sim.stream(this.self));
  }
  stream(name: string): Stream {
    return this.sim.stream(`${this.self}/${name}`);
  }
  ref(id: ActorId): ActorRef {
    return this.sim.ref(id);
  }
  send<M extends Message>(to: ActorId | ActorRef, msg: M, delay: SimTime = 0): EventHandle {
    const target = typeof to === 'number' ? this.sim.ref(to) : to === this.self ? this.selfRef : this.sim.ref(to);
    return this.sim.schedule(this.selfRef, target, msg, delay, PRIORITY_DEFAULT);
  }
  cancel(handle: EventHandle): boolean {
    return this.sim.cancel(handle);
  }
  timer<M extends Message>(msg: M): Timer<M> {
    return new TimerImpl(this.selfRef, msg);
  }
  addTimer(timer: Timer, expires: SimTime): void {
    const t = timer as TimerImpl<Message>;
    if (this.sim.timerPending(t)) throw new Error(`add_timer on a pending timer ('${t.msg.kind}' of ${this.self})`);
    this.sim.armTimer(t, expires, true);
  }
  modTimer(timer: Timer, expires: SimTime): boolean {
    return this.sim.armTimer(timer as TimerImpl<Message>, expires, false);
  }
  delTimer(timer: Timer): boolean {
    return this.sim.disarmTimer(timer as TimerImpl<Message>);
  }
  timerPending(timer: Timer): boolean {
    return this.sim.timerPending(timer as TimerImpl<Message>);
  }
  count(name: string, by = 1): void {
    let c = this.countersByName.get(name);
    if (c === undefined) this.countersByName.set(name, (c = this.sim.recorder.counter(this.self, name)));
    c.add(by);
  }
  sample(name: string, value: number): void {
    let t = this.talliesByName.get(name);
    if (t === undefined) this.talliesByName.set(name, (t = this.sim.recorder.tally(this.self, name)));
    t.add(value);
  }
  // This actor's counters and tallies by bare name: count/sample run per event, and the
  // recorder's key is "owner:name", a string built on every call.
  private readonly countersByName = new Map<string, Counter>();
  private readonly talliesByName = new Map<string, Tally>();
  level(name: string, value: number): void {
    this.sim.recorder.gauge(this.self, name).set(value, this.sim.now);
  }
  counter(name: string): Counter {
    return this.sim.recorder.counter(this.self, name);
  }
  tally(name: string): Tally {
    return this.sim.recorder.tally(this.self, name);
  }
  gauge(name: string): Gauge {
    return this.sim.recorder.gauge(this.self, name);
  }
  histogram(name: string, lo: number, hi: number, bins: number): Histogram {
    return this.sim.recorder.histogram(this.self, name, lo, hi, bins);
  }
  stop(): void {
    this.sim.stop();
  }
}
