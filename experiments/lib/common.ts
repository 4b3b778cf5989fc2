// Small helpers shared by the experiments.
import {
  DEFAULT_CONNTRACK_E,
  DEFAULT_CONNTRACKD,
  DEFAULT_READER,
  type ConntrackdConfig,
  type ListenerConfig,
} from '../../models/listeners/config.js';
import type { ScenarioConfig } from '../../models/scenario.js';
import { DEFAULT_WORKLOAD, type WorkloadConfig } from '../../models/workloads/flows.js';
import type { Row } from './experiment.js';

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

/** Formats mean ± half-width for summaries. */
export function pm(stat: [number, number] | undefined, digits = 2): string {
  if (!stat) return 'n/a';
  const [m, h] = stat;
  return Number.isNaN(h) ? m.toFixed(digits) : `${m.toFixed(digits)} ± ${h.toFixed(digits)}`;
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
