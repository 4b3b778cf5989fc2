// Helpers for kernel-model tests: a scripted event sink and a small simulation around the
// kernel actor.
import { produce, type Draft } from 'immer';
import { MemoryTrace, Simulation, type Ctx } from '../../sim/index.js';
import type { KernelConfig } from '../../models/kernel/config.js';
import { validateKernel } from '../../models/kernel/validate.js';
import { conntrackKernel } from '../../models/kernel/core.js';
import type { KernelModel, KernelMsg } from '../../models/kernel/types.js';
import { ENOBUFS, type CtEvent, type EventSink, type Group } from '../../models/kernel/events.js';
import { preset } from '../../models/presets.js';

export interface Sent {
  readonly t: number;
  readonly type: CtEvent['type'];
  readonly tuple: number;
  readonly serial: number;
  readonly id: number;
  readonly portid: number;
  readonly events: number;
  readonly ok: boolean;
}

/**
 * A sink with one reliable (NETLINK_BROADCAST_ERROR) listener on the given groups whose
 * acceptance is scripted by `refuse`.
 */
export class ScriptedSink implements EventSink {
  groups = new Set<Group>([1, 2, 3]);
  refuse: (ev: CtEvent, now: number) => boolean = () => false;
  /** What an accepted broadcast returns (0; ESRCH when nobody took it). */
  accepted = 0;
  readonly log: Sent[] = [];

  hasListeners(g: Group): boolean {
    return this.groups.has(g);
  }
  anyEventListener(): boolean {
    return this.groups.size > 0;
  }
  broadcast(ev: CtEvent, ctx: Ctx): number {
    const refused = this.refuse(ev, ctx.now);
    this.log.push({
      t: ctx.now,
      type: ev.type,
      tuple: ev.tuple,
      serial: ev.serial,
      id: ev.id,
      portid: ev.portid,
      events: ev.events,
      ok: !refused,
    });
    return refused ? ENOBUFS : this.accepted;
  }
  /** Successful messages of a type. */
  delivered(type?: CtEvent['type']): Sent[] {
    return this.log.filter((s) => s.ok && (type === undefined || s.type === type));
  }
}

export interface KernelRig {
  readonly sim: Simulation;
  readonly k: KernelModel;
  readonly sink: ScriptedSink;
  readonly cfg: KernelConfig;
  /** Schedules a message for the kernel at absolute time `at` (ns). */
  at(at: number, msg: KernelMsg): void;
}

/** A simulation with the kernel of `presetName`, modified by `edit`, and a scripted sink. */
export function kernelRig(presetName: string, edit: (d: Draft<KernelConfig>) => void = () => {}, seed = 1): KernelRig {
  const cfg = validateKernel(produce(preset(presetName).kernel, edit));
  const sink = new ScriptedSink();
  const sim = new Simulation({ seed, run: 0, fingerprint: true });
  const k = conntrackKernel(cfg, sink, { truth: true });
  sim.spawn('kernel/conntrack', k);
  return { sim, k, sink, cfg, at: (at, msg) => void sim.send('kernel/conntrack', msg, at - sim.now) };
}

export const udp = (tuple: number, extra: Partial<Extract<KernelMsg, { kind: 'packet' }>> = {}): KernelMsg => ({
  kind: 'packet',
  tuple,
  proto: 'udp',
  ...extra,
});
export const tcp = (
  tuple: number,
  flags: number,
  extra: Partial<Extract<KernelMsg, { kind: 'packet' }>> = {},
): KernelMsg => ({
  kind: 'packet',
  tuple,
  proto: 'tcp',
  flags,
  ...extra,
});

/** The times at which the gc worker of `name` (edited) runs while `script` sends packets. */
export function gcRunTimes(
  name: string,
  edit: (d: Draft<KernelConfig>) => void,
  script: (send: (at: number, m: object) => void) => void,
  until: number,
): { runs: number[]; sink: ScriptedSink } {
  const trace = new MemoryTrace();
  const sim = new Simulation({ seed: 1, run: 0, trace });
  const sink = new ScriptedSink();
  sim.spawn('kernel/conntrack', conntrackKernel(validateKernel(produce(preset(name).kernel, edit)), sink));
  script((at, m) => void sim.send('kernel/conntrack', m as never, at));
  sim.run({ until });
  return { runs: trace.records.filter((r) => r.msg.kind === 'gc-work').map((r) => r.t), sink };
}
