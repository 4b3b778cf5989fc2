// 6. eras: one workload across every preset, one comparison table and plot.
import { analyseListener } from '../models/listeners/analysis.js';
import type { ExperimentDef } from './lib/experiment.js';
import { s as seconds } from '../sim/index.js';
import {
  conntrackE,
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
import { PRESET_NAMES } from '../models/presets.js';
import { eventsThatFit } from '../models/netlink/socket.js';
import { METRIC } from '../models/names.js';

/** The flush comes after this many seconds of load: long past the 30 s UDP timeout. */
const flushAt = (quick: boolean): number => (quick ? 50 : 120);

export const eras: ExperimentDef = {
  name: 'eras',
  question:
    'The same workload (DNS-like flows, a flush in the middle, a slow reliable conntrackd and a conntrack -E) on every kernel preset: failed and redelivered DESTROYs, time to drain, duplicates, reordering, drops.',
  base(quick) {
    return scenario({
      preset: 'linux-6.18',
      // 500 new flows/s with 30 s timeouts: 15,000 live entries plus those awaiting the gc worker.
      kernel: { max: 65536, buckets: 16384 },
      listeners: [reliableConntrackd(4096, 200), conntrackE(20)],
      workloads: [
        // 20,000 tuples at 500/s: a tuple comes back after 40 s, when its entry has expired (30 s)
        // but may still wait for the gc worker or for its DESTROY's redelivery: a new conntrack
        // each time, and a chance for reordering. The load stops at the flush, so the flush
        // empties the table and the drain is the flushed entries'.
        workload({
          kind: 'udp',
          arrivals: 'poisson',
          rateHz: 500,
          stopS: flushAt(quick),
          tupleSpace: 20000,
          replyProb: 0.9,
        }),
      ],
      actions: [{ atS: flushAt(quick), kind: 'flush' }],
      durationS: flushAt(quick) + (quick ? 150 : 300),
      sampleMs: 1000,
    });
  },
  axes: () => [{ path: 'preset', column: 'preset', values: [...PRESET_NAMES] }],
  runs: (quick) => (quick ? 4 : 8),
  sanity: () => [{ metric: 'expired_before_flush', floor: 100, what: 'entries that expired before the flush' }],
  prepare(run, point) {
    const rec = run.world.sim.recorder;
    const probe: { expired?: number; failures?: number; sent?: number } = {};
    readAt(run, 'flush', [
      {
        atNs: seconds(point.scenario.config.actions[0]!.atS) - 1,
        kind: 'read',
        read: () => {
          probe.expired = rec.total(METRIC.expired);
          probe.failures = rec.total(METRIC.destroyFailures);
          probe.sent = messagesSent(rec);
        },
      },
    ]);
    return probe;
  },
  measure(run, point, probe) {
    const { expired = 0, failures = 0, sent = 0 } = probe as { expired?: number; failures?: number; sent?: number };
    const rec = run.world.sim.recorder;
    const v = run.world.kernel.view;
    const live = v.liveEntries();
    const [rel, unrel] = run.world.listeners.map((l) => analyseListener(l, v.truth, live));
    const flushNs = seconds(point.scenario.config.actions[0]!.atS);
    let waits = 0;
    let n = 0;
    let lastAfterFlush = flushNs;
    for (const tr of v.truth.values()) {
      if (tr.firstFail >= 0 && tr.destroySent >= 0) {
        waits += tr.destroySent - tr.firstFail;
        n++;
      }
      if (tr.destroySent >= flushNs) lastAfterFlush = Math.max(lastAfterFlush, tr.destroySent);
    }
    return {
      flows: rec.total(METRIC.flows),
      buffer_events: eventsThatFit(
        run.world.listeners[0]!.socket.rcvbuf,
        run.world.family.nl.truesize.destroyUdp,
        run.world.family.nl.admission,
      ),
      listener_load: listenerLoad(sent, point.scenario.config.actions[0]!.atS, listenerCostUs(point.scenario.config)),
      expired_before_flush: expired,
      destroy_failures_before_flush: failures,
      destroy_failures: rec.total(METRIC.destroyFailures),
      parked_total: rec.total(METRIC.parked),
      redelivered: rec.total(METRIC.redelivered),
      redelivery_wait_mean_s: n ? waits / n / 1e9 : 0,
      parked_peak: Math.max(0, ...run.series.map((x) => x.parked)),
      // The last DESTROY after the flush; censored (drained = 0) when entries were still parked.
      drain_s: (lastAfterFlush - flushNs) / 1e9,
      drained: v.parkedCount() === 0 ? 1 : 0,
      drops: v.stats.drop,
      reliable_new_missed: rel!.newMissed,
      reliable_destroy_missed: rel!.destroyMissed,
      reliable_out_of_order: rel!.outOfOrder,
      unreliable_duplicates: unrel!.duplicates,
      unreliable_destroy_missed: unrel!.destroyMissed,
    };
  },
  summarize(points) {
    const answer = points.map((p) => {
      const open = (p.stats.drained?.[2] ?? 1) === 0;
      return pointLine(
        p,
        `reliable listener at ${pm(
          p.stats.listener_load?.map((x) => x * 100),
          0,
        )} % of its capacity before the flush, its buffer holding ${pm(p.stats.buffer_events, 0)} DESTROYs; before the flush ${pm(p.stats.expired_before_flush, 0)} expiries and ${pm(p.stats.destroy_failures_before_flush, 0)} failed DESTROYs; in all ${pm(p.stats.destroy_failures, 0)} failed attempts, ${pm(p.stats.parked_total, 0)} parked (peak ${pm(p.stats.parked_peak, 0)}), mean wait ${pm(p.stats.redelivery_wait_mean_s, 2)} s${open ? ' (of those delivered within the run)' : ''}; drained ${open ? 'not within the run (at least ' : ''}${pm(p.stats.drain_s, 1)} s after the flush${open ? ')' : ''}; the reliable listener missed ${pm(p.stats.reliable_new_missed, 0)} NEWs and ${pm(p.stats.reliable_destroy_missed, 0)} DESTROYs and saw ${pm(p.stats.reliable_out_of_order, 0)} out of order; conntrack -E saw ${pm(p.stats.unreliable_duplicates, 0)} duplicates and missed ${pm(p.stats.unreliable_destroy_missed, 0)} DESTROYs; ${pm(p.stats.drops, 0)} new flows dropped for a full table`,
      );
    });
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
