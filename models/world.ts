// Wires one simulated machine: the conntrack kernel of a netns, the NETLINK_NETFILTER protocol
// and the listener processes, in one Simulation. Experiments add workloads and actions on top.
import { Simulation, type TraceSink } from '../sim/index.js';
import type { KernelConfig } from './kernel/config.js';
import { validateKernel } from './kernel/validate.js';
import { conntrackKernel } from './kernel/core.js';
import type { KernelModel } from './kernel/types.js';
import { validateListener, type ListenerConfig } from './listeners/config.js';
import { listener } from './listeners/listener.js';
import type { ListenerModel } from './listeners/types.js';
import { syncBackup, type BackupModel } from './listeners/sync.js';
import { validateNetlinkKernel, type NetlinkKernelConfig } from './netlink/config.js';
import { NetlinkFamily } from './netlink/socket.js';
import { KERNEL_ID, MACHINE_ID, backupId as backupIdOf, listenerId } from './names.js';
import { Machine, validateMachineSetup, type MachineSetup } from './cpu/machine.js';
import { KernelWork } from './cpu/work.js';

/** Validates a world assembled by hand (tests, benchmarks); returns it unchanged. */
export function parseWorld(cfg: WorldConfig): WorldConfig {
  validateKernel(cfg.kernel, 'kernel');
  validateNetlinkKernel(cfg.netlink, 'netlink');
  cfg.listeners.forEach((l, i) => validateListener(l, `listeners[${i}]`));
  if (cfg.machine !== undefined) validateMachineSetup(cfg.machine);
  return cfg;
}

/** What a world is made of. */
export interface WorldConfig {
  readonly kernel: KernelConfig;
  readonly netlink: NetlinkKernelConfig;
  /** Listener processes, started at time 0 in this order (the last one is tried first). */
  readonly listeners: readonly ListenerConfig[];
  /**
   * Optional: the CPUs the listeners share with background load (models/cpu/machine.ts). Absent:
   * every listener has a CPU of its own and nothing else runs (the behaviour of every preset).
   */
  readonly machine?: MachineSetup;
}

/** A built world: the simulation, the kernel, the netlink family and the listener processes. */
export interface World {
  readonly sim: Simulation;
  readonly kernel: KernelModel;
  readonly family: NetlinkFamily;
  /** Listeners by actor id (`listener/<kind>-<i>`). */
  readonly listeners: ListenerModel[];
  readonly listenerIds: string[];
  /** Sync backups by actor id (`sync/backup-<i>` for conntrackd listener i in sync mode). */
  readonly backups: Map<string, BackupModel>;
  /** The machine, when the config names one. */
  readonly machine?: Machine;
}

/**
 * Builds the world for replication `run` of `seed` from validated configs (a parsed
 * scenario's, or {@link parseWorld}'s for a world assembled by hand).
 */
export function buildWorld(
  cfg: WorldConfig,
  rs: { seed: number; run: number },
  opts: { fingerprint?: boolean; trace?: TraceSink; truth?: boolean; logs?: boolean } = {},
): World {
  const sim = new Simulation({
    ...rs,
    fingerprint: opts.fingerprint ?? true,
    ...(opts.trace ? { trace: opts.trace } : {}),
  });
  const family = new NetlinkFamily(cfg.netlink);
  const machine = cfg.machine ? new Machine(cfg.machine) : undefined;
  const cpu = machine && cfg.machine ? new KernelWork(machine, cfg.machine.costs) : undefined;
  const kernel = conntrackKernel(cfg.kernel, family, { truth: opts.truth ?? true, ...(cpu ? { cpu } : {}) });
  sim.spawn(KERNEL_ID, kernel);
  if (machine && cfg.machine) {
    sim.spawn(MACHINE_ID, machine);
    machine.background(cfg.machine.background.runnable, cfg.machine.background.burstMs);
  }
  const listeners: ListenerModel[] = [];
  const listenerIds: string[] = [];
  const backups = new Map<string, BackupModel>();
  cfg.listeners.forEach((l, i) => {
    const id = listenerId(l.kind, i);
    const backupId = l.kind === 'conntrackd' && l.sync.mode !== 'none' ? backupIdOf(i) : undefined;
    const m = listener(id, l, family, cfg.netlink, kernel.view, backupId, opts.logs ?? true, machine);
    sim.spawn(id, m);
    listeners.push(m);
    listenerIds.push(id);
    if (backupId !== undefined) {
      // At failover the entries that count as live are those the kernel still has and that have
      // not expired (in gc eras an expired entry may wait for the gc worker; it is no flow).
      const b = syncBackup(() => kernel.view.liveEntries(true).map((e) => ({ serial: e.serial, key: m.key(e) })));
      sim.spawn(backupId, b);
      backups.set(backupId, b);
    }
  });
  return { sim, kernel, family, listeners, listenerIds, backups, ...(machine ? { machine } : {}) };
}
