// 2. flush: N entries, `conntrack -F`, a reliable listener with a small buffer, per preset.
import type { ExperimentDef } from './lib/experiment.js';
import {
  conntrackE,
  listenerCostUs,
  pm,
  pointLine,
  reliableConntrackd,
  scenario,
  workload,
  seriesPlot,
} from './lib/common.js';
import { METRIC } from '../models/names.js';
import { eventsThatFit } from '../models/netlink/socket.js';

export const flush: ExperimentDef = {
  name: 'flush',
  question:
    'After conntrack -F of N entries with a reliable listener of buffer B, how long until every DESTROY is delivered, how does the table count decay, how many entries are parked at the peak, and how many duplicates does a second, unreliable listener see — per kernel era?',
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      // NetlinkBufferSize 2048 in a current conntrackd: SO_RCVBUFFORCE(1024) → the 2304 minimum on
      // 6.x. MaxGrowth is large so that every NetlinkBufferSize of the sweep is honoured.
      listeners: [reliableConntrackd(2048, 20, { maxGrowth: 1 << 24 }), conntrackE(20)],
      // N flows created in the first 0.2 s (at most 100,000 per second), flushed at 3 s.
      workloads: [
        workload({ kind: 'udp', arrivals: 'constant', rateHz: 100_000, flows: 2000, stopS: 2, replyProb: 0 }),
      ],
      actions: [{ atS: 3, kind: 'flush' }],
      durationS: quick ? 150 : 1200,
      sampleMs: quick ? 250 : 1000,
    });
  },
  axes: (quick) => [
    {
      path: 'preset',
      column: 'preset',
      values: quick
        ? ['linux-2.6.31', 'linux-3.17', 'linux-6.18']
        : ['linux-2.6.31', 'linux-3.12', 'linux-3.17', 'linux-4.9', 'linux-5.19', 'linux-6.18', 'linux-6.18-fixed'],
    },
    {
      path: 'listeners.0.netlinkBufferSize',
      column: 'buffer_bytes',
      values: quick ? [2048, 65536] : [2048, 16384, 65536, 262144],
    },
    ...(quick ? [] : [{ path: 'workloads.0.flows', column: 'entries', values: [2000, 20000] }]),
  ],
  runs: (quick) => (quick ? 4 : 8),
  sanity: () => [{ metric: 'entries_flushed', floor: 1, what: 'entries in the table when it is flushed' }],
  measure(run, point) {
    const v = run.world.kernel.view;
    const flushNs = 3e9;
    let last = -1;
    let delivered = 0;
    let parkedEver = 0;
    for (const tr of v.truth.values()) {
      if (tr.destroySent >= flushNs) {
        delivered++;
        last = Math.max(last, tr.destroySent);
      }
      if (tr.firstFail >= 0) parkedEver++;
    }
    const [rel, dup] = run.world.listeners;
    const rec = run.world.sim.recorder;
    const nl = run.world.family.nl;
    return {
      // The same NetlinkBufferSize holds a different number of DESTROYs per era.
      buffer_events: eventsThatFit(rel!.socket.rcvbuf, nl.truesize.destroyUdp, nl.admission),
      // The flush is one burst: how long the listener needs just to read every DESTROY once.
      read_time_s: rec.total(METRIC.flushed) * listenerCostUs(point.scenario.config) * 1e-6,
      rcvbuf_bytes: rel!.socket.rcvbuf,
      entries_flushed: rec.total(METRIC.flushed),
      destroys_delivered: delivered,
      drain_s: last >= 0 ? (last - flushNs) / 1e9 : 0,
      drained: v.parkedCount() === 0 ? 1 : 0,
      parked_peak: Math.max(0, ...run.series.map((x) => x.parked)),
      parked_total: parkedEver,
      destroy_attempts: rec.total(METRIC.destroyAttempts),
      reliable_destroys: rel!.stats.received.destroy,
      duplicates_unreliable: dup!.stats.duplicates,
      count_at_end: v.table.count,
      worker_runs: rec.total(METRIC.ecacheWorkRuns),
    };
  },
  summarize(points, results) {
    const answer = points.map((p) => {
      const allDrained = p.stats.drained?.[2] === 1;
      return pointLine(
        p,
        `the buffer holds ${pm(p.stats.buffer_events, 0)} DESTROYs (${pm(p.stats.rcvbuf_bytes, 0)} bytes) and the listener needs ${pm(p.stats.read_time_s, 2)} s just to read the burst once; ${pm(p.stats.destroys_delivered, 0)} of ${pm(p.stats.entries_flushed, 0)} DESTROYs delivered, the last ${allDrained ? '' : 'seen '}${pm(p.stats.drain_s, 1)} s after the flush${allDrained ? '' : ` (still draining at the end of the run in ${Math.round((1 - (p.stats.drained?.[0] ?? 0)) * p.runs)} of ${p.runs} runs: the drain takes at least that long)`}; peak parked ${pm(p.stats.parked_peak, 0)}; ${pm(p.stats.duplicates_unreliable, 0)} duplicates at conntrack -E`,
      );
    });
    return {
      answer,
      plots: [
        seriesPlot(points, results, {
          name: 'count',
          title: 'nf_conntrack_count after conntrack -F (run 0)',
          y: 'count',
          yTitle: 'entries counted',
          color: 'variant',
          variant: (r) => `${r.preset}, ${r.buffer_bytes} B${r.entries ? `, ${r.entries}` : ''}`,
        }),
      ],
    };
  },
};
