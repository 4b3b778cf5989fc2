import { buildScenario, parseScenario } from './models/scenario.js';
import { DEFAULT_MACHINE_SETUP } from './models/cpu/machine.js';
import { unrepliedFlows } from './experiments/live/twin.js';
import { raw, reader } from './test/helpers/world.js';
for (const runnable of [0, 1, 1.5, 2]) {
  const sc = parseScenario({ preset: 'linux-6.18', kernel: {}, netlink: {},
    listeners: [raw({ rcvbufBytes: 1 << 20, broadcastError: false, reader: reader(100, 20) })],
    workloads: [unrepliedFlows({ arrivals: 'poisson', rateHz: 1000, flows: 0, startS: 1, stopS: 11, tupleBase: 1_000_000 })],
    actions: [], durationS: 12, sampleMs: 0, machine: { ...DEFAULT_MACHINE_SETUP, background: { runnable, burstMs: 5 } } });
  const run = buildScenario(sc, { seed: 1, run: 0 });
  run.run();
  const l = run.world.listeners[0]!;
  const m = run.world.machine!;
  m.sync();
  console.log(runnable, 'received', l.stats.received.new, 'enobufs', l.stats.enobufs, m.tasks.map((t) => `${t.name}: cpu ${(t.cpuNs/1e9).toFixed(2)} wait ${(t.waitNs/1e9).toFixed(2)} pre ${t.preemptions}`).join(' | '));
}
