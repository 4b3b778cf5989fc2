// 6. eras: one workload across every preset, one comparison table and plot.
import { analyseListener } from '../models/listeners/analysis.js';
import type { ExperimentDef } from './lib/experiment.js';
import { conntrackE, labelOf, pm, reliableConntrackd, scenario, workload } from './lib/common.js';
import { PRESET_NAMES } from '../models/presets.js';
import { METRIC } from '../models/names.js';

export const eras: ExperimentDef = {
  name: 'eras',
  question:
    'The same workload (DNS-like flows, a flush in the middle, a slow reliable conntrackd and a conntrack -E) on every kernel preset: failed and redelivered DESTROYs, time to drain, duplicates, reordering, drops.',
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      kernel: { max: 20000, buckets: 16384 },
      listeners: [reliableConntrackd(4096, 200), conntrackE(20)],
      workloads: [
        workload({
          kind: 'udp',
          arrivals: 'poisson',
          rateHz: 500,
          stopS: quick ? 20 : 60,
          tupleSpace: 2000,
          replyProb: 0.9,
        }),
      ],
      actions: [{ atS: quick ? 10 : 30, kind: 'flush' }],
      durationS: quick ? 60 : 150,
      sampleMs: 1000,
    });
  },
  axes: () => [{ path: 'preset', column: 'preset', values: [...PRESET_NAMES] }],
  runs: (quick) => (quick ? 2 : 5),
  measure(run) {
    const rec = run.world.sim.recorder;
    const v = run.world.kernel.view;
    const live = v.liveEntries();
    const [rel, unrel] = run.world.listeners.map((l) => analyseListener(l, v.truth, live));
    let waits = 0;
    let n = 0;
    for (const tr of v.truth.values()) {
      if (tr.firstFail >= 0 && tr.destroySent >= 0) {
        waits += tr.destroySent - tr.firstFail;
        n++;
      }
    }
    return {
      flows: rec.total(METRIC.flows),
      destroy_failures: rec.total(METRIC.destroyFailures),
      parked_total: rec.total(METRIC.parked),
      redelivered: rec.total(METRIC.redelivered),
      redelivery_wait_mean_s: n ? waits / n / 1e9 : 0,
      parked_peak: Math.max(0, ...run.series.map((x) => x.parked)),
      drops: v.stats.drop,
      reliable_new_missed: rel!.newMissed,
      reliable_destroy_missed: rel!.destroyMissed,
      reliable_out_of_order: rel!.outOfOrder,
      unreliable_duplicates: unrel!.duplicates,
      unreliable_destroy_missed: unrel!.destroyMissed,
    };
  },
  summarize(points) {
    const answer = points.map(
      (p) =>
        `${labelOf(p.label)}: ${pm(p.stats.destroy_failures, 0)} failed DESTROY attempts, ${pm(p.stats.parked_total, 0)} parked, mean wait ${pm(p.stats.redelivery_wait_mean_s, 2)} s; reliable listener missed ${pm(p.stats.reliable_new_missed, 0)} NEWs and ${pm(p.stats.reliable_destroy_missed, 0)} DESTROYs; conntrack -E saw ${pm(p.stats.unreliable_duplicates, 0)} duplicates`,
    );
    return {
      answer,
      plots: [
        {
          name: 'eras',
          title: 'Parked DESTROYs and mean redelivery wait per preset',
          spec: {
            data: {
              values: points.map((p) => ({
                preset: p.label.preset,
                parked: p.stats.parked_total?.[0] ?? 0,
                wait_s: p.stats.redelivery_wait_mean_s?.[0] ?? 0,
              })),
            },
            hconcat: [
              {
                mark: 'bar',
                width: 260,
                height: 220,
                encoding: {
                  y: { field: 'preset', type: 'nominal', sort: null },
                  x: { field: 'parked', type: 'quantitative', title: 'entries parked' },
                },
              },
              {
                mark: 'bar',
                width: 260,
                height: 220,
                encoding: {
                  y: { field: 'preset', type: 'nominal', sort: null, axis: null },
                  x: { field: 'wait_s', type: 'quantitative', title: 'mean wait (s)' },
                },
              },
            ],
          },
        },
      ],
    };
  },
};
