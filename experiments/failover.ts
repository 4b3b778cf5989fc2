// 8. failover: conntrackd sync mode; ghost and missing entries on the backup after failover.
import { DEFAULT_CONNTRACKD } from '../models/listeners/config.js';
import type { ExperimentDef } from './lib/experiment.js';
import { labelOf, pm, reader, scenario, workload } from './lib/common.js';
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
          overrunResyncS: 0,
          reader: reader(300),
          sync: { mode: 'notrack', linkDelayUs: 500, linkLoss: 0, retransmitMs: 1000 },
        },
      ],
      workloads: [
        workload({
          kind: 'udp',
          arrivals: 'onoff',
          rateHz: 3000,
          onS: 1,
          offS: 2,
          stopS: quick ? 40 : 120,
          replyProb: 1,
        }),
      ],
      actions: [{ atS: quick ? 40 : 120, kind: 'failover', listener: 0 }],
      durationS: quick ? 40.5 : 120.5,
      sampleMs: 0,
    });
  },
  axes: (quick) => [
    { path: 'listeners.0.sync.mode', column: 'mode', values: ['notrack', 'ftfw'] },
    { path: 'listeners.0.sync.linkLoss', column: 'link_loss', values: quick ? [0, 0.05] : [0, 0.01, 0.05] },
    { path: 'listeners.0.eventsReliable', column: 'reliable', values: [false, true] },
    { path: 'listeners.0.netlinkBufferSize', column: 'buffer_bytes', values: quick ? [16384] : [16384, 262144] },
  ],
  runs: (quick) => (quick ? 2 : 5),
  measure(run) {
    const b = [...run.world.backups.values()][0]!;
    const f = b.failover ?? { ghosts: 0, missing: 0, committed: 0 };
    return {
      live_at_failover: run.world.kernel.view.hashedCount(),
      committed: f.committed,
      ghosts: f.ghosts,
      missing: f.missing,
      enobufs: run.world.listeners[0]!.stats.enobufs,
      link_lost: run.world.sim.recorder.total(METRIC.syncLost),
    };
  },
  summarize(points) {
    const answer = points.map(
      (p) =>
        `${labelOf(p.label)}: ${pm(p.stats.ghosts, 0)} ghosts and ${pm(p.stats.missing, 0)} missing of ${pm(p.stats.live_at_failover, 0)} live entries`,
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
                variant: `${p.label.mode}, reliable=${p.label.reliable}, buffer=${p.label.buffer_bytes}`,
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
