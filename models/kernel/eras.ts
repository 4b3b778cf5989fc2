// The eras of conntrack event delivery, each a set of strategies: its event bits, its event
// cache, its DESTROY redelivery and its expiry. A preset names an era; the core asks the era's
// modules and never which era it is in. A new era or a user's own redelivery design is one more
// entry here (docs/architecture.md#adding-an-era).
import { BITS_E0, BITS_E1 } from './events.js';
import { PerConntrackCache, PerCpuSlotCache } from './ecache.js';
import { GcExpiry } from './expiry/gc.js';
import { TimerExpiry } from './expiry/timers.js';
import { BackoffExample } from './redelivery/backoff-example.js';
import { E0BestEffort } from './redelivery/e0-best-effort.js';
import { E1RetryTimer } from './redelivery/e1-retry-timer.js';
import { E2PerCpuWork } from './redelivery/e2-percpu-work.js';
import { E3EcacheState } from './redelivery/e3-ecache-state.js';
import { E4DedicatedList } from './redelivery/e4-dedicated-list.js';
import type { EraModel, EventCache, Expiry, KernelCore } from './strategies.js';

const timers = (core: KernelCore): Expiry => new TimerExpiry(core);
const gc = (core: KernelCore): Expiry => new GcExpiry(core);
/** 2.6.31 – 4.8: nf_conntrack_eventmask_report leaves DYING entries alone. */
const cache2631 = (core: KernelCore): EventCache => new PerConntrackCache(core, false);
/** 4.9+: the deleter sets IPS_DYING before it reports, so the report accepts DYING entries. */
const cache49 = (core: KernelCore): EventCache => new PerConntrackCache(core, true);

const e4: EraModel = {
  description: 'dedicated ecache list, newest first, 10 ms budget, 10 ms retry (2ed3bf188b33, 5.19)',
  bits: BITS_E1,
  reliable: true,
  expiry: 'gc',
  eventsSysctlValues: [0, 1, 2],
  createCache: cache49,
  createRedelivery: (core) => new E4DedicatedList(core),
  createExpiry: gc,
};

const ERA_MODELS = new Map<string, EraModel>([
  [
    'E0',
    {
      description: 'best effort: per-CPU single-slot cache, DESTROY at the last reference (≤ 2.6.30)',
      bits: BITS_E0,
      reliable: false,
      expiry: 'timer',
      eventsSysctlValues: [1],
      createCache: (core) => new PerCpuSlotCache(core),
      createRedelivery: (core) => new E0BestEffort(core),
      createExpiry: timers,
    },
  ],
  [
    'E1',
    {
      description: 'missed cache, dying list, per-entry retry timer U[0, 15 s) (dd7669a92c, 2.6.31)',
      bits: BITS_E1,
      reliable: true,
      expiry: 'timer',
      eventsSysctlValues: [0, 1],
      createCache: cache2631,
      createRedelivery: (core) => new E1RetryTimer(core),
      createExpiry: timers,
    },
  ],
  [
    'E2',
    {
      description: 'per-CPU dying lists, per-netns delayed work, 1 s then 100 ms (9500507c6138, 3.17)',
      bits: BITS_E1,
      reliable: true,
      expiry: 'timer',
      eventsSysctlValues: [0, 1],
      createCache: cache2631,
      createRedelivery: (core) => new E2PerCpuWork(core),
      createExpiry: timers,
    },
  ],
  [
    'E3',
    {
      description: 'no conntrack timer, gc worker, ecache state on E2 lists (f330a7fdbe16 / b87a2f9199ea, 4.9)',
      bits: BITS_E1,
      reliable: true,
      expiry: 'gc',
      eventsSysctlValues: [0, 1],
      createCache: cache49,
      createRedelivery: (core) => new E3EcacheState(core),
      createExpiry: gc,
    },
  ],
  ['E4', e4],
  [
    'E4-backoff',
    {
      ...e4,
      description: 'example design, not a kernel: E4 with a per-entry retry timer doubling from 10 ms to 15 s',
      createRedelivery: (core) => new BackoffExample(core),
    },
  ],
]);

/** Names of the known eras and designs. */
export function eraNames(): string[] {
  return [...ERA_MODELS.keys()];
}

/** The era `name`; throws if it is not registered (configs are validated before this). */
export function eraModel(name: string): EraModel {
  const m = ERA_MODELS.get(name);
  if (m === undefined) throw new Error(`unknown era ${name}`);
  return m;
}

/**
 * Registers a design under a new name, so that `kernel.era` can name it. Registration is per
 * process: worker processes see only what their modules register at load time, so a design meant
 * for `nfct-sim run --jobs > 1` must be registered by a module imported from this one (as the
 * example is).
 */
export function registerEra(name: string, model: EraModel): void {
  if (ERA_MODELS.has(name)) throw new Error(`era ${name} is already registered`);
  ERA_MODELS.set(name, model);
}
