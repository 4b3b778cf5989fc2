// `npm run bench -- flush-1m`: a 1,000,000-entry flush to a reliable listener with a 2048-byte
// NetlinkBufferSize, on every preset: wall time, simulated events, events per second, peak RSS,
// memory per entry and time per DESTROY attempt, each preset in a fresh process. With
// `machine`, the same flush runs on the machine model (issue #13): 2 CPUs, one background hog,
// the calibrated sender and flush costs; the flush then waits for the sender to finish, since
// creating a million flows at the sender's real cost takes longer than the one second planned.
import { performance } from 'node:perf_hooks';
import { s, type Ctx } from '../../sim/index.js';
import { buildScenario, parseScenario } from '../../models/scenario.js';
import { reliableConntrackd, scenario, workload } from '../lib/common.js';
import { METRIC } from '../../models/names.js';
import { DEFAULT_MACHINE_SETUP } from '../../models/cpu/machine.js';
import { flushCosts, twinOn } from '../live/twin.js';

export interface FlushBench {
  readonly presetName: string;
  readonly machine: boolean;
  readonly entries: number;
  readonly wallS: number;
  readonly events: number;
  readonly simulatedS: number;
  readonly drainedS: number;
  /** Simulated time of the flush (2 s, or when the sender finished on the machine). */
  readonly flushedAtS: number;
  readonly peakRssMiB: number;
  /** DESTROY deliveries tried (first attempts and redeliveries). */
  readonly destroyAttempts: number;
  /** JS heap plus array buffers after the flush, minus before the fill, per entry. */
  readonly bytesPerEntry: number;
}

export function benchFlush(presetName: string, n: number, machine = false): FlushBench {
  const plain = scenario({
    preset: presetName,
    kernel: { max: 0, buckets: 1 << 20 },
    listeners: [reliableConntrackd(2048, 20, presetName === 'linux-2.6.31' ? { version: '0.9.14' } : {})],
    workloads: [workload({ kind: 'udp', arrivals: 'constant', rateHz: n, flows: n, stopS: 2, replyProb: 0 })],
    actions: [{ atS: 2, kind: 'flush' }],
    durationS: 1e6,
    sampleMs: 0,
  });
  const sc = machine
    ? {
        ...plain,
        kernel: { ...plain.kernel, ...flushCosts(twinOn()) },
        actions: [
          { atS: 2, kind: 'flush' as const, when: { kind: 'workload-done' as const, workload: 0, everyMs: 10 } },
        ],
        machine: { ...DEFAULT_MACHINE_SETUP, background: { runnable: 1, burstMs: 5 } },
      }
    : plain;
  global.gc?.();
  const mem0 = process.memoryUsage();
  let peakBytes = 0;
  // Just before the flush: every entry exists, none is parked yet (garbage collected first).
  const sampleMemory = (): void => {
    global.gc?.();
    const m = process.memoryUsage();
    peakBytes = m.heapUsed + m.arrayBuffers - mem0.heapUsed - mem0.arrayBuffers;
  };
  const t0 = performance.now();
  const run = buildScenario(
    parseScenario(sc),
    { seed: 1, run: 0 },
    { truth: false, logs: false, onFire: () => sampleMemory() },
  );
  const k = run.world.kernel.view;
  // Stop once every flushed entry is gone (checked every simulated second).
  run.world.sim.spawn('bench/watch', {
    init: (ctx: Ctx) => void ctx.send(ctx.self, { kind: 'check' }, s(3)),
    receive(_m, ctx: Ctx) {
      if (k.table.count === 0) ctx.stop();
      else ctx.send(ctx.self, { kind: 'check' }, s(1));
    },
  });
  // Without the machine the flush is at 2 s; with it, onFire samples when the sender is done.
  if (!machine)
    run.world.sim.spawn('bench/memory', {
      init: (ctx: Ctx) => void ctx.send(ctx.self, { kind: 'sample' }, s(1.99)),
      receive: sampleMemory,
    });
  run.run();
  const wallS = (performance.now() - t0) / 1000;
  return {
    presetName,
    machine,
    entries: run.world.sim.recorder.total(METRIC.flushed),
    wallS,
    events: run.world.sim.eventCount,
    simulatedS: run.world.sim.now / 1e9,
    drainedS: (run.world.sim.now - run.fired[0]!) / 1e9,
    flushedAtS: run.fired[0]! / 1e9,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    destroyAttempts: run.world.sim.recorder.total(METRIC.destroyAttempts),
    bytesPerEntry: peakBytes / n,
  };
}
