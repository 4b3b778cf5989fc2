// The live scenarios as one table: how each takes its parameters, runs on the host, runs in the
// simulator, and which of its result columns `compare` holds side by side.
import { ConfigError } from '../../sim/index.js';
import type { Row } from '../lib/experiment.js';
import { liveCapacity, simulateCapacity, type CapacityParams } from './capacity.js';
import { flushRow, liveFlush, type FlushParams, type FlushRecord, type TableSample } from './flush.js';
import { simulateExhaustion, simulateExpiry, simulateFlush } from './twin.js';
import { expiryRow, latenessOf, liveExpiry, type ExpiryParams, type ExpiryRecord } from './expiry.js';
import { exhaustionRow, liveExhaustion, type ExhaustionParams, type ExhaustionRecord } from './exhaustion.js';
import { writeRunDir, type LiveScenario } from './dir.js';
import { calibrationValues } from './calibration.js';

/** What a scenario run produces: results.csv rows and series files. */
export interface ScenarioOutput {
  results: Row[];
  series: Record<string, Row[]>;
}

/**
 * A compared column: counts are held to 10 %, times to 15 % (issue #6's targets); 'observed'
 * figures are shown side by side without a target (they depend on the host's CPU sharing).
 */
export interface Metric {
  column: string;
  kind: 'count' | 'time' | 'observed';
}

/** The command line's options of `nfct-sim live` (each scenario reads its own). */
export interface LiveOptions {
  repeats: number;
  buffers: string;
  /** Per-scenario default when not given. */
  flows?: number;
  entries: number;
  buffer: number;
  force: boolean;
  unreliable: boolean;
  /** Per-scenario default when not given. */
  delayUs?: number;
  timeoutS: number;
  offsetS: number;
  max: number;
  rateHz: number;
  durationS: number;
  fillRateHz: number;
}

export interface ScenarioDef<P extends object> {
  describe: string;
  params(o: LiveOptions): P;
  /** Columns that identify a case (rows with the same values are repeats of it). */
  keys: string[];
  metrics: Metric[];
  live(p: P): Promise<ScenarioOutput>;
  simulate(p: P): ScenarioOutput;
}

/** samples.csv: the table samples of every repeat. */
function samplesSeries(recs: readonly { samples: readonly TableSample[] }[]): Row[] {
  return recs.flatMap((r, i) =>
    r.samples.map((s) => ({ repeat: i, t_ms: s.tMs, count: s.count, parked: s.parked ?? '' })),
  );
}

function flushOutput(p: FlushParams, recs: FlushRecord[]): ScenarioOutput {
  return {
    results: recs.map((r, i) => flushRow(p, i, r)),
    series: {
      destroys: recs.flatMap((r, i) => r.destroyMs.map((t) => ({ repeat: i, t_ms: t }))),
      samples: samplesSeries(recs),
    },
  };
}

const capacity: ScenarioDef<CapacityParams> = {
  describe: 'events held by a listener that does not read, per SO_RCVBUF request',
  params: (o) => {
    const buffers = o.buffers.split(',').map((x) => Number(x));
    if (buffers.some((b) => !Number.isSafeInteger(b) || b < 1))
      throw new ConfigError('--buffers', o.buffers, 'must be a comma-separated list of positive integers');
    return { buffers, repeats: o.repeats, flows: o.flows ?? 500 };
  },
  keys: ['requested_bytes'],
  metrics: [
    { column: 'rcvbuf_bytes', kind: 'count' },
    { column: 'held_events', kind: 'count' },
    { column: 'rmem_bytes', kind: 'count' },
  ],
  live: async (p) => ({ results: await liveCapacity(p), series: {} }),
  simulate: (p) => ({ results: simulateCapacity(p), series: {} }),
};

const flush: ScenarioDef<FlushParams> = {
  describe: 'conntrack -F of N unreplied flows into one listener: burst, period, last DESTROY',
  params: (o) => ({
    entries: o.entries,
    buffer: o.buffer,
    force: o.force,
    reliable: !o.unreliable,
    delayUs: o.delayUs ?? 0,
    fillRateHz: o.fillRateHz,
    repeats: o.repeats,
  }),
  keys: ['entries', 'buffer', 'force', 'reliable', 'delay_us'],
  metrics: [
    { column: 'rcvbuf_bytes', kind: 'count' },
    { column: 'destroys', kind: 'count' },
    { column: 'enobufs', kind: 'count' },
    { column: 'enobufs_before_flush', kind: 'observed' },
    { column: 'drops', kind: 'observed' },
    { column: 'burst', kind: 'observed' },
    { column: 'later_burst', kind: 'count' },
    { column: 'period_ms', kind: 'time' },
    { column: 'last_after_first_ms', kind: 'time' },
  ],
  live: async (p) => flushOutput(p, await liveFlush(p)),
  simulate: (p) => flushOutput(p, simulateFlush(p)),
};

const expiry: ScenarioDef<ExpiryParams> = {
  describe: 'a burst of UDP flows with a short timeout: how late their DESTROYs come (the gc schedule)',
  params: (o) => ({
    flows: o.flows ?? 1000,
    timeoutS: o.timeoutS,
    offsetS: o.offsetS,
    fillRateHz: o.fillRateHz,
    repeats: o.repeats,
  }),
  keys: ['flows', 'timeout_s', 'offset_s'],
  metrics: [
    { column: 'destroys', kind: 'count' },
    { column: 'gc_wait_ms', kind: 'time' },
    { column: 'median_lateness_ms', kind: 'time' },
    { column: 'spread_ms', kind: 'time' },
  ],
  live: async (p) => expiryOutput(p, await liveExpiry(p)),
  simulate: (p) => expiryOutput(p, simulateExpiry(p)),
};

function expiryOutput(p: ExpiryParams, recs: ExpiryRecord[]): ScenarioOutput {
  return {
    results: recs.map((r, i) => expiryRow(p, i, r)),
    series: {
      lateness: recs.flatMap((r, i) => {
        const late = latenessOf(p, r);
        return r.flows.map((f, k) => ({ repeat: i, new_ms: f.newMs, destroy_ms: f.destroyMs, lateness_ms: late[k]! }));
      }),
    },
  };
}

const exhaustion: ScenarioDef<ExhaustionParams> = {
  describe: 'nf_conntrack_max filled, flushed into a slow reliable listener: how many new flows fail and for how long',
  params: (o) => ({
    max: o.max,
    buffer: o.buffer,
    force: o.force,
    delayUs: o.delayUs ?? 10_000,
    rateHz: o.rateHz,
    durationS: o.durationS,
    fillRateHz: o.fillRateHz,
    repeats: o.repeats,
  }),
  keys: ['max', 'buffer', 'force', 'delay_us', 'rate_hz', 'duration_s'],
  metrics: [
    { column: 'refused', kind: 'count' },
    { column: 'first_refused_ms', kind: 'time' },
    { column: 'last_refused_ms', kind: 'time' },
  ],
  live: async (p) => exhaustionOutput(p, await liveExhaustion(p)),
  simulate: (p) => exhaustionOutput(p, simulateExhaustion(p)),
};

function exhaustionOutput(p: ExhaustionParams, recs: ExhaustionRecord[]): ScenarioOutput {
  return {
    results: recs.map((r, i) => exhaustionRow(p, i, r)),
    series: {
      refused: recs.flatMap((r, i) => r.refusedMs.map((t) => ({ repeat: i, t_ms: t }))),
      samples: samplesSeries(recs),
    },
  };
}

export const SCENARIOS: Record<LiveScenario, ScenarioDef<never>> = {
  capacity: capacity as ScenarioDef<never>,
  flush: flush as ScenarioDef<never>,
  expiry: expiry as ScenarioDef<never>,
  exhaustion: exhaustion as ScenarioDef<never>,
};

/** Runs `scenario` live or simulated and writes its folder; returns the results. */
export async function runScenario(
  scenario: LiveScenario,
  o: LiveOptions,
  source: 'live' | 'sim',
  out: string,
  system: () => string,
): Promise<Row[]> {
  const def = SCENARIOS[scenario] as unknown as ScenarioDef<object>;
  const p = def.params(o);
  const res = source === 'live' ? await def.live(p) : def.simulate(p);
  // Repeats may differ between a live run and its twin; the rest must match for `compare`.
  const params = { ...(p as Record<string, number | boolean | string | number[]>) };
  delete params.repeats;
  writeRunDir(
    out,
    {
      scenario,
      source,
      params,
      system: system(),
      ...(source === 'sim' ? { calibration: calibrationValues() } : {}),
    },
    res.results,
    res.series,
  );
  return res.results;
}
