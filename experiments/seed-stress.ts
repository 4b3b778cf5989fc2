// 1. seed-stress: the stress test of the seed commit (dd7669a92c, 2009): conntrackd in reliable
// mode with a 2048-byte netlink buffer, lots of very small connections, then `conntrack -F`.
import type { ExperimentDef } from './lib/experiment.js';
import { labelOf, pm, reliableConntrackd, scenario, workload, seriesPlot } from './lib/common.js';
import { METRIC } from '../models/names.js';

export const seedStress: ExperimentDef = {
  name: 'seed-stress',
  question:
    'In the 2009 stress test (reliable conntrackd, 2048-byte buffer, many tiny connections, then conntrack -F on 2.6.31), how many DESTROYs wait for redelivery over time, and from which connection rate are they no longer "very few"?',
  base(quick) {
    const loadS = quick ? 5 : 20;
    return scenario({
      preset: 'linux-2.6.31',
      // 0.9.14 (2009) passed NetlinkBufferSize straight to SO_RCVBUFFORCE: rcvbuf 4096, 7 events.
      listeners: [reliableConntrackd(2048, 20, { version: '0.9.14' })],
      workloads: [
        workload({ kind: 'udp', arrivals: 'poisson', rateHz: 1000, stopS: loadS, replyProb: 1, replyDelayUs: 300 }),
      ],
      actions: [{ atS: loadS, kind: 'flush' }],
      durationS: loadS + 90,
      sampleMs: 100,
    });
  },
  axes: (quick) => [
    {
      path: 'workloads.0.rateHz',
      column: 'rate_hz',
      values: quick ? [200, 2000, 10000] : [100, 500, 1000, 2000, 5000, 10000, 20000],
    },
  ],
  runs: (quick) => (quick ? 4 : 8),
  measure(run, point) {
    const flushS = point.scenario.config.actions[0]!.atS;
    const s = run.series;
    const before = s.filter((x) => x.tS < flushS);
    const after = s.filter((x) => x.tS >= flushS);
    const drained = after.find((x, i) => i > 0 && x.parked === 0);
    const endS = point.scenario.config.durationS;
    const rec = run.world.sim.recorder;
    return {
      flows: rec.total(METRIC.flows),
      entries_at_flush: run.world.sim.recorder.total(METRIC.flushed),
      parked_peak_before_flush: Math.max(0, ...before.map((x) => x.parked)),
      parked_peak: Math.max(0, ...s.map((x) => x.parked)),
      parked_1s_after_flush: after.find((x) => x.tS >= flushS + 1)?.parked ?? 0,
      // Censored at the end of the run when the dying list never emptied (drained = 0).
      drain_s: (drained ? drained.tS : endS) - flushS,
      drained: drained ? 1 : 0,
      destroy_failures: rec.total(METRIC.destroyFailures),
      new_update_failures: rec.total(METRIC.newFailures) + rec.total(METRIC.updateFailures),
      retries: rec.total(METRIC.retries),
    };
  },
  summarize(points, results) {
    const answer = points.map(
      (p) =>
        `${labelOf(p.label)}: ${pm(p.stats.entries_at_flush, 0)} entries flushed, peak parked ${pm(p.stats.parked_peak, 0)} (before the flush ${pm(p.stats.parked_peak_before_flush, 0)}), ${p.stats.drained?.[0] === 1 ? 'all redelivered' : `redelivered in ${Math.round((p.stats.drained?.[0] ?? 0) * p.runs)} of ${p.runs} runs,`} ${pm(p.stats.drain_s, 1)} s after the flush`,
    );
    const few = points.filter((p) => (p.stats.parked_peak_before_flush?.[0] ?? 0) < 10);
    answer.push(
      few.length === points.length
        ? 'Before the flush, parked DESTROYs stay very few at every rate tried: only the flush fills the dying list.'
        : `Parked DESTROYs stay below 10 before the flush up to ${few.at(-1)?.label.rate_hz ?? 'none of the'} flows/s.`,
    );
    return {
      answer,
      plots: [
        seriesPlot(points, results, {
          name: 'parked',
          title: 'DESTROYs parked for redelivery over time (2.6.31, reliable conntrackd, 2048-byte buffer; run 0)',
          y: 'parked',
          yTitle: 'parked entries',
          color: 'rate_hz',
        }),
      ],
    };
  },
};
