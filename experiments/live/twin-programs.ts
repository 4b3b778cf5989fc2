// The simulated twins of the live runs of the real listener programs (conntrackd.ts,
// conntrack-e.ts): the model's conntrackd and `conntrack -E` (1.4.7, the options the live run
// gave the real ones) under the same burst, polled every POLL_MS as the live runner polls the
// daemon, producing the same records.
import { s as seconds } from '../../sim/index.js';
import {
  buildScenario,
  parseScenario,
  type Scenario,
  type ScenarioConfig,
  type ScenarioRun,
} from '../../models/scenario.js';
import {
  DEFAULT_CONNTRACKD,
  DEFAULT_CONNTRACK_E,
  type ConntrackdConfig,
  type ListenerConfig,
} from '../../models/listeners/config.js';
import type { ListenerModel } from '../../models/listeners/types.js';
import { KERNEL_ID, backupId } from '../../models/names.js';
import { FILL_AT_S, flushCosts, twinMachine, unrepliedFlows, type Twin } from './twin.js';
import { POLL_MS, tableDiff, type ConntrackdParams, type ConntrackdPoll, type ConntrackdRecord } from './conntrackd.js';
import { medianGapUs, type ConntrackEParams, type ConntrackERecord } from './conntrack-e.js';
import type { SyncParams, SyncRecord } from './sync.js';

/**
 * The burst of a program twin: `flows` new unreplied flows from FILL_AT_S at the fill rate (the
 * sender's calibrated pace beside that program when 0), parsed, with when its last flow comes.
 */
function burstScenario(
  p: { flows: number; fillRateHz: number },
  sendHz: number,
  twin: Twin,
  listener: ListenerConfig,
): { scenario: Scenario; fillEndMs: number } {
  const rateHz = p.fillRateHz || sendHz;
  return {
    scenario: parseScenario(burst(p, rateHz, twin, listener)),
    fillEndMs: ((p.flows - 1) / rateHz) * 1000,
  };
}

function burst(p: { flows: number }, rateHz: number, twin: Twin, listener: ListenerConfig): ScenarioConfig {
  return {
    preset: twin.preset,
    kernel: flushCosts(twin),
    netlink: {},
    listeners: [listener],
    workloads: [
      unrepliedFlows({
        rateHz,
        flows: p.flows,
        startS: FILL_AT_S,
        stopS: FILL_AT_S + p.flows / rateHz + 1,
        tupleBase: 1_000_000,
      }),
    ],
    actions: [],
    // The twins step the run themselves (ScenarioRun.world.sim); this only bounds run().
    durationS: 3600,
    sampleMs: 0,
    ...(twin.machine ? { machine: twinMachine(twin)! } : {}),
  };
}

/** Advances `run` to `ms` after the burst started. */
const runTo = (run: ScenarioRun, ms: number): void =>
  void run.world.sim.run({ until: seconds(FILL_AT_S) + Math.round(ms * 1e6) });

/** The model's conntrackd with the live run's conntrackd.conf (stats mode, 1.4.7). */
export function conntrackdListener(p: ConntrackdParams, twin: Twin): ConntrackdConfig {
  return {
    ...DEFAULT_CONNTRACKD,
    version: '1.4.7',
    netlinkBufferSize: p.buffer,
    maxGrowth: p.buffer * p.growth,
    overrunResyncS: p.resyncS,
    eventsReliable: p.reliable,
    iterationLimit: 100,
    reader: {
      wakeupUs: { kind: 'constant', us: twin.calibration.readerWakeupUs },
      costUs: { kind: 'constant', us: twin.calibration.conntrackdCostUs },
      slowdown: 1,
    },
  };
}

/** What `conntrackd -s runtime`, `-s` and nf_conntrack_count would say now. */
function pollOf(run: ScenarioRun, l: ListenerModel, tMs: number): ConntrackdPoll {
  const r = l.stats.received;
  return {
    tMs,
    received: r.new + r.update + r.destroy,
    overruns: l.stats.enobufs,
    resyncs: l.stats.resyncs,
    buffer: l.socket.rcvbuf,
    cache: l.view.size,
    kernel: run.world.kernel.view.table.count,
  };
}

/** Runs the conntrackd measurement in the simulator, once per repeat (seed = repeat + 1). */
export function simulateConntrackd(p: ConntrackdParams, twin: Twin): ConntrackdRecord[] {
  const { scenario, fillEndMs } = burstScenario(
    p,
    twin.calibration.conntrackdSendHz,
    twin,
    conntrackdListener(p, twin),
  );
  return Array.from({ length: p.repeats }, (_, r) => {
    const run = buildScenario(scenario, { seed: r + 1, run: 0 });
    const l = run.world.listeners[0]!;
    const polls: ConntrackdPoll[] = [];
    let t = 0;
    const pollUntil = (done: (x: ConntrackdPoll) => boolean): void => {
      for (;;) {
        runTo(run, t);
        const x = pollOf(run, l, t);
        polls.push(x);
        t += POLL_MS;
        if (done(x)) return;
      }
    };
    // As the live runner: polls while the sender runs, then until the resync would have come.
    pollUntil((x) => x.tMs >= fillEndMs);
    const waitMs = fillEndMs + p.resyncS * 1000 + 1500;
    pollUntil((x) => x.tMs > waitMs);
    let flushMs: number | undefined;
    let emptyMs: number | undefined;
    if (p.flush) {
      // The polls have moved `t` one period past the simulated time: the flush is at `t`.
      runTo(run, t);
      flushMs = t;
      run.world.sim.send(KERNEL_ID, { kind: 'flush', portid: 4242 }, 0);
      // As the live runner's sampler: the table's count every millisecond until it is empty.
      for (let ms = t; ms <= flushMs + 300_000; ms++) {
        runTo(run, ms);
        if (run.world.kernel.view.table.count === 0) {
          emptyMs = ms;
          break;
        }
      }
      // The polls go on from there (the run cannot go back).
      t = Math.max(t, emptyMs ?? flushMs + 300_000);
      let emptyAt = Infinity;
      pollUntil((x) => {
        if (x.kernel === 0 && emptyAt === Infinity) emptyAt = x.tMs;
        return x.tMs > Math.min(emptyAt + 1000, flushMs! + 300_000);
      });
    }
    const kernel = new Set(run.world.kernel.view.liveEntries(true).map((e) => e.tuple));
    const cache = new Set([...l.view.values()].map((e) => e.tuple));
    return {
      log: l.notices.map((n) => `[${n.level}] ${n.text}`),
      polls,
      fillEndMs,
      ...(flushMs === undefined ? {} : { flushMs }),
      ...(emptyMs === undefined ? {} : { emptyMs }),
      ...tableDiff(kernel, cache),
    };
  });
}

/** The model's `conntrack -E` 1.4.7 with the live run's options. */
export function conntrackEListener(p: ConntrackEParams, twin: Twin): ListenerConfig {
  const c = twin.calibration;
  return {
    ...DEFAULT_CONNTRACK_E,
    version: '1.4.7',
    bufferSize: p.bufferSize,
    reader: {
      wakeupUs: { kind: 'constant', us: twin.calibration.readerWakeupUs },
      costUs: { kind: 'constant', us: c.conntrackECostUs },
      slowdown: 1,
      ...(twin.machine
        ? // On the machine what preempts it is there: the runner reading its lines from the pipe.
          { pipe: { lineUs: c.conntrackERunnerLineUs, wakeUs: c.runnerWakeUs, wakeTauUs: c.runnerWakeTauUs } }
        : {
            // CPU-bound while it prints: preempted every ~20 us of CPU in the calibration case.
            preemption: {
              runUs: { kind: 'exponential', meanUs: c.conntrackEPreemptRunUs },
              waitUs: { kind: 'exponential', meanUs: c.conntrackEPreemptWaitUs },
            },
          }),
    },
  };
}

/** Runs the `conntrack -E` measurement in the simulator, once per repeat (seed = repeat + 1). */
export function simulateConntrackE(p: ConntrackEParams, twin: Twin): ConntrackERecord[] {
  const { scenario, fillEndMs } = burstScenario(
    p,
    twin.calibration.conntrackESendHz,
    twin,
    conntrackEListener(p, twin),
  );
  return Array.from({ length: p.repeats }, (_, r) => {
    const run = buildScenario(scenario, { seed: r + 1, run: 0 });
    runTo(run, fillEndMs + 1000);
    const l = run.world.listeners[0]!;
    const times = l.log.flatMap((e) => (e.kind === 'msg' ? [e.t / 1e3] : []));
    return {
      lineGapUs: medianGapUs(times),
      fillMs: fillEndMs,
      lines: l.stats.received.new + l.stats.received.update + l.stats.received.destroy,
      warnings: l.stats.enobufs,
      exited: !l.running,
      // -b lands on the command socket in 1.4.7: the NOTICE gives that socket's size.
      ...(p.bufferSize > 0 ? { noticeBytes: Math.max(2 * p.bufferSize, run.world.family.nl.sockMinRcvbuf) } : {}),
    };
  });
}

/** The model's sync pair with the live run's configuration (NetlinkBufferSize 8 MiB, no resync). */
export function syncListener(p: SyncParams, twin: Twin): ListenerConfig {
  return {
    ...conntrackdListener(
      {
        buffer: 8388608,
        growth: 1,
        flows: 0,
        fillRateHz: 0,
        reliable: false,
        flush: false,
        resyncS: 1,
        repeats: 1,
      },
      twin,
    ),
    overrunResyncS: 0,
    // The live link drops whole datagrams; the model loses each message with that probability.
    sync: { mode: p.mode, linkDelayUs: 100, linkLoss: p.lossPct / 100, retransmitMs: 10 },
  };
}

/** Runs the sync pair in the simulator, once per repeat (seed = repeat + 1), with the live run's timeline. */
export function simulateSync(p: SyncParams, twin: Twin): SyncRecord[] {
  const rateHz = p.fillRateHz || twin.calibration.conntrackdSendHz;
  const goneEndS = FILL_AT_S + p.flowsGone / rateHz;
  const flushS = goneEndS + 1;
  const liveStartS = flushS + 1 + (p.flowsGone * twin.calibration.flushCostNs) / 1e9;
  const failoverS = liveStartS + p.flowsLive / rateHz + 2;
  const batch = (flows: number, startS: number, tupleBase: number) =>
    unrepliedFlows({ rateHz, flows, startS, stopS: startS + flows / rateHz + 1, tupleBase });
  const sc: ScenarioConfig = {
    preset: twin.preset,
    kernel: flushCosts(twin),
    netlink: {},
    listeners: [syncListener(p, twin)],
    workloads: [batch(p.flowsGone, FILL_AT_S, 1_000_000), batch(p.flowsLive, liveStartS, 3_000_000)],
    actions: [
      { atS: flushS, kind: 'flush' },
      { atS: failoverS, kind: 'failover', listener: 0 },
    ],
    durationS: failoverS + 0.5,
    sampleMs: 0,
  };
  const scenario = parseScenario(sc);
  return Array.from({ length: p.repeats }, (_, r) => {
    const run = buildScenario(scenario, { seed: r + 1, run: 0 });
    run.run();
    const f = run.world.backups.get(backupId(0))!.failover!;
    return {
      ghosts: f.ghosts,
      missing: f.missing,
      committed: f.committed,
      primaryLive: run.world.kernel.view.liveEntries(true).length,
    };
  });
}
