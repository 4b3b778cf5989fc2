// 5. table-full: nf_conntrack_max exhaustion by parked entries under a slow reliable listener.
// Design (docs/experiments/table-full.md): 50 DNS-like flows per second, each 3 events, so the
// listener's load is 150 messages/s × its cost; the figures come from the window after a warm-up
// (the first expiries and the first gc cycles), and an outage still running at the end of the run
// is reported as "at least".
import { s as seconds } from '../sim/index.js';
import type { ExperimentDef } from './lib/experiment.js';
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

/** Entries expire from 30 s and the 6.x gc worker runs at most 60 s apart: the start-up transient. */
export const WARMUP_S = 90;
const RATE_HZ = 50;
const EVENTS_PER_FLOW = 3;
const COUNTED = [METRIC.flows, METRIC.expired, METRIC.earlyDropAttempts, METRIC.tableFullDrops] as const;
type Totals = Record<(typeof COUNTED)[number], number>;

export const tableFull: ExperimentDef = {
  name: 'table-full',
  question:
    'When does a slow listener exhaust nf_conntrack_max? Per listener speed, buffer size and delivery mode: the fraction of new flows dropped, how long the outage lasts, how many entries are parked, and how often early drop succeeds.',
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      kernel: { max: 2000, buckets: 2048 },
      listeners: [reliableConntrackd(2048, 1000)],
      // DNS-like flows (never ASSURED), 3 events each: 1500 live entries (50/s × 30 s), plus the
      // expired ones the gc worker has not evicted yet.
      workloads: [
        workload({ kind: 'udp', arrivals: 'poisson', rateHz: RATE_HZ, stopS: quick ? 210 : 390, replyProb: 1 }),
      ],
      durationS: quick ? 210 : 390,
      sampleMs: 500,
    });
  },
  axes: (quick) => [
    {
      // Listener load 0.3, 0.6 (full only), 1.0 and 1.2 of its capacity (150 messages/s × cost).
      path: 'listeners.0.reader.costUs.us',
      column: 'listener_cost_us',
      values: quick ? [2000, 6667, 8000] : [2000, 4000, 6667, 8000],
    },
    { path: 'listeners.0.netlinkBufferSize', column: 'buffer_bytes', values: quick ? [2048] : [2048, 212992] },
    { path: 'listeners.0.eventsReliable', column: 'reliable', values: [true, false] },
  ],
  runs: (quick) => (quick ? 4 : 8),
  sanity: () => [{ metric: 'flows_in_window', floor: 1000, what: 'new flows offered after the warm-up' }],
  prepare(run) {
    const rec = run.world.sim.recorder;
    const probe: { start?: Totals } = {};
    readAt(run, 'warmup', [
      {
        atNs: seconds(WARMUP_S),
        kind: 'cut',
        read: () => void (probe.start = Object.fromEntries(COUNTED.map((m) => [m, rec.total(m)])) as Totals),
      },
    ]);
    return probe;
  },
  measure(run, point, probe) {
    const rec = run.world.sim.recorder;
    const start = (probe as { start?: Totals }).start;
    const diff = (m: (typeof COUNTED)[number]): number => rec.total(m) - (start?.[m] ?? rec.total(m));
    const s = run.series.filter((x) => x.tS >= WARMUP_S);
    const endS = point.scenario.config.durationS;
    let outage = 0;
    for (let i = 1; i < s.length; i++) if (s[i]!.drops > s[i - 1]!.drops) outage += s[i]!.tS - s[i - 1]!.tS;
    const last = s.at(-1);
    const prev = s.at(-2);
    const flows = diff(METRIC.flows);
    const attempts = diff(METRIC.earlyDropAttempts);
    const failed = diff(METRIC.tableFullDrops);
    return {
      listener_load: (RATE_HZ * EVENTS_PER_FLOW * listenerCostUs(point.scenario.config)) / 1e6,
      expired_in_window: diff(METRIC.expired),
      flows_in_window: flows,
      drop_fraction: flows ? failed / flows : 0,
      // Seconds with drops after the warm-up; "open" when new flows were still dropped at the end.
      outage_s: outage,
      outage_open: last && prev && last.drops > prev.drops ? 1 : 0,
      window_s: endS - WARMUP_S,
      parked_peak: Math.max(0, ...s.map((x) => x.parked)),
      count_peak: Math.max(0, ...s.map((x) => x.count)),
      early_drop_attempts: attempts,
      early_drop_success_fraction: attempts ? (attempts - failed) / attempts : NaN,
    };
  },
  summarize(points, results) {
    const answer = points.map((p) => {
      const open = (p.stats.outage_open?.[3] ?? 0) > 0;
      const tried = (p.stats.early_drop_attempts?.[3] ?? 0) > 0;
      return pointLine(
        p,
        `listener at ${pm(
          p.stats.listener_load?.map((x) => x * 100),
          0,
        )} % of its capacity; after the ${WARMUP_S} s warm-up ${pm(p.stats.drop_fraction, 3)} of new flows dropped, outage ${open ? 'at least ' : ''}${pm(p.stats.outage_s, 1)} s of ${pm(p.stats.window_s, 0)} s${open ? ' (still dropping when the run ended)' : ''}, peak parked ${pm(p.stats.parked_peak, 0)}, table peak ${pm(p.stats.count_peak, 0)}; ${tried ? `early drop tried ${pm(p.stats.early_drop_attempts, 0)} times and made room in ${pm(p.stats.early_drop_success_fraction, 2)} of them` : 'the table never reached nf_conntrack_max: no early drop needed'}`,
      );
    });
    return {
      answer,
      plots: [
        seriesPlot(points, results, {
          name: 'parked',
          title: 'Parked entries over time (run 0; max 2000; the first 90 s are the warm-up)',
          y: 'parked',
          yTitle: 'parked entries',
          color: 'variant',
          variant: (r) => `${r.listener_cost_us} us, ${r.buffer_bytes} B, reliable=${r.reliable}`,
        }),
      ],
    };
  },
};
