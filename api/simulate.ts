// One scenario, one replication, one plain summary: the shortest way from a config to numbers,
// for scripts that do not need the sweep machinery of runExperiment.
import { buildScenario, parseScenario, type Scenario, type ScenarioConfig, type Sample } from '../models/scenario.js';
import type { CtStats } from '../models/kernel/types.js';
import type { ListenerStats } from '../models/listeners/types.js';

/** What one listener did in a run. */
export interface ListenerSummary {
  /** Actor id, e.g. `listener/conntrackd-0`. */
  readonly id: string;
  readonly kind: string;
  readonly stats: Readonly<ListenerStats>;
  /** Broadcasts its socket refused (the Drops column of /proc/net/netlink). */
  readonly socketDrops: number;
  /** SO_RCVBUF as the kernel set it, in bytes, at the end of the run. */
  readonly rcvbuf: number;
  /** False if it exited (`conntrack -E` ≤ 1.4.5 on ENOBUFS). */
  readonly running: boolean;
}

/** What a run did: the kernel's counters, every listener's and the run's fingerprint. */
export interface RunSummary {
  /** SHA-256 over every event the engine handled: equal fingerprints, equal runs. */
  readonly fingerprint: string;
  /** Events the engine handled. */
  readonly events: number;
  /** Simulated time at the end, in seconds. */
  readonly endS: number;
  /** `conntrack -S` counters. */
  readonly stats: Readonly<CtStats>;
  /** Entries at the end: in the table (`nf_conntrack_count`) and parked for redelivery. */
  readonly count: number;
  readonly parked: number;
  /** Every counter the models recorded, summed over actors, by metric name (`ct.destroy_attempts`). */
  readonly totals: Readonly<Record<string, number>>;
  readonly listeners: readonly ListenerSummary[];
  /** The time series, if the scenario samples (`sampleMs` > 0). */
  readonly series: readonly Sample[];
}

/** Options of {@link simulate}. */
export interface SimulateOptions {
  /** Master seed (default 1). */
  readonly seed?: number;
  /** Replication index: replication r of seed s is the same run everywhere (default 0). */
  readonly run?: number;
}

/**
 * Runs one replication of a scenario and summarises it. `scenario` is either a config as
 * written (checked here; a bad field throws a `ConfigError`, from `nfct-sim/sim`, naming it) or a
 * {@link Scenario} that {@link parseScenario} returned.
 */
export function simulate(scenario: ScenarioConfig | Scenario, opts: SimulateOptions = {}): RunSummary {
  const sc = isParsed(scenario) ? scenario : parseScenario(scenario);
  const run = buildScenario(sc, { seed: opts.seed ?? 1, run: opts.run ?? 0 }, { logs: false, truth: false });
  run.run();
  const { sim, kernel, listeners, listenerIds } = run.world;
  const totals: Record<string, number> = {};
  for (const [key, value] of Object.entries(sim.recorder.snapshot(sim.now).counters)) {
    const name = key.slice(key.indexOf(':') + 1); // keys are `<actor>:<metric>`
    totals[name] = (totals[name] ?? 0) + value;
  }
  return {
    fingerprint: sim.fingerprint,
    events: sim.eventCount,
    endS: sim.now / 1e9,
    stats: { ...kernel.view.stats },
    count: kernel.view.table.count,
    parked: kernel.view.parkedCount(),
    totals,
    listeners: listeners.map((l, i) => ({
      id: listenerIds[i]!,
      kind: l.cfg.kind,
      stats: structuredClone(l.stats),
      socketDrops: l.socket.drops,
      rcvbuf: l.socket.rcvbuf,
      running: l.running,
    })),
    series: run.series,
  };
}

function isParsed(s: ScenarioConfig | Scenario): s is Scenario {
  return 'config' in s && 'kernel' in s && 'netlink' in s && !('preset' in s);
}
