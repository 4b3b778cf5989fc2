/**
 * nfct-sim's generic discrete-event engine. It knows nothing about netfilter: integer time,
 * actors and their context, kernel-style timers, seeded random streams, statistics, traces and
 * fingerprints, replications, sweeps and shards, and config validation.
 *
 * This is the engine's public facade; the modules behind it (the event queue's slot protocol,
 * the worker pool, file-writing traces, slot timers) are internal and imported by path inside
 * the repository.
 * @module
 */
export { ns, us, ms, s, toSeconds, formatTime, type SimTime } from './time.js';
export type { EventHandle } from './queue.js';
export type { Actor, ActorId, ActorRef, Ctx, Message, Timer } from './actor.js';
export { Simulation, type RunLimits, type RunResult, type SimulationOptions, type StopReason } from './engine.js';
export { Stream, empiricalTable, type EmpiricalTable, type RunSeed, type Streams } from './rng.js';
export type { Counter, Gauge, Histogram, Recorder, RecorderSnapshot, Tally } from './record.js';
export { confidenceInterval, kaplanMeier, kmQuantile, type Duration, type Interval } from './stats.js';
export { MemoryTrace, type TraceSink } from './trace.js';
export { BitSet, type IntSetView } from './bitset.js';
export {
  mergeShards,
  parseShard,
  planTasks,
  selectShard,
  siblingModule,
  sweep,
  type RunnerRef,
  type Shard,
  type SweepAxis,
  type Task,
  type TaskResult,
} from './replicate.js';
export { ConfigError, checkBool, checkInt, checkNumber, checkObject, checkOneOf, type Bounds } from './validate.js';
