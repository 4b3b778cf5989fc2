// 4. reorder: in what order a reliable listener sees DESTROYs when some are redelivered, and
// what conntrackd's cache makes of a late DESTROY for a reused tuple.
import type { ExperimentDef } from './lib/experiment.js';
import {
  listenerCostUs,
  listenerLoad,
  messagesSent,
  pm,
  pointLine,
  quantile,
  reliableConntrackd,
  scenario,
  workload,
} from './lib/common.js';
import { METRIC } from '../models/names.js';

export const reorder: ExperimentDef = {
  name: 'reorder',
  readsLogs: true,
  question:
    'What order does a reliable listener see? How many DESTROYs arrive out of destroy-time order and how late, how often does a successor NEW beat its predecessor DESTROY on a reused tuple, and how many live entries does conntrackd wrongly delete with tuple-only keys (1.4.7+) versus tuple+ID (≤ 1.4.6)?',
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      listeners: [
        reliableConntrackd(4096, 400, { version: '1.4.7' }),
        reliableConntrackd(4096, 400, { version: '1.4.6' }),
      ],
      // Short TCP connections on a tuple space the sweep sets: on 100 tuples at 250/s a tuple
      // comes back every 0.4 s, long inside TIME_WAIT (120 s), so a SYN kills the old entry
      // (DESTROY) and starts a successor with the same tuple; on tens of thousands of tuples reuse
      // is rare and an old entry ends by its own timeout first.
      workloads: [
        workload({
          kind: 'tcp',
          arrivals: 'poisson',
          rateHz: 250,
          stopS: quick ? 140 : 200,
          tupleSpace: 100,
          tcpLifetime: { kind: 'exponential', meanS: 0.1 },
          tcpGapUs: 300,
        }),
      ],
      durationS: quick ? 160 : 240,
      sampleMs: 0,
    });
  },
  axes: (quick) => [
    {
      path: 'preset',
      column: 'preset',
      values: quick ? ['linux-2.6.31', 'linux-6.18'] : ['linux-2.6.31', 'linux-3.17', 'linux-4.9', 'linux-6.18'],
    },
    {
      path: 'workloads.0.tupleSpace',
      column: 'tuples',
      values: quick ? [100, 10000] : [100, 1000, 10000, 50000],
    },
  ],
  runs: (quick) => (quick ? 4 : 8),
  sanity: () => [
    {
      metric: 'destroy_failures',
      floor: 1,
      what: 'failed DESTROYs (without them nothing is redelivered or reordered)',
    },
  ],
  measure(run, point) {
    const sc = point.scenario.config;
    const truth = run.world.kernel.view.truth;
    const [l147, l146] = run.world.listeners;
    // First receipt of each DESTROY by the 1.4.7 listener, in arrival order.
    const seen = new Set<number>();
    let maxDelete = -1;
    let inverted = 0;
    const lateness: number[] = [];
    for (const e of l147!.log) {
      if (e.kind !== 'msg' || e.ev.type !== 'destroy' || seen.has(e.ev.serial)) continue;
      seen.add(e.ev.serial);
      const tr = truth.get(e.ev.serial);
      if (!tr) continue;
      const deleted = tr.firstFail >= 0 ? tr.firstFail : tr.destroySent;
      if (deleted < maxDelete) inverted++;
      maxDelete = Math.max(maxDelete, deleted);
      lateness.push((e.t - deleted) / 1e9);
    }
    return {
      listener_load: listenerLoad(messagesSent(run.world.sim.recorder), sc.workloads[0]!.stopS, listenerCostUs(sc)),
      destroys: seen.size,
      out_of_order_fraction: seen.size ? inverted / seen.size : 0,
      lateness_mean_s: lateness.reduce((a, b) => a + b, 0) / Math.max(1, lateness.length),
      lateness_p99_s: quantile(lateness, 0.99),
      successor_new_first: l147!.stats.outOfOrder,
      wrong_deletes_147: l147!.stats.wrongDeletes,
      wrong_deletes_146: l146!.stats.wrongDeletes,
      destroy_failures: run.world.sim.recorder.total(METRIC.destroyFailures),
    };
  },
  summarize(points) {
    const answer = points.map((p) =>
      pointLine(
        p,
        `listeners at ${pm(
          p.stats.listener_load?.map((x) => x * 100),
          0,
        )} % of their capacity; ${pm(p.stats.out_of_order_fraction, 3)} of DESTROYs out of order, ${pm(p.stats.lateness_mean_s, 3)} s late on average (p99 ${pm(p.stats.lateness_p99_s, 2)} s); successor NEW first ${pm(p.stats.successor_new_first, 0)} times; conntrackd wrongly deleted ${pm(p.stats.wrong_deletes_147, 0)} live entries with tuple keys (1.4.7) and ${pm(p.stats.wrong_deletes_146, 0)} with tuple+ID (1.4.6)`,
      ),
    );
    return {
      answer,
      plots: [
        {
          name: 'lateness',
          title: 'Mean DESTROY lateness at a reliable conntrackd',
          spec: {
            data: { values: points.map((p) => ({ ...p.label, lateness_s: p.stats.lateness_mean_s?.[0] ?? 0 })) },
            mark: 'bar',
            width: 420,
            height: 200,
            encoding: {
              y: { field: 'preset', type: 'nominal', title: null },
              color: { field: 'tuples', type: 'nominal', title: 'tuples' },
              x: { field: 'lateness_s', type: 'quantitative', title: 'mean lateness (s)' },
            },
          },
        },
      ],
    };
  },
};
