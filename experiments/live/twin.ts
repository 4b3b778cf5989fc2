// The simulated twins of the live scenarios: the same parameters run through a kernel preset
// (linux-6.18, the host's, unless told otherwise) with the calibration of calibration.ts, producing the records the live runner produces,
// so that both sides go through the same summary code and land in the same CSV schema.
import { buildScenario, parseScenario, type ActionConfig, type ScenarioConfig } from '../../models/scenario.js';
import type { WorkloadConfig } from '../../models/workloads/flows.js';
import type { Timeouts } from '../../models/kernel/config.js';
import type { ListenerConfig } from '../../models/listeners/config.js';
import { workload } from '../lib/common.js';
import { DEFAULT_MACHINE_SETUP, type MachineSetup } from '../../models/cpu/machine.js';
import { calibrationSet, type CalibrationValues } from './calibration.js';
import type { FlushParams, FlushRecord, TableSample } from './flush.js';
import type { ExpiryParams, ExpiryRecord } from './expiry.js';
import { SENDER_DELAY_MS, type ExhaustionParams, type ExhaustionRecord } from './exhaustion.js';

export const TWIN_PRESET = 'linux-6.18';

/** What a twin runs on: a kernel preset and the calibrated speeds of the machine it stands for. */
export interface Twin {
  readonly preset: string;
  readonly calibration: CalibrationValues;
  /** The machine model on: the sender, the listeners and conntrack -F share 2 CPUs (issue #13). */
  readonly machine?: boolean;
}

/** The twin's machine: this VM's 2 vCPUs with Linux's scheduler defaults and the calibrated costs. */
export function twinMachine(twin: Twin): MachineSetup | undefined {
  if (!twin.machine) return undefined;
  const c = twin.calibration;
  return {
    ...DEFAULT_MACHINE_SETUP,
    costs: {
      ...DEFAULT_MACHINE_SETUP.costs,
      packetUs: c.senderPacketUs,
      broadcastUs: c.senderBroadcastUs,
      adminStartUs: c.adminStartUs,
      dumpBucketNs: c.dumpBucketNs,
      dumpEntryNs: c.dumpEntryNs,
      adminExitUs: c.adminExitUs,
      listEntryNs: c.listEntryNs,
      gcEvictNs: c.gcEvictNs,
    },
  };
}

/** On a machine the sender goes as fast as its CPU lets it: ask for far more than that. */
const AS_FAST_AS_POSSIBLE_HZ = 10_000_000;

/** What `conntrack -F` costs on the twin's machine: per entry, and extra per DESTROY a listener took. */
export const flushCosts = (
  twin: Twin,
): { flushCostNs: number; flushFreeCostNs: number; flushDeliverCostNs: number } => ({
  flushCostNs: twin.calibration.flushCostNs,
  flushFreeCostNs: twin.calibration.flushFreeCostNs,
  flushDeliverCostNs: twin.calibration.flushDeliverCostNs,
});

/** The host's twin on `preset` (calibration of this VM's reader and conntrack -F). */
export const twinOn = (preset = TWIN_PRESET, calibration = 'host', machine = false): Twin => ({
  preset,
  calibration: calibrationSet(calibration),
  ...(machine ? { machine } : {}),
});

/** The preset of a live run's kernel release (6.1.x → linux-6.1); the host's otherwise. */
export function presetForRelease(release: string): string {
  if (/^6\.1\./.test(release)) return 'linux-6.1';
  return TWIN_PRESET;
}

/**
 * When the twins start filling the table: after the gc worker's first run (1 s after init), whose
 * next run is then 60 s away. The live gc worker runs since boot at an arbitrary phase; a twin
 * that started at 0 would meet a gc run (and its early-drop assist) in its first second.
 */
export const FILL_AT_S = 2;

/** Python's sendto loop on this VM, flows per second (sets when the flows exist, nothing else). */
const SEND_RATE_HZ = 100_000;

/** The fill rate of a scenario: as given, or the sender's own pace. */
const fillRate = (p: { fillRateHz: number }): number => p.fillRateHz || SEND_RATE_HZ;

/** One-packet UDP flows that never get a reply, one every 1/rateHz s (the helper's `send`). */
export const unrepliedFlows = (o: Partial<WorkloadConfig>): WorkloadConfig =>
  workload({ arrivals: 'constant', replyProb: 0, ...o });

/** `n` flows from FILL_AT_S at the fill rate, and conntrack -F 0.3 s after the last one. */
function fillThenFlush(n: number, p: { fillRateHz: number }): { fill: WorkloadConfig; flushS: number } {
  const flushS = FILL_AT_S + Math.ceil((n / fillRate(p) + 0.3) * 1000) / 1000;
  return {
    flushS,
    fill: unrepliedFlows({ rateHz: fillRate(p), flows: n, startS: FILL_AT_S, stopS: flushS, tupleBase: 1_000_000 }),
  };
}

/** The helper as a simulated listener. */
export function helperListener(
  o: { buffer: number; force: boolean; reliable: boolean; noEnobufs?: boolean; delayUs: number },
  cal: CalibrationValues,
  onMachine = false,
): ListenerConfig {
  return {
    kind: 'raw',
    groups: [1, 2, 3],
    broadcastError: o.reliable,
    noEnobufs: o.noEnobufs ?? false,
    rcvbufBytes: o.buffer,
    force: o.force,
    reader: {
      wakeupUs: { kind: 'constant', us: cal.readerWakeupUs },
      costUs: { kind: 'constant', us: cal.readerCostUs + o.delayUs },
      slowdown: 1,
      // On the machine the runner that parses the helper's lines shares the CPUs too.
      ...(onMachine
        ? { pipe: { lineUs: cal.runnerLineUs, wakeUs: cal.runnerWakeUs, wakeTauUs: cal.runnerWakeTauUs } }
        : {}),
    },
  };
}

/**
 * The flush scenario: the flows, then conntrack -F 0.3 s after the last one. On a machine the
 * sender's pace is its CPU's, so the flush waits for the sender to finish (as the live runner does).
 */
function flushScenario(p: FlushParams, twin: Twin): { sc: ScenarioConfig; flushS: number } {
  const machine = twinMachine(twin);
  const planned = fillThenFlush(p.entries, p);
  const { flushS } = planned;
  const fill = machine && !p.fillRateHz ? { ...planned.fill, rateHz: AS_FAST_AS_POSSIBLE_HZ } : planned.fill;
  const flush: ActionConfig = machine
    ? { atS: FILL_AT_S, kind: 'flush', when: { kind: 'workload-done', workload: 0, everyMs: 1, afterMs: 300 } }
    : { atS: flushS, kind: 'flush' };
  return {
    flushS,
    sc: {
      preset: twin.preset,
      kernel: flushCosts(twin),
      netlink: {},
      listeners: [helperListener(p, twin.calibration, machine !== undefined)],
      workloads: [fill],
      actions: [flush],
      ...(machine ? { machine } : {}),
      // One DESTROY per 16 ms at worst, plus the first redelivery second.
      durationS: Math.ceil(flushS + 2 + p.entries * 0.02),
      sampleMs: 500,
    },
  };
}

/** Runs the flush in the simulator, once per repeat (seed = repeat + 1). */
export function simulateFlush(p: FlushParams, twin: Twin = twinOn()): FlushRecord[] {
  const out: FlushRecord[] = [];
  const { sc, flushS } = flushScenario(p, twin);
  const scenario = parseScenario(sc);
  for (let r = 0; r < p.repeats; r++) {
    let pipeCpuMs: number | undefined;
    let pipeWakes: number | undefined;
    const run = buildScenario(
      scenario,
      { seed: r + 1, run: 0 },
      {
        // As live: the pipe reader's CPU and wake-ups while the table was filled.
        onFire: () => {
          const m = run.world.machine!;
          m.sync();
          const pipe = m.tasks.find((t) => t.name.endsWith('/pipe'));
          pipeCpuMs = pipe ? pipe.cpuNs / 1e6 : undefined;
          pipeWakes = pipe?.wakeups;
        },
      },
    );
    run.run();
    const l = run.world.listeners[0]!;
    // On a machine the flush ran when the sender was done; otherwise at its planned time.
    const atS = twin.machine ? (run.fired[0] ?? NaN) / 1e9 : flushS;
    const ms = (t: number): number => t / 1e6 - atS * 1000;
    const g = run.workloads[0]!;
    const sender = run.world.machine?.tasks.find((t) => t.name.startsWith('workload/'));
    out.push({
      destroyMs: l.log.flatMap((e) => (e.kind === 'msg' && e.ev.type === 'destroy' ? [ms(e.t)] : [])),
      enobufsMs: l.log.flatMap((e) => (e.kind === 'enobufs' ? [ms(e.t)] : [])),
      rcvbuf: l.socket.rcvbuf,
      drops: l.socket.drops,
      samples: run.series
        .filter((s) => s.tS >= atS)
        .map((s) => ({ tMs: (s.tS - atS) * 1000, count: s.count, parked: s.parked })),
      news: l.stats.received.new,
      // The pipe reader's CPU while the table was filled (its task on the machine).
      ...(pipeCpuMs !== undefined ? { runnerCpuMs: pipeCpuMs, runnerWakes: pipeWakes } : {}),
      ...(sender ? { sender: { sendMs: (g.lastSentNs - g.firstSentNs) / 1e6, cpuMs: sender.cpuNs / 1e6 } } : {}),
    });
  }
  return out;
}

/** When the simulated probe is sent: after the gc's first run (1 s after init), like a live one. */
const PROBE_AT_S = 1.5;

function expiryScenario(p: ExpiryParams, twin: Twin, burstAtS?: number): ScenarioConfig {
  const udp = (o: Partial<WorkloadConfig>): WorkloadConfig => unrepliedFlows({ rateHz: fillRate(p), ...o });
  const probe = udp({ flows: 1, startS: PROBE_AT_S, stopS: PROBE_AT_S + 1, tupleBase: 1_000_000 });
  const workloads = [probe];
  const actions: ActionConfig[] = [];
  if (burstAtS !== undefined) {
    workloads.push(
      udp({ flows: p.flows, startS: burstAtS, stopS: burstAtS + 1 + p.flows / fillRate(p), tupleBase: 2_000_000 }),
    );
    actions.push({ atS: burstAtS - p.offsetS, kind: 'sysctl', name: 'udpTimeoutS', value: p.timeoutS });
  }
  return {
    preset: twin.preset,
    kernel: { timeouts: { udpS: 1 } as Timeouts },
    netlink: {},
    listeners: [helperListener({ buffer: 32 << 20, force: true, reliable: false, delayUs: 0 }, twin.calibration)],
    workloads,
    actions,
    durationS: (burstAtS ?? PROBE_AT_S) + p.timeoutS + 150,
    sampleMs: 0,
  };
}

/** Runs the expiry measurement in the simulator (deterministic: every repeat is the same run). */
export function simulateExpiry(p: ExpiryParams, twin: Twin = twinOn()): ExpiryRecord[] {
  const destroysOf = (sc: ScenarioConfig) => {
    const run = buildScenario(parseScenario(sc), { seed: 1, run: 0 });
    run.run();
    return run.world.listeners[0]!.log;
  };
  const ms = (t: number): number => t / 1e6 - PROBE_AT_S * 1000;
  const probeDestroy = destroysOf(expiryScenario(p, twin)).find((e) => e.kind === 'msg' && e.ev.type === 'destroy');
  if (!probeDestroy) throw new Error('simulated probe never expired');
  const log = destroysOf(expiryScenario(p, twin, probeDestroy.t / 1e9 + p.offsetS));
  const at = (type: string): Map<number, number> =>
    new Map(
      log.flatMap((e) =>
        e.kind === 'msg' && e.ev.type === type && e.ev.tuple >= 2_000_000 ? [[e.ev.tuple, ms(e.t)]] : [],
      ),
    );
  const news = at('new');
  const destroys = at('destroy');
  const flows = [...news]
    .filter(([k]) => destroys.has(k))
    .map(([k, newMs]) => ({ newMs, destroyMs: destroys.get(k)! }));
  const rec = { probeDestroyMs: ms(probeDestroy.t), flows };
  return Array.from({ length: p.repeats }, () => rec);
}

/**
 * The exhaustion scenario: fill to max, optionally overfill (more flows into the full table, then
 * 0.3 s), flush, new flows at a steady rate meanwhile.
 */
function exhaustionScenario(
  p: ExhaustionParams,
  twin: Twin,
): { sc: ScenarioConfig; flushS: number; overfillS: number | undefined } {
  const planned = fillThenFlush(p.max, p);
  const extra = Math.round((p.max * (p.overfillPct ?? 0)) / 100);
  // The overfill starts where the flush would have been, 0.3 s after the fill, at the fill rate.
  const overfillS = extra > 0 ? planned.flushS : undefined;
  const flushS =
    overfillS === undefined ? planned.flushS : Math.ceil((overfillS + extra / fillRate(p) + 0.3) * 1000) / 1000;
  const startS = flushS + SENDER_DELAY_MS / 1000;
  const flows = Math.round(p.rateHz * p.durationS);
  const machine = twinMachine(twin);
  const workloads = [planned.fill];
  if (overfillS !== undefined)
    workloads.push(
      unrepliedFlows({ rateHz: fillRate(p), flows: extra, startS: overfillS, stopS: flushS, tupleBase: 2_000_000 }),
    );
  workloads.push(
    unrepliedFlows({ rateHz: p.rateHz, flows, startS, stopS: startS + p.durationS + 1, tupleBase: 3_000_000 }),
  );
  return {
    flushS,
    overfillS,
    sc: {
      preset: twin.preset,
      kernel: { max: p.max, ...flushCosts(twin) },
      netlink: {},
      listeners: [helperListener({ ...p, reliable: true }, twin.calibration, machine !== undefined)],
      workloads,
      actions: [{ atS: flushS, kind: 'flush' }],
      durationS: startS + p.durationS,
      // Refusals are read from the kernel's drop counter, sampled every millisecond.
      sampleMs: 1,
      ...(machine ? { machine } : {}),
    },
  };
}

/** Runs the exhaustion measurement in the simulator, once per repeat (seed = repeat + 1). */
export function simulateExhaustion(p: ExhaustionParams, twin: Twin = twinOn()): ExhaustionRecord[] {
  const { sc, flushS, overfillS } = exhaustionScenario(p, twin);
  const scenario = parseScenario(sc);
  const extra = Math.round((p.max * (p.overfillPct ?? 0)) / 100);
  return Array.from({ length: p.repeats }, (_, r) => {
    const run = buildScenario(scenario, { seed: r + 1, run: 0 });
    run.run();
    const refusedMs: number[] = [];
    const samples: TableSample[] = [];
    let drops = 0;
    // The kernel's counters at the phase boundaries (the last sample before each).
    const at = (tS: number) => [...run.series].reverse().find((x) => x.tS < tS) ?? run.series[0]!;
    for (const s of run.series) {
      const tMs = Math.round((s.tS - flushS) * 1e6) / 1000;
      for (; drops < s.drops; drops++) if (tMs >= 0) refusedMs.push(tMs);
      if (tMs >= 0 && Math.round(tMs) % 500 === 0) samples.push({ tMs, count: s.count, parked: s.parked });
    }
    const end = run.series.at(-1)!;
    const phases =
      overfillS === undefined
        ? undefined
        : {
            overfill: {
              sent: extra,
              refused: at(flushS).drops - at(overfillS).drops,
              earlyDrops: at(flushS).earlyDrops - at(overfillS).earlyDrops,
              drops: at(flushS).drops - at(overfillS).drops,
            },
            refill: {
              sent: Math.round(p.rateHz * p.durationS),
              refused: refusedMs.length,
              earlyDrops: end.earlyDrops - at(flushS).earlyDrops,
              drops: end.drops - at(flushS).drops,
            },
          };
    return { attempts: Math.round(p.rateHz * p.durationS), refusedMs, samples, ...(phases ? { phases } : {}) };
  });
}
