// A simulation with only the machine model and a driver that runs code at given times.
import { Simulation, type Ctx } from '../../sim/index.js';
import { DEFAULT_MACHINE, Machine, type MachineConfig } from '../../models/cpu/machine.js';

type Go = { readonly kind: 'go'; readonly f: (ctx: Ctx) => void };

/** A simulation with the machine and a driver that runs `f` at time `t`. */
export function machine(cfg: Partial<MachineConfig> = {}) {
  const sim = new Simulation({ seed: 1, run: 0 });
  const m = new Machine({ ...DEFAULT_MACHINE, ...cfg });
  sim.spawn('machine', m);
  sim.spawn('driver', { receive: (msg: Go, ctx: Ctx) => msg.f(ctx) });
  const at = (t: number, f: (ctx: Ctx) => void): void => void sim.send('driver', { kind: 'go', f }, t - sim.now);
  const until = (t: number): void => {
    sim.run({ until: t });
    m.sync();
  };
  return { sim, m, at, until };
}
