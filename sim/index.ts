/**
 * nfct-sim's generic discrete-event engine. It knows nothing about netfilter: integer time,
 * the event queue, actors and timers, seeded random streams, statistics, traces and
 * fingerprints, replications, sweeps and shards, and config validation.
 * @module
 */
export * from './time.js';
export * from './queue.js';
export * from './actor.js';
export * from './engine.js';
export * from './rng.js';
export * from './record.js';
export * from './stats.js';
export * from './trace.js';
export * from './replicate.js';
export * from './validate.js';
