// `npm run bench -- machine`: the same 1,000,000-flow scenario with and without the machine model (issue #13),
// in one run: events per second, wall time, and the machine's share of the events. A flow burst
// into a 20 us conntrackd-like reader, then conntrack -F, on linux-6.18; on the machine the
// sender, the reader, a pipe reader, the flush and one background hog share 2 CPUs.
import { performance } from 'node:perf_hooks';
import { buildScenario, parseScenario, type ScenarioConfig } from '../../models/scenario.js';
import { DEFAULT_MACHINE_SETUP } from '../../models/cpu/machine.js';
import { flushCosts, twinOn } from '../live/twin.js';
import { reliableConntrackd, scenario, workload } from '../lib/common.js';

export interface MachineBench {
  readonly machine: boolean;
  readonly wallS: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  /** Simulated flows per wall second. */
  readonly flowsPerSecond: number;
}

function config(flows: number, machine: boolean): ScenarioConfig {
  const sc = scenario({
    preset: 'linux-6.18',
    kernel: flushCosts(twinOn()),
    listeners: [reliableConntrackd(212992, 20)],
    workloads: [workload({ kind: 'udp', arrivals: 'constant', rateHz: 100_000, flows, stopS: 60, replyProb: 0 })],
    actions: [{ atS: 2 + flows / 100_000, kind: 'flush' }],
    durationS: 10 + flows / 10_000,
    sampleMs: 0,
  });
  return machine ? { ...sc, machine: { ...DEFAULT_MACHINE_SETUP, background: { runnable: 1, burstMs: 5 } } } : sc;
}

/** One run of the scenario, with or without the machine. */
export function benchMachine(flows: number, machine: boolean): MachineBench {
  const run = buildScenario(parseScenario(config(flows, machine)), { seed: 1, run: 0 }, { truth: false, logs: false });
  const t0 = performance.now();
  run.run();
  const wallS = (performance.now() - t0) / 1000;
  const events = run.world.sim.eventCount;
  return { machine, wallS, events, eventsPerSecond: events / wallS, flowsPerSecond: flows / wallS };
}
