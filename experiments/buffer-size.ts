// 7. buffer-size: an advisor. For a flow rate and a listener's per-message cost, the smallest
// NetlinkBufferSize that keeps loss (unreliable) or parked entries and drops (reliable) under a
// target.
//
// Design (docs/experiments/buffer-size.md): a steady load of DNS-like flows runs long past the
// 30 s UDP timeout, so NEW, UPDATE and DESTROY events all flow during the measured window
// (WINDOW_START_S to the end of the load); conntrackd 1.4.8 with MaxGrowth equal to
// NetlinkBufferSize (no growth) and no overrun resync, so the buffer alone decides.
import { s as seconds, type Recorder } from '../sim/index.js';
import type { ExperimentDef, PointSummary } from './lib/experiment.js';
import {
  listenerCostUs,
  listenerLoad,
  messagesSent,
  pm,
  pointLine,
  readAt,
  reliableConntrackd,
  scenario,
  workload,
} from './lib/common.js';
import { METRIC } from '../models/names.js';
import type { ListenerModel } from '../models/listeners/types.js';

/** Targets of the advice: lost events (unreliable); parked entries per live entry (reliable). */
export const LOSS_TARGET = 0.001;
export const PARKED_TARGET = 0.01;
/** Runs a verdict needs: fewer, and the summary says the point cannot be judged. */
export const VERDICT_RUNS = 8;
const UDP_TIMEOUT_S = 30;
/** The window starts once expiries (from 30 s) flow. */
export const WINDOW_START_S = UDP_TIMEOUT_S + 10;

interface Snapshot {
  sent: number;
  received: number;
  drops: number;
  destroys: number;
}
const snapshot = (rec: Recorder, l: ListenerModel, drops: number): Snapshot => ({
  sent: messagesSent(rec),
  received: l.stats.received.new + l.stats.received.update + l.stats.received.destroy,
  drops,
  destroys: rec.total(METRIC.destroyAttempts),
});

export const bufferSize: ExperimentDef = {
  name: 'buffer-size',
  question: `For a given flow rate and listener cost, what is the smallest NetlinkBufferSize that keeps event loss under ${LOSS_TARGET * 100} % (unreliable), or parked entries under ${PARKED_TARGET * 100} % of the live entries with no table-full drop (reliable)?`,
  base(quick) {
    const loadS = quick ? 70 : 120;
    return scenario({
      preset: 'linux-6.18',
      // A table that parked entries can fill: 1000 flows/s × 30 s are 30,000 live entries.
      kernel: { max: 100_000, buckets: 32768 },
      listeners: [reliableConntrackd(16384, 100, { eventsReliable: false, overrunResyncS: 0, maxGrowth: 16384 })],
      workloads: [
        workload({ kind: 'udp', arrivals: 'poisson', rateHz: 1000, stopS: loadS, replyProb: 1, replyDelayUs: 300 }),
      ],
      durationS: loadS,
      sampleMs: 500,
    });
  },
  axes: (quick) => [
    { path: 'workloads.0.rateHz', column: 'rate_hz', values: quick ? [1000] : [250, 1000, 2000] },
    {
      path: 'listeners.0.reader.costUs.us',
      column: 'listener_cost_us',
      values: quick ? [100, 300] : [20, 100, 300],
    },
    { path: 'listeners.0.eventsReliable', column: 'reliable', values: [false, true] },
    {
      path: 'listeners.0.netlinkBufferSize',
      also: ['listeners.0.maxGrowth'],
      column: 'buffer_bytes',
      values: quick ? [16384, 262144, 2097152] : [4096, 16384, 65536, 262144, 1048576, 4194304],
    },
  ],
  runs: () => VERDICT_RUNS,
  sanity: () => [{ metric: 'destroys_in_window', floor: 100, what: 'DESTROYs during the steady-state load' }],
  prepare(run) {
    const rec = run.world.sim.recorder;
    const l = run.world.listeners[0]!;
    const probe: { start?: Snapshot } = {};
    readAt(run, 'window', [
      {
        atNs: seconds(WINDOW_START_S),
        kind: 'start',
        read: () => void (probe.start = snapshot(rec, l, run.world.kernel.view.stats.drop)),
      },
    ]);
    return probe;
  },
  measure(run, point, probe) {
    const l = run.world.listeners[0]!;
    const rec = run.world.sim.recorder;
    const start = (probe as { start?: Snapshot }).start ?? snapshot(rec, l, run.world.kernel.view.stats.drop);
    const end = snapshot(rec, l, run.world.kernel.view.stats.drop);
    const sent = end.sent - start.sent;
    const got = end.received - start.received;
    const steady = run.series.filter((x) => x.tS >= WINDOW_START_S);
    const sc = point.scenario.config;
    const rate = sc.workloads[0]!.rateHz;
    return {
      destroys_in_window: end.destroys - start.destroys,
      events_sent: sent,
      events_received: got,
      // Messages still queued at the end are not lost: at most one buffer's worth.
      events_lost: Math.max(0, sent - got - l.socket.queueLength),
      loss_fraction: sent ? Math.max(0, sent - got - l.socket.queueLength) / sent : 0,
      listener_load: listenerLoad(sent, sc.durationS - WINDOW_START_S, listenerCostUs(sc)),
      drops_at_socket: l.socket.drops,
      parked_peak: Math.max(0, ...steady.map((x) => x.parked)),
      // Parked against the live entries of the load (rate × timeout), not against all flows.
      parked_peak_fraction: Math.max(0, ...steady.map((x) => x.parked)) / (rate * UDP_TIMEOUT_S),
      table_full_drops: end.drops - start.drops,
      rcvbuf_bytes: l.socket.rcvbuf,
    };
  },
  summarize(points) {
    // A verdict needs VERDICT_RUNS runs and uses the upper end of the 95 % interval; when every
    // run saw no loss, the bound for a rare count is the rule of three: 3 / events sent.
    const upper = (p: PointSummary, k: string, count?: string): number => {
      const [m, h, , hi] = p.stats[k] ?? [Infinity, NaN, Infinity, Infinity];
      if (hi === 0 && count) return 3 / Math.max(1, (p.stats[count]?.[0] ?? 0) * p.runs);
      return m + (Number.isNaN(h) ? 0 : h);
    };
    const judged = (p: PointSummary): boolean => p.observed && p.runs >= VERDICT_RUNS;
    const ok = (p: PointSummary): boolean =>
      judged(p) &&
      (p.label.reliable === 'true'
        ? upper(p, 'parked_peak_fraction') < PARKED_TARGET && (p.stats.table_full_drops?.[3] ?? 1) === 0
        : upper(p, 'loss_fraction', 'events_sent') < LOSS_TARGET);
    const answer = points.map((p) =>
      pointLine(
        p,
        `listener at ${pm(
          p.stats.listener_load?.map((x) => x * 100),
          0,
        )} % of its capacity; in the steady state loss ${pm(p.stats.loss_fraction, 4)} (upper bound ${upper(p, 'loss_fraction', 'events_sent').toPrecision(2)}), peak parked ${pm(p.stats.parked_peak, 0)} (${pm(
          p.stats.parked_peak_fraction?.map((x) => x * 100),
          2,
        )} % of the live entries), ${pm(p.stats.table_full_drops, 0)} table-full drops${judged(p) ? (ok(p) ? ' — meets the target' : ' — misses the target') : ` — ${p.runs} runs: too few for a verdict (${VERDICT_RUNS} needed)`}`,
      ),
    );
    const groups = new Map<string, PointSummary[]>();
    for (const p of points) {
      const key = `rate ${p.label.rate_hz}/s, ${p.label.listener_cost_us} us per message, ${p.label.reliable === 'true' ? 'reliable' : 'unreliable'}`;
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    for (const [key, ps] of groups) {
      if (!ps.some(judged)) continue;
      const best = ps.filter(ok).sort((a, b) => Number(a.label.buffer_bytes) - Number(b.label.buffer_bytes))[0];
      answer.push(
        `${key}: ${best ? `smallest NetlinkBufferSize meeting the target: ${best.label.buffer_bytes} bytes` : 'no buffer size tried meets the target'}.`,
      );
    }
    return {
      answer,
      plots: [
        {
          name: 'loss',
          title: 'Event loss in the steady state against NetlinkBufferSize (unreliable listener)',
          spec: {
            data: {
              values: points
                .filter((p) => p.label.reliable === 'false')
                .map((p) => ({
                  buffer: Number(p.label.buffer_bytes),
                  loss: p.stats.loss_fraction?.[0] ?? 0,
                  series: `${p.label.rate_hz}/s, ${p.label.listener_cost_us} us`,
                })),
            },
            mark: { type: 'line', point: true },
            width: 420,
            height: 240,
            encoding: {
              x: { field: 'buffer', type: 'quantitative', scale: { type: 'log' }, title: 'NetlinkBufferSize (bytes)' },
              y: { field: 'loss', type: 'quantitative', title: 'fraction of events lost' },
              color: { field: 'series', type: 'nominal', title: null },
            },
          },
        },
      ],
    };
  },
};
