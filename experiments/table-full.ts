// 5. table-full: nf_conntrack_max exhaustion by parked entries under a slow reliable listener.
import type { ExperimentDef } from './lib/experiment.js';
import { labelOf, pm, reliableConntrackd, scenario, workload, seriesPlot } from './lib/common.js';
import { METRIC } from '../models/names.js';

export const tableFull: ExperimentDef = {
  name: 'table-full',
  question:
    'When does a slow listener exhaust nf_conntrack_max? Per listener speed, buffer size and delivery mode: the fraction of new flows dropped, how long the outage lasts, how many entries are parked, and how often early drop succeeds.',
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      kernel: { max: 2000, buckets: 2048 },
      listeners: [reliableConntrackd(2048, 1000)],
      // DNS-like flows (never ASSURED): about 1500 entries at steady state, 3 events each.
      workloads: [workload({ kind: 'udp', arrivals: 'poisson', rateHz: 50, stopS: quick ? 90 : 240, replyProb: 1 })],
      durationS: quick ? 90 : 240,
      sampleMs: 500,
    });
  },
  axes: (quick) => [
    {
      path: 'listeners.0.reader.costUs.us',
      column: 'listener_cost_us',
      values: quick ? [1000, 20000] : [1000, 5000, 20000],
    },
    { path: 'listeners.0.netlinkBufferSize', column: 'buffer_bytes', values: quick ? [2048] : [2048, 212992] },
    { path: 'listeners.0.eventsReliable', column: 'reliable', values: [true, false] },
  ],
  runs: (quick) => (quick ? 4 : 8),
  measure(run, point) {
    const rec = run.world.sim.recorder;
    const v = run.world.kernel.view;
    const flows = rec.total(METRIC.flows);
    let outage = 0;
    const s = run.series;
    for (let i = 1; i < s.length; i++) if (s[i]!.drops > s[i - 1]!.drops) outage += s[i]!.tS - s[i - 1]!.tS;
    const firstDrop = s.find((x) => x.drops > 0);
    return {
      flows,
      dropped: v.stats.drop,
      drop_fraction: flows ? v.stats.drop / flows : 0,
      outage_s: outage,
      first_drop_s: firstDrop ? firstDrop.tS : point.scenario.config.durationS,
      parked_peak: Math.max(0, ...s.map((x) => x.parked)),
      early_drops: v.stats.early_drop,
      count_peak: Math.max(0, ...s.map((x) => x.count)),
    };
  },
  summarize(points, results) {
    const answer = points.map(
      (p) =>
        `${labelOf(p.label)}: ${pm(p.stats.drop_fraction, 3)} of new flows dropped, outage ${pm(p.stats.outage_s, 1)} s, peak parked ${pm(p.stats.parked_peak, 0)}, early drops ${pm(p.stats.early_drops, 0)}`,
    );
    return {
      answer,
      plots: [
        seriesPlot(points, results, {
          name: 'parked',
          title: 'Parked entries over time (run 0; max 2000)',
          y: 'parked',
          yTitle: 'parked entries',
          color: 'variant',
          variant: (r) => `${r.listener_cost_us} us, ${r.buffer_bytes} B, reliable=${r.reliable}`,
        }),
      ],
    };
  },
};
