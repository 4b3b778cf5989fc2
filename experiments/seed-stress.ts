// 1. seed-stress: the stress test of the seed commit (dd7669a92c, 2009): conntrackd in reliable
// mode with a 2048-byte netlink buffer, lots of very small connections, then `conntrack -F`.
//
// Design (docs/experiments/seed-stress.md): the load runs long past the UDP timeout, so entries
// expire throughout a steady state; the figures before the flush come from the window between
// the warm-up (the first expiries, 30 s, plus 5 s) and the flush. In 2.6.31 every timer of one
// jiffy fires at one instant, so rate/HZ expiries per tick meet the 7 events the 2009 buffer
// holds; the sweep moves the rate, HZ, the listener's cost and how a tick's timers are spread.
import { kmQuantile, s as seconds, type Recorder } from '../sim/index.js';
import type { ExperimentDef, PointSummary } from './lib/experiment.js';
import {
  listenerCostUs,
  pm,
  pointLine,
  readAt,
  reliableConntrackd,
  scenario,
  seriesPlot,
  workload,
} from './lib/common.js';
import { METRIC } from '../models/names.js';

const UDP_TIMEOUT_S = 30;
/** The steady-state window starts after the first expiries have settled. */
export const WARMUP_S = UDP_TIMEOUT_S + 5;
/** "Very few": fewer than this many parked at the steady-state peak (the 2009 buffer holds 7 events). */
const FEW = 10;

const WINDOW_COUNTERS = [
  METRIC.expired,
  METRIC.destroyAttempts,
  METRIC.destroyFailures,
  METRIC.newAttempts,
  METRIC.updateAttempts,
] as const;
type Totals = Record<(typeof WINDOW_COUNTERS)[number], number>;
const totals = (rec: Recorder): Totals => Object.fromEntries(WINDOW_COUNTERS.map((m) => [m, rec.total(m)])) as Totals;

export const seedStress: ExperimentDef = {
  name: 'seed-stress',
  question:
    'In the 2009 stress test (reliable conntrackd, 2048-byte buffer, many tiny connections, then conntrack -F on 2.6.31), how many DESTROYs wait for redelivery over time, and from which connection rate are they no longer "very few"?',
  base(quick) {
    const loadS = quick ? 60 : 120;
    return scenario({
      preset: 'linux-2.6.31',
      // 0.9.14 (2009) passed NetlinkBufferSize straight to SO_RCVBUFFORCE: rcvbuf 4096, 7 events.
      listeners: [reliableConntrackd(2048, 20, { version: '0.9.14' })],
      workloads: [
        workload({ kind: 'udp', arrivals: 'poisson', rateHz: 1000, stopS: loadS, replyProb: 1, replyDelayUs: 300 }),
      ],
      actions: [{ atS: loadS, kind: 'flush' }],
      durationS: loadS + (quick ? 60 : 120),
      sampleMs: 100,
    });
  },
  axes: (quick) => [
    { path: 'kernel.hz', column: 'hz', values: quick ? [250, 1000] : [100, 250, 1000] },
    ...(quick
      ? []
      : [
          {
            path: 'listeners.0.reader.costUs',
            column: 'listener_cost_us',
            values: [
              { kind: 'constant', us: 20 },
              { kind: 'constant', us: 100 },
            ],
          },
        ]),
    {
      path: 'kernel.latency',
      column: 'tick_spread',
      values: [{ kind: 'none' }, { kind: 'uniform', maxUs: 4000 }],
    },
    {
      path: 'workloads.0.rateHz',
      column: 'rate_hz',
      values: quick ? [500, 1000, 2000] : [250, 500, 1000, 2000, 4000],
    },
  ],
  // The threshold is a verdict: 8 runs, judged on the 95 % interval.
  runs: () => 8,
  sanity: () => [{ metric: 'expired_in_window', floor: 100, what: 'expiries in the steady state before the flush' }],
  prepare(run, point) {
    // Counters at the start of the steady-state window and just before the flush.
    const flushS = point.scenario.config.actions[0]!.atS;
    const rec = run.world.sim.recorder;
    const probe: { start?: Totals; end?: Totals } = {};
    readAt(run, 'window', [
      { atNs: seconds(WARMUP_S), kind: 'start', read: () => void (probe.start = totals(rec)) },
      { atNs: seconds(flushS) - 1, kind: 'end', read: () => void (probe.end = totals(rec)) },
    ]);
    return probe;
  },
  measure(run, point, probe) {
    const { start, end } = probe as { start?: Totals; end?: Totals };
    const sc = point.scenario;
    const flushS = sc.config.actions[0]!.atS;
    // A flush before the warm-up leaves no steady-state window: every window figure is 0.
    const windowS = Math.max(0, flushS - WARMUP_S);
    const diff = (m: keyof Totals): number => (start && end && windowS > 0 ? end[m] - start[m] : 0);
    const steady = run.series.filter((x) => x.tS >= WARMUP_S && x.tS < flushS);
    const after = run.series.filter((x) => x.tS >= flushS);
    const drained = after.find((x, i) => i > 0 && x.parked === 0);
    const offered = diff(METRIC.newAttempts) + diff(METRIC.updateAttempts) + diff(METRIC.destroyAttempts);
    const rec = run.world.sim.recorder;
    return {
      expired_in_window: diff(METRIC.expired),
      expiries_per_tick: windowS > 0 ? diff(METRIC.expired) / (windowS * sc.kernel.hz) : 0,
      destroy_failures_in_window: diff(METRIC.destroyFailures),
      // Messages offered per second against what a reader of that cost can take (1e6 / cost).
      listener_load: windowS > 0 ? offered / windowS / (1e6 / listenerCostUs(sc.config)) : 0,
      parked_peak_steady: Math.max(0, ...steady.map((x) => x.parked)),
      parked_mean_steady: steady.reduce((a, x) => a + x.parked, 0) / Math.max(1, steady.length),
      // New flows refused for a full table before the flush: another mechanism than parking alone.
      table_full_drops_before_flush: steady.at(-1)?.drops ?? 0,
      entries_at_flush: rec.total(METRIC.flushed),
      parked_peak_after_flush: Math.max(0, ...after.map((x) => x.parked)),
      // Censored at the end of the run when the dying list never emptied (drained = 0).
      drain_s: (drained ? drained.tS : sc.config.durationS) - flushS,
      drained: drained ? 1 : 0,
    };
  },
  summarize(points, results) {
    const drainText = (p: PointSummary): string => {
      const mine = results.filter((r) => r.point === points.indexOf(p));
      const durations = mine.map((r) => ({ t: r.row.drain_s as number, ended: r.row.drained === 1 }));
      const median = kmQuantile(durations);
      const longest = Math.max(...durations.map((d) => d.t));
      const open = durations.filter((d) => !d.ended).length;
      return open === 0
        ? `the dying list drained ${pm(p.stats.drain_s, 1)} s after the flush`
        : Number.isFinite(median)
          ? `the dying list drained in ${mine.length - open} of ${mine.length} runs (Kaplan–Meier median ${median.toFixed(1)} s)`
          : `the dying list had not drained ${longest.toFixed(0)} s after the flush in ${open} of ${mine.length} runs (drain ≥ ${longest.toFixed(0)} s)`;
    };
    const answer = points.map((p) =>
      pointLine(
        p,
        `${pm(p.stats.expiries_per_tick, 1)} expiries per tick, listener at ${pm(
          p.stats.listener_load?.map((x) => x * 100),
          0,
        )} % of its capacity; steady state: peak parked ${pm(p.stats.parked_peak_steady, 0)} (mean ${pm(p.stats.parked_mean_steady, 1)}); after the flush of ${pm(p.stats.entries_at_flush, 0)} entries peak parked ${pm(p.stats.parked_peak_after_flush, 0)} and ${drainText(p)}`,
      ),
    );
    // The threshold per (HZ, listener, spread): the last rate with fewer than FEW parked and the first with more.
    const groups = new Map<string, PointSummary[]>();
    for (const p of points) {
      if (!p.observed) continue;
      const key = Object.entries(p.label)
        .filter(([k]) => k !== 'rate_hz')
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    // "Very few" only if the whole 95 % interval of the peak is below FEW; "piled up" only if it
    // is all at or above; anything between is undecided and said so.
    const bounds = (p: PointSummary): [number, number] => {
      const [m, h, lo, hi] = p.stats.parked_peak_steady ?? [0, NaN, 0, 0];
      return lo === hi || Number.isNaN(h) ? [lo, hi] : [m - h, m + h];
    };
    for (const [key, ps] of groups) {
      ps.sort((a, b) => Number(a.label.rate_hz) - Number(b.label.rate_hz));
      const few = ps.filter((p) => bounds(p)[1] < FEW);
      const many = ps.find((p) => bounds(p)[0] >= FEW);
      const open = ps.filter((p) => bounds(p)[1] >= FEW && bounds(p)[0] < FEW);
      if (open.length > 0)
        answer.push(
          `${key}: undecided at ${open.map((p) => `${p.label.rate_hz} flows/s`).join(', ')} (the interval of the peak straddles ${FEW}).`,
        );
      answer.push(
        many === undefined
          ? `${key}: parked DESTROYs stay very few (steady-state peak < ${FEW}) at every rate tried, up to ${ps.at(-1)!.label.rate_hz} flows/s.`
          : `${key}: parked DESTROYs stay very few (peak < ${FEW}) ${few.length ? `up to ${few.at(-1)!.label.rate_hz} flows/s` : 'at no rate tried'} and pile up from ${many.label.rate_hz} flows/s (${pm(many.stats.expiries_per_tick, 1)} expiries per tick; peak ${pm(many.stats.parked_peak_steady, 0)}).`,
      );
    }
    return {
      answer,
      plots: [
        seriesPlot(points, results, {
          name: 'parked',
          title: 'DESTROYs parked for redelivery over time (2.6.31, reliable conntrackd, 2048-byte buffer; run 0)',
          y: 'parked',
          yTitle: 'parked entries',
          color: 'variant',
          variant: (r) =>
            `${r.rate_hz}/s, HZ ${r.hz}, ${r.tick_spread}${r.listener_cost_us ? `, ${r.listener_cost_us}` : ''}`,
        }),
      ],
    };
  },
};
