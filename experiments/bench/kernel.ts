// `npm run bench -- kernel`: memory per tracked entry at 1,000,000 entries and simulated packets
// per second through the kernel model alone (no listener), in the same run.
import { performance } from 'node:perf_hooks';
import { Simulation, s, type Actor, type Ctx } from '../../sim/index.js';
import { conntrackKernel } from '../../models/kernel/core.js';
import type { PacketMsg } from '../../models/kernel/types.js';
import { NO_LISTENERS } from '../../models/kernel/events.js';
import { preset } from '../../models/presets.js';
import { produce } from 'immer';

export interface KernelBench {
  readonly presetName: string;
  readonly entries: number;
  readonly bytesPerEntry: number;
  readonly tableBytesPerEntry: number;
  readonly packets: number;
  readonly packetsPerSecond: number;
}

// Sends `n` packets: new UDP flows until `entries` exist, then packets of existing flows.
function driver(entries: number, n: number): Actor {
  let sent = 0;
  return {
    init: (ctx: Ctx) => void ctx.send(ctx.self, { kind: 'go' }),
    receive(m, ctx: Ctx) {
      if (m.kind === 'end') return ctx.stop();
      // One engine event per 1000 packets keeps the driver's own cost out of the figure.
      const k = ctx.ref('kernel/conntrack');
      for (let i = 0; i < 1000 && sent < n; i++, sent++) {
        const flow = sent < entries ? sent : (sent * 2654435761) % entries;
        const msg: PacketMsg = {
          kind: 'packet',
          tuple: 2 * flow + (sent >= entries && sent & 1 ? 1 : 0),
          proto: 'udp',
        };
        ctx.send(k, msg, 1000);
      }
      if (sent < n) ctx.send(ctx.self, { kind: 'go' }, 1000);
      else ctx.send(ctx.self, { kind: 'end' }, 2000);
    },
  };
}

export function benchKernel(presetName: string, entries: number, packets: number): KernelBench {
  const cfg = produce(preset(presetName).kernel, (d) => {
    d.max = 0;
    d.buckets = 1 << 20; // about one bucket per entry, as a user sizing for a million would set
    d.timeouts.udpS = 3600; // nothing expires during the run
    d.timeouts.udpStreamS = 3600;
  });
  global.gc?.();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const sim = new Simulation({ seed: 1, run: 0 });
  const k = conntrackKernel(cfg, NO_LISTENERS);
  sim.spawn('kernel/conntrack', k);
  sim.spawn('bench/driver', driver(entries, packets));
  const t0 = performance.now();
  sim.run({ until: s(3000) });
  const secs = (performance.now() - t0) / 1000;
  global.gc?.();
  const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const count = k.view.table.count;
  return {
    presetName,
    entries: count,
    bytesPerEntry: (after - before) / count,
    tableBytesPerEntry: k.view.table.byteLength / count,
    packets,
    packetsPerSecond: packets / secs,
  };
}
