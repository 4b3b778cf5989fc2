// 7. buffer-size: an advisor. For a flow rate and a listener's per-message cost, the smallest
// NetlinkBufferSize that keeps loss (unreliable) or parked entries and drops (reliable) under a
// target, with confidence intervals from replications.
import type { ExperimentDef, PointSummary } from './lib/experiment.js';
import { labelOf, pm, reader, scenario, workload } from './lib/common.js';
import { METRIC } from '../models/names.js';

/** Targets of the advice: lost events (unreliable), parked entries per flow (reliable). */
export const LOSS_TARGET = 0.001;
export const PARKED_TARGET = 0.01;

export const bufferSize: ExperimentDef = {
  name: 'buffer-size',
  question: `For a given flow rate and listener cost, what is the smallest NetlinkBufferSize that keeps event loss under ${LOSS_TARGET * 100} % (unreliable), or parked entries under ${PARKED_TARGET * 100} % of the flows with no table-full drop (reliable)?`,
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      // conntrackd's event socket without growth or resync: NetlinkBufferSize N becomes
      // SO_RCVBUFFORCE(N/2); reliable mode sets BROADCAST_ERROR and NO_ENOBUFS.
      listeners: [
        {
          kind: 'raw',
          groups: [1, 2, 3],
          broadcastError: false,
          noEnobufs: false,
          rcvbufBytes: 32768,
          force: true,
          reader: reader(100),
        },
      ],
      workloads: [
        workload({
          kind: 'udp',
          arrivals: 'onoff',
          rateHz: 2000,
          onS: 0.5,
          offS: 0.5,
          stopS: quick ? 10 : 30,
          replyProb: 1,
        }),
      ],
      durationS: quick ? 45 : 65,
      sampleMs: 500,
    });
  },
  axes: (quick) => [
    { path: 'listeners.0.broadcastError', column: 'reliable', values: [false, true] },
    {
      path: 'listeners.0.rcvbufBytes',
      column: 'buffer_half_bytes',
      values: quick ? [16384, 262144, 2097152] : [2048, 8192, 32768, 131072, 524288, 2097152, 8388608],
    },
  ],
  runs: (quick) => (quick ? 3 : 8),
  prepare(run) {
    // Reliable mode sets NETLINK_NO_ENOBUFS together with BROADCAST_ERROR (docs/kernel-facts.md#conntrackd-resync).
    const s = run.world.listeners[0]!.socket;
    if (s.broadcastError) s.setNoEnobufs(true);
  },
  measure(run) {
    const l = run.world.listeners[0]!;
    const rec = run.world.sim.recorder;
    const sent =
      rec.total(METRIC.newAttempts) +
      rec.total(METRIC.updateAttempts) +
      rec.total(METRIC.destroyAttempts) -
      rec.total(METRIC.destroyFailures);
    const got = l.stats.received.new + l.stats.received.update + l.stats.received.destroy;
    return {
      events_offered: sent,
      events_received: got,
      loss_fraction: sent ? Math.max(0, sent - got) / sent : 0,
      drops_at_socket: l.socket.drops,
      parked_peak: Math.max(0, ...run.series.map((x) => x.parked)),
      parked_peak_fraction: Math.max(0, ...run.series.map((x) => x.parked)) / Math.max(1, rec.total(METRIC.flows)),
      table_full_drops: run.world.kernel.view.stats.drop,
      rcvbuf_bytes: l.socket.rcvbuf,
    };
  },
  summarize(points) {
    // The upper end of the 95 % interval must be under the target.
    const upper = (p: PointSummary, k: string): number => (p.stats[k]?.[0] ?? Infinity) + (p.stats[k]?.[1] || 0);
    const ok = (p: PointSummary): boolean =>
      p.label.reliable === 'true'
        ? upper(p, 'parked_peak_fraction') < PARKED_TARGET && upper(p, 'table_full_drops') === 0
        : upper(p, 'loss_fraction') < LOSS_TARGET;
    const answer = points.map(
      (p) =>
        `${labelOf(p.label)}: loss ${pm(p.stats.loss_fraction, 4)}, peak parked ${pm(p.stats.parked_peak, 0)}${ok(p) ? ' — meets the target' : ''}`,
    );
    for (const mode of ['false', 'true']) {
      const best = points
        .filter((p) => p.label.reliable === mode && ok(p))
        .sort((a, b) => Number(a.label.buffer_half_bytes) - Number(b.label.buffer_half_bytes))[0];
      answer.push(
        `${mode === 'true' ? 'Reliable' : 'Unreliable'}: ${best ? `smallest NetlinkBufferSize meeting the target: ${2 * Number(best.label.buffer_half_bytes)} bytes` : 'no buffer size tried meets the target'}.`,
      );
    }
    return {
      answer,
      plots: [
        {
          name: 'loss',
          title: 'Event loss against NetlinkBufferSize (unreliable listener)',
          spec: {
            data: {
              values: points
                .filter((p) => p.label.reliable === 'false')
                .map((p) => ({ buffer: 2 * Number(p.label.buffer_half_bytes), loss: p.stats.loss_fraction?.[0] ?? 0 })),
            },
            mark: { type: 'line', point: true },
            width: 420,
            height: 240,
            encoding: {
              x: { field: 'buffer', type: 'quantitative', scale: { type: 'log' }, title: 'NetlinkBufferSize (bytes)' },
              y: { field: 'loss', type: 'quantitative', title: 'fraction of events lost' },
            },
          },
        },
      ],
    };
  },
};
