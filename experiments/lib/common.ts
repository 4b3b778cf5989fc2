// Small helpers shared by the experiments.
import {
  DEFAULT_CONNTRACK_E,
  DEFAULT_CONNTRACKD,
  DEFAULT_READER,
  type ConntrackdConfig,
  type ListenerConfig,
} from '../../models/listeners/config.js';
import type { ScenarioConfig, ScenarioRun } from '../../models/scenario.js';
import { DEFAULT_WORKLOAD, type WorkloadConfig } from '../../models/workloads/flows.js';
import type { PointSummary, Row } from './experiment.js';
import type { Ctx, Recorder } from '../../sim/index.js';
import { METRIC } from '../../models/names.js';

export const reader = (costUs: number, wakeupUs = 50) => ({
  ...DEFAULT_READER,
  costUs: { kind: 'constant' as const, us: costUs },
  wakeupUs: { kind: 'constant' as const, us: wakeupUs },
});

/** A reliable conntrackd as its era ran it: 0.9.14 on 2.6.3x kernels (no halving), 1.4.8 later. */
export function reliableConntrackd(
  bufferBytes: number,
  costUs: number,
  o: Partial<ConntrackdConfig> = {},
): ConntrackdConfig {
  return {
    ...DEFAULT_CONNTRACKD,
    version: '1.4.8',
    eventsReliable: true,
    overrunResyncS: 0,
    netlinkBufferSize: bufferBytes,
    maxGrowth: bufferBytes,
    reader: reader(costUs),
    ...o,
  };
}

export const conntrackE = (costUs = 20): ListenerConfig => ({ ...DEFAULT_CONNTRACK_E, reader: reader(costUs) });

export const workload = (o: Partial<WorkloadConfig>): WorkloadConfig => ({ ...DEFAULT_WORKLOAD, ...o });

export function scenario(o: Partial<ScenarioConfig> & Pick<ScenarioConfig, 'preset'>): ScenarioConfig {
  return { kernel: {}, netlink: {}, listeners: [], workloads: [], actions: [], durationS: 60, sampleMs: 100, ...o };
}

/** q-quantile of numbers (linear interpolation); NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const a = [...xs].sort((x, y) => x - y);
  const pos = q * (a.length - 1);
  const lo = Math.floor(pos);
  return a[lo]! + (a[Math.min(lo + 1, a.length - 1)]! - a[lo]!) * (pos - lo);
}

/**
 * Formats a metric of a point for its answer line: the mean alone when every run gave the same
 * value, mean ± half-width of the 95 % interval otherwise, and the range of the runs instead
 * when the interval is wider than the mean (a rare count, a skewed metric).
 */
export function pm(stat: readonly number[] | undefined, digits = 2): string {
  if (!stat) return 'n/a';
  const [m, h, lo, hi] = stat as [number, number, number?, number?];
  if (lo !== undefined && lo === hi) return m.toFixed(digits);
  if (Number.isNaN(h)) return m.toFixed(digits);
  if (lo !== undefined && hi !== undefined && h > Math.abs(m))
    return `${m.toFixed(digits)} (runs ${lo.toFixed(digits)}–${hi.toFixed(digits)})`;
  return `${m.toFixed(digits)} ± ${h.toFixed(digits)}`;
}

/**
 * The answer line of one point: prefixed with "identical in all N runs" when the replications
 * agree on every metric (a deterministic point: no interval to give), and with "not observed"
 * when the study's sanity check failed there.
 */
export function pointLine(p: PointSummary, text: string): string {
  if (!p.observed) return `${labelOf(p.label)}: not observed (${p.missing.join('; ')})`;
  const same = Object.values(p.stats).every(([, , lo, hi]) => lo === hi);
  return `${labelOf(p.label)}: ${same && p.runs > 1 ? `identical in all ${p.runs} runs: ` : ''}${text}`;
}

/** Broadcasts that went out (a refused reliable attempt is retried, so it is not counted). */
export function messagesSent(rec: Recorder): number {
  return (
    rec.total(METRIC.newAttempts) +
    rec.total(METRIC.updateAttempts) +
    rec.total(METRIC.destroyAttempts) -
    rec.total(METRIC.newFailures) -
    rec.total(METRIC.updateFailures) -
    rec.total(METRIC.destroyFailures)
  );
}

/** A listener's load: messages per second offered against what a reader of `costUs` per message takes. */
export function listenerLoad(messages: number, seconds: number, costUs: number): number {
  return seconds > 0 ? (messages / seconds) * costUs * 1e-6 : 0;
}

/** The constant per-message cost of listener `i` of a scenario (NaN for a random cost). */
export function listenerCostUs(sc: ScenarioConfig, i = 0): number {
  const c = sc.listeners[i]!.reader.costUs;
  return c.kind === 'constant' ? c.us : NaN;
}

/**
 * Readings of a run at given instants: a probe actor `probe/<name>` that calls each `read` at
 * its time (ns), in the order given, with the message kind given (kinds enter the fingerprint).
 */
export function readAt(
  run: ScenarioRun,
  name: string,
  readings: readonly { atNs: number; kind: string; read: () => void }[],
): void {
  run.world.sim.spawn(`probe/${name}`, {
    init: (ctx: Ctx) => {
      for (const r of readings) ctx.send(ctx.self, { kind: r.kind }, r.atNs);
    },
    receive: (m: { kind: string }) => readings.find((r) => r.kind === m.kind)!.read(),
  });
}

/** Label of a point, as `a=1, b=2`. */
export const labelOf = (r: Row): string =>
  Object.entries(r)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

/**
 * A line plot of one time-series column of replication 0, one line per value of `color`.
 * `variant` may derive the color field from each row (for several axes at once).
 */
export function seriesPlot(
  points: readonly { label: Row }[],
  results: readonly { point: number; run: number; series: Row[] }[],
  o: { name: string; title: string; y: string; yTitle: string; color: string; variant?: (r: Row) => string },
): { name: string; title: string; spec: Record<string, unknown> } {
  const rows = results
    .filter((r) => r.run === 0)
    .flatMap((r) => r.series.map((s) => ({ ...points[r.point]!.label, ...s })))
    .map((r) => (o.variant ? { ...r, [o.color]: o.variant(r) } : r));
  return {
    name: o.name,
    title: o.title,
    spec: {
      data: { values: rows },
      mark: 'line',
      width: 560,
      height: 280,
      encoding: {
        x: { field: 't_s', type: 'quantitative', title: 'time (s)' },
        y: { field: o.y, type: 'quantitative', title: o.yTitle },
        color: { field: o.color, type: 'nominal', title: null, legend: { labelLimit: 400 } },
      },
    },
  };
}
