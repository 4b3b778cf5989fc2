// 8. failover: conntrackd sync mode; ghost and missing entries on the backup after failover.
import { DEFAULT_CONNTRACKD } from '../models/listeners/config.js';
import type { ExperimentDef } from './lib/experiment.js';
import { s as seconds } from '../sim/index.js';
import {
  listenerCostUs,
  listenerLoad,
  messagesSent,
  pm,
  pointLine,
  readAt,
  reader,
  scenario,
  workload,
} from './lib/common.js';

// Design (docs/experiments/failover.md): bursts of 1 s every 3 s; the failover lands at one of
// three phases of the cycle (mid-burst, end of burst, mid-pause) after the load has run past the
// 30 s UDP timeout; conntrackd keeps its default overrun resync (30 s).
const CYCLE_S = 3;
const loadS = (quick: boolean): number => (quick ? 45 : 120);
import { METRIC } from '../models/names.js';

export const failover: ExperimentDef = {
  name: 'failover',
  question:
    'In conntrackd sync mode, how many ghost entries (flows already gone) and missing entries (live flows the backup lacks) does the backup commit at failover, as a function of link loss, buffer size and reliable delivery?',
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      listeners: [
        {
          ...DEFAULT_CONNTRACKD,
          netlinkBufferSize: 16384,
          maxGrowth: 16384,
          // FT-FW: a lost message is NACKed when the next one reveals the gap and resent; 10 ms
          // stands for that round trip (the model's resend is a fixed delay; full: also 1 s).
          reader: reader(300),
          sync: { mode: 'notrack', linkDelayUs: 500, linkLoss: 0, retransmitMs: 10 },
        },
      ],
      workloads: [
        workload({
          kind: 'udp',
          arrivals: 'onoff',
          rateHz: 3000,
          onS: 1,
          offS: 2,
          stopS: loadS(quick) + CYCLE_S,
          replyProb: 1,
        }),
      ],
      actions: [{ atS: loadS(quick), kind: 'failover', listener: 0 }],
      durationS: loadS(quick) + CYCLE_S,
      sampleMs: 0,
    });
  },
  axes: (quick) => [
    {
      // The load's cycles start at 0: +0.5 is mid-burst, +1.0 the end of a burst, +2.0 mid-pause.
      path: 'actions.0.atS',
      column: 'failover_s',
      values: [loadS(quick) + 0.5, loadS(quick) + 1, loadS(quick) + 2],
    },
    { path: 'listeners.0.sync.mode', column: 'mode', values: ['notrack', 'ftfw'] },
    ...(quick ? [] : [{ path: 'listeners.0.sync.retransmitMs', column: 'ftfw_resend_ms', values: [10, 1000] }]),
    { path: 'listeners.0.sync.linkLoss', column: 'link_loss', values: quick ? [0, 0.05] : [0, 0.01, 0.05] },
    { path: 'listeners.0.eventsReliable', column: 'reliable', values: [false, true] },
    { path: 'listeners.0.netlinkBufferSize', column: 'buffer_bytes', values: quick ? [16384] : [16384, 262144] },
  ],
  runs: (quick) => (quick ? 4 : 8),
  sanity: () => [{ metric: 'failed_over', floor: 1, what: 'a failover' }],
  prepare(run, point) {
    // The kernel's table at the failover instant (this probe runs right after the failover).
    const v = run.world.kernel.view;
    const at: { live?: number; hashed?: number; sent?: number } = {};
    readAt(run, 'failover', [
      {
        atNs: seconds(point.scenario.config.actions[0]!.atS),
        kind: 'look',
        read: () => {
          at.live = v.liveEntries(true).length;
          at.hashed = v.hashedCount();
          at.sent = messagesSent(run.world.sim.recorder);
        },
      },
    ]);
    return at;
  },
  measure(run, point, probe) {
    const at = probe as { live?: number; hashed?: number; sent?: number };
    const sc = point.scenario.config;
    // Bursts of 1 s every CYCLE_S: the load during a burst is CYCLE_S times the average.
    const load = listenerLoad(at.sent ?? 0, sc.actions[0]!.atS, listenerCostUs(sc));
    const b = [...run.world.backups.values()][0]!;
    const f = b.failover ?? { ghosts: 0, missing: 0, committed: 0 };
    return {
      failed_over: b.failover ? 1 : 0,
      listener_load: load,
      listener_load_in_burst: load * CYCLE_S,
      // Entries the kernel has and that have not expired (expired ones awaiting gc are no flows).
      live_at_failover: at.live ?? 0,
      expired_uncollected: (at.hashed ?? 0) - (at.live ?? 0),
      committed: f.committed,
      ghosts: f.ghosts,
      missing: f.missing,
      enobufs: run.world.listeners[0]!.stats.enobufs,
      resyncs: run.world.listeners[0]!.stats.resyncs,
      link_lost: run.world.sim.recorder.total(METRIC.syncLost),
    };
  },
  summarize(points) {
    const answer = points.map((p) =>
      pointLine(
        p,
        `primary conntrackd at ${pm(
          p.stats.listener_load?.map((x) => x * 100),
          0,
        )} % of its capacity on average, ${pm(
          p.stats.listener_load_in_burst?.map((x) => x * 100),
          0,
        )} % in a burst; ${pm(p.stats.ghosts, 0)} ghosts and ${pm(p.stats.missing, 0)} missing of ${pm(p.stats.live_at_failover, 0)} live entries (another ${pm(p.stats.expired_uncollected, 0)} expired, awaiting gc); ${pm(p.stats.enobufs, 0)} ENOBUFS, ${pm(p.stats.resyncs, 0)} resyncs, ${pm(p.stats.link_lost, 0)} replication messages lost`,
      ),
    );
    return {
      answer,
      plots: [
        {
          name: 'ghosts',
          title: 'Ghost entries committed at failover',
          spec: {
            data: {
              values: points.map((p) => ({
                ...p.label,
                ghosts: p.stats.ghosts?.[0] ?? 0,
                variant: `${p.label.mode}, reliable=${p.label.reliable}, failover at ${p.label.failover_s} s`,
              })),
            },
            mark: { type: 'line', point: true },
            width: 420,
            height: 240,
            encoding: {
              x: { field: 'link_loss', type: 'quantitative', title: 'link loss' },
              y: { field: 'ghosts', type: 'quantitative' },
              color: { field: 'variant', type: 'nominal', title: null },
            },
          },
        },
      ],
    };
  },
};
