/**
 * Actors: private mutable state plus `receive(msg, ctx)`. An actor acts on the world only
 * through its {@link Ctx}, so a test can drive it with a fake context and no engine.
 * @module
 */
import type { EventHandle } from './queue.js';
import type { Counter, Gauge, Histogram, Tally } from './record.js';
import type { Stream } from './rng.js';
import type { SimTime } from './time.js';

/** An actor's path-like name, e.g. `kernel/ecache` or `netlink/sock-0`. */
export type ActorId = string;

/** An actor's index in its simulation (spawn order); faster to send to than an id. */
export type ActorRef = number;

/** Every message is a plain object discriminated by a short lowercase `kind`. */
export interface Message {
  readonly kind: string;
}

/** The behaviour of an actor. */
export interface Actor<M extends Message = Message> {
  /** Handles one message. Must act only through `ctx`. */
  receive(msg: M, ctx: Ctx): void;
  /** Called once when the actor is spawned (schedule first events here). */
  init?(ctx: Ctx): void;
  /** A plain, serialisable view of the state, for checkpoints and tests. */
  snapshot?(): unknown;
}

/**
 * A kernel-style timer owned by one actor. When it expires, `msg` is delivered to the owner.
 * Create it with {@link Ctx.timer}; arm it with `addTimer`/`modTimer`.
 */
export interface Timer<M extends Message = Message> {
  /** The message delivered to the owner on expiry. */
  readonly msg: M;
  /** Absolute expiry time (ns) of the last arming. */
  readonly expires: SimTime;
}

/** What an actor can do. */
export interface Ctx {
  /** Current simulated time (ns). */
  readonly now: SimTime;
  /** This actor's id. */
  readonly self: ActorId;
  /** This actor's random stream (named after its id). */
  readonly rng: Stream;
  /** An independent sub-stream: `stream('lifetimes')` is `<self>/lifetimes`. */
  stream(name: string): Stream;
  /** Resolves an actor id to a ref (throws if unknown). */
  ref(id: ActorId): ActorRef;
  /** Sends `msg` to `to` after `delay` ns (default 0). Returns a handle for `cancel`. */
  send<M extends Message>(to: ActorId | ActorRef, msg: M, delay?: SimTime): EventHandle;
  /** Cancels a pending send; false if it already ran or was cancelled. */
  cancel(handle: EventHandle): boolean;
  /** Creates an unarmed timer that will deliver `msg` to this actor. */
  timer<M extends Message>(msg: M): Timer<M>;
  /** `add_timer`: arms an idle timer to fire at absolute time `expires`; throws if pending. */
  addTimer(timer: Timer, expires: SimTime): void;
  /** `mod_timer`: (re-)arms the timer at `expires`; returns true if it was pending. */
  modTimer(timer: Timer, expires: SimTime): boolean;
  /** `del_timer`: disarms; returns true if it was pending. */
  delTimer(timer: Timer): boolean;
  /** `timer_pending`. */
  timerPending(timer: Timer): boolean;
  /** Adds `by` (default 1) to this actor's counter `name`. */
  count(name: string, by?: number): void;
  /** Adds an observation to this actor's tally `name`. */
  sample(name: string, value: number): void;
  /** Sets this actor's time-weighted gauge `name` to `value` now. */
  level(name: string, value: number): void;
  /** This actor's counter `name` (look it up once, then `add()` on the hot path). */
  counter(name: string): Counter;
  /** This actor's tally `name`. */
  tally(name: string): Tally;
  /** This actor's time-weighted gauge `name`. */
  gauge(name: string): Gauge;
  /** This actor's histogram `name` over [lo, hi) with `bins` bins (fixed by the first call). */
  histogram(name: string, lo: number, hi: number, bins: number): Histogram;
  /** Stops the simulation after the current event. */
  stop(): void;
}
