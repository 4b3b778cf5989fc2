// A scenario = kernel preset (+ overrides) + listeners + workloads + administrator actions, as
// one validated config. `runScenario` builds the world, runs it, samples time series and
// returns what every experiment needs.
import { freeze, produce, type Draft } from 'immer';
import {
  checkInt,
  checkNumber,
  checkObject,
  checkOneOf,
  ConfigError,
  s as seconds,
  type Actor,
  type Ctx,
  type TraceSink,
} from '../sim/index.js';
import { setPath } from '../sim/replicate.js';
import type { KernelConfig } from './kernel/config.js';
import { OPTIONAL_KERNEL_KEYS, validateKernel } from './kernel/validate.js';
import { DEFAULT_MACHINE_SETUP, validateMachineSetup, type MachineSetup } from './cpu/machine.js';
import { SYSCTL_NAMES, type KernelMsg, type SysctlName } from './kernel/types.js';
import { validateListener, type ListenerConfig } from './listeners/config.js';
import { validateNetlinkKernel, type NetlinkKernelConfig } from './netlink/config.js';
import { preset } from './presets.js';
import {
  flowGenerator,
  validateWorkload,
  type FlowGeneratorModel,
  type SenderOnMachine,
  type WorkloadConfig,
} from './workloads/flows.js';
import { buildWorld, type World } from './world.js';
import { KERNEL_ID, backupId, workloadId } from './names.js';

/** How a condition is checked: every `everyMs` (default 1), the action `afterMs` after it first holds (default 0). */
export interface ConditionTiming {
  readonly everyMs?: number;
  readonly afterMs?: number;
}

/**
 * A condition an action waits for (checked from the action's `atS` on): nf_conntrack_count at
 * most / at least `value`, or a workload whose flows have all started and whose packets are all
 * in the kernel (on a machine, the sender process has sent them).
 */
export type Condition =
  | (ConditionTiming & { readonly kind: 'count-at-most' | 'count-at-least'; readonly value: number })
  | (ConditionTiming & { readonly kind: 'workload-done'; readonly workload: number });

/** What every action has: a time and, optionally, a condition that must hold first. */
export interface ActionBase {
  readonly atS: number;
  /** Absent: the action runs at `atS`. Present: at the first check at or after `atS` where it holds. */
  readonly when?: Condition;
}

/** Administrator actions at given times, or when a condition first holds. */
export type ActionConfig =
  | (ActionBase & { readonly kind: 'flush' })
  | (ActionBase & { readonly kind: 'dump' })
  | (ActionBase & { readonly kind: 'delete'; readonly tuple: number })
  | (ActionBase & { readonly kind: 'sysctl'; readonly name: SysctlName; readonly value: number })
  | (ActionBase & { readonly kind: 'listener-stop' | 'listener-start' | 'failover'; readonly listener: number });

const CONDITION_KINDS = ['count-at-most', 'count-at-least', 'workload-done'] as const;

/** A scenario as written by users: a preset name plus overrides. */
export interface ScenarioConfig {
  readonly preset: string;
  /** Fields of the preset's kernel config to override. */
  readonly kernel: Partial<KernelConfig>;
  /** Fields of the preset's netlink config to override. */
  readonly netlink: Partial<NetlinkKernelConfig>;
  readonly listeners: readonly ListenerConfig[];
  readonly workloads: readonly WorkloadConfig[];
  readonly actions: readonly ActionConfig[];
  /** Simulated time to run (the run ends earlier if nothing is left to do). */
  readonly durationS: number;
  /** Period of the time-series samples in ms (0: no series). */
  readonly sampleMs: number;
  /** Optional: the CPUs the listeners share, and background load (absent: a CPU each, nothing else). */
  readonly machine?: MachineSetup;
}

const SCENARIO_KEYS = ['preset', 'kernel', 'netlink', 'listeners', 'workloads', 'actions', 'durationS', 'sampleMs'];
const ACTION_KINDS = ['flush', 'dump', 'delete', 'sysctl', 'listener-stop', 'listener-start', 'failover'] as const;

/** Preset plus overrides, merged (one level deep for `timeouts` and `latency` too). */
export function resolveScenario(sc: ScenarioConfig): { kernel: KernelConfig; netlink: NetlinkKernelConfig } {
  const p = preset(sc.preset);
  const kernel = produce(p.kernel, (d) => {
    deepAssign(d as unknown as Record<string, unknown>, sc.kernel as Record<string, unknown>, 'kernel');
  });
  const netlink = produce(p.netlink, (d) => {
    deepAssign(d as unknown as Record<string, unknown>, sc.netlink as Record<string, unknown>, 'netlink');
  });
  return { kernel, netlink };
}

function deepAssign(target: Record<string, unknown>, src: Record<string, unknown>, path: string): void {
  for (const [k, v] of Object.entries(src ?? {})) {
    const optional = path === 'kernel' && (OPTIONAL_KERNEL_KEYS as readonly string[]).includes(k);
    if (!(k in target) && !optional) throw new ConfigError(`${path}.${k}`, v, 'is not a field of the preset');
    const cur = target[k];
    if (
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      cur !== null &&
      typeof cur === 'object' &&
      (v as { kind?: unknown }).kind === undefined
    ) {
      deepAssign(cur as Record<string, unknown>, v as Record<string, unknown>, `${path}.${k}`);
    } else target[k] = v;
  }
}

declare const parsed: unique symbol;

/**
 * A scenario that {@link parseScenario} accepted: the config as written, and the kernel and
 * netlink configs its preset and overrides resolve to. Deeply frozen; nothing downstream
 * validates it again (a worker process receives it as plain data and trusts it).
 */
export interface Scenario {
  readonly config: ScenarioConfig;
  readonly kernel: KernelConfig;
  readonly netlink: NetlinkKernelConfig;
  readonly [parsed]: true;
}

/** Validates a scenario as written (JSON or an object) and resolves it: the one place that checks it. */
export function parseScenario(v: unknown): Scenario {
  const config = checkScenario(v);
  const { kernel, netlink } = resolveScenario(config);
  validateKernel(kernel, 'kernel');
  validateNetlinkKernel(netlink, 'netlink');
  config.listeners.forEach((l, i) => validateListener(l, `listeners[${i}]`));
  return freeze({ config, kernel, netlink }, true) as Scenario;
}

/** The structural checks of a scenario as written (fields, workloads, actions). */
function checkScenario(v: unknown): ScenarioConfig {
  const o = checkObject('scenario', v, [...SCENARIO_KEYS, 'machine']);
  if (o.machine !== undefined) validateMachineSetup(o.machine);
  for (const k of SCENARIO_KEYS) if (!(k in o)) throw new ConfigError(k, undefined, 'is required');
  if (typeof o.preset !== 'string') throw new ConfigError('preset', o.preset, 'must be a preset name');
  const p = preset(o.preset);
  checkObject('kernel', o.kernel, [...Object.keys(p.kernel), ...OPTIONAL_KERNEL_KEYS]);
  checkObject('netlink', o.netlink, Object.keys(p.netlink));
  if (!Array.isArray(o.listeners)) throw new ConfigError('listeners', o.listeners, 'must be an array');
  const nListeners = o.listeners.length;
  if (!Array.isArray(o.workloads)) throw new ConfigError('workloads', o.workloads, 'must be an array');
  o.workloads.forEach((w, i) => validateWorkload(w, `workloads[${i}]`));
  if (!Array.isArray(o.actions)) throw new ConfigError('actions', o.actions, 'must be an array');
  o.actions.forEach((a, i) => {
    const kind = checkOneOf(`actions[${i}].kind`, (a as { kind?: unknown })?.kind, ACTION_KINDS);
    checkNumber(`actions[${i}].atS`, (a as { atS?: unknown }).atS, { min: 0, max: 9e6 });
    if (kind === 'delete') checkInt(`actions[${i}].tuple`, (a as { tuple?: unknown }).tuple, { min: 0 });
    if (kind === 'sysctl') {
      checkOneOf(`actions[${i}].name`, (a as { name?: unknown }).name, SYSCTL_NAMES);
      checkInt(`actions[${i}].value`, (a as { value?: unknown }).value, { min: 0 });
    }
    if (kind === 'listener-stop' || kind === 'listener-start' || kind === 'failover') {
      checkInt(`actions[${i}].listener`, (a as { listener?: unknown }).listener, { min: 0, max: nListeners - 1 });
    }
    const when = (a as { when?: unknown }).when;
    if (when !== undefined) checkCondition(when, `actions[${i}].when`, (o.workloads as unknown[]).length);
  });
  // Simulated time is exact integer ns up to 2^53 ns, about 104 days.
  checkNumber('durationS', o.durationS, { min: 0.000001, max: 9e6 });
  checkNumber('sampleMs', o.sampleMs, { min: 0, max: 1e9 });
  return v as ScenarioConfig;
}

function checkCondition(v: unknown, path: string, nWorkloads: number): void {
  const kind = checkOneOf(`${path}.kind`, (v as { kind?: unknown } | null)?.kind, CONDITION_KINDS);
  const w = checkObject(path, v, ['kind', kind === 'workload-done' ? 'workload' : 'value', 'everyMs', 'afterMs']);
  if (kind === 'workload-done') {
    if (nWorkloads === 0)
      throw new ConfigError(`${path}.workload`, w.workload, 'names a workload, but the scenario has none');
    checkInt(`${path}.workload`, w.workload, { min: 0, max: nWorkloads - 1 });
  } else checkInt(`${path}.value`, w.value, { min: 0 });
  if (w.everyMs !== undefined) checkNumber(`${path}.everyMs`, w.everyMs, { min: 0.001, max: 1e6 });
  if (w.afterMs !== undefined) checkNumber(`${path}.afterMs`, w.afterMs, { min: 0, max: 9e9 });
}

/**
 * Sets a dotted path of a scenario (`kernel.hz`, `listeners.0.netlinkBufferSize`,
 * `workloads.0.rateHz`, `preset`, `machine.cpus`). A kernel or netlink path may name any field
 * of the preset; a machine path starts from {@link DEFAULT_MACHINE_SETUP} when the scenario has
 * no machine; others must exist already. The value must have the type of the value it replaces.
 */
export function setScenarioPath(sc: ScenarioConfig, path: string, value: unknown): ScenarioConfig {
  // A scenario without a machine gets the default one by the first `machine.*` setting.
  if (path.startsWith('machine.') && sc.machine === undefined) sc = { ...sc, machine: DEFAULT_MACHINE_SETUP };
  return produce(sc, (d: Draft<ScenarioConfig>) => {
    const [head, ...rest] = path.split('.');
    if ((head === 'kernel' || head === 'netlink') && rest.length > 0) {
      const resolved = resolveScenario(sc)[head] as unknown as Record<string, unknown>;
      let cur: unknown = resolved;
      for (const k of rest) {
        if (cur === null || typeof cur !== 'object' || !(k in (cur as object)))
          throw notAPath(path, value, { ...sc, [head]: resolved });
        cur = (cur as Record<string, unknown>)[k];
      }
      checkSameType(path, cur, value);
      let o = d[head] as Record<string, unknown>;
      for (const k of rest.slice(0, -1)) {
        if (typeof o[k] !== 'object' || o[k] === null)
          o[k] = structuredClone((resolved as Record<string, unknown>)[k] ?? {});
        o = o[k] as Record<string, unknown>;
      }
      o[rest[rest.length - 1]!] = value;
      return;
    }
    let cur: unknown = sc;
    for (const k of path.split('.')) {
      if (cur === null || typeof cur !== 'object' || !(k in (cur as object)))
        throw notAPath(path, value, { ...sc, ...resolveScenario(sc) });
      cur = (cur as Record<string, unknown>)[k];
    }
    checkSameType(path, cur, value);
    setPath(d as object, path, value);
  });
}

/** Every leaf path of a config (arrays by index). */
function leafPaths(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object') return prefix ? [prefix] : [];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

/** Edit distance of two strings (Levenshtein). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/**
 * The error for a path that does not exist: an index past the end of a list says how many
 * entries it has; otherwise the three nearest existing paths are named.
 */
function notAPath(path: string, value: unknown, sc: object): ConfigError {
  const parts = path.split('.');
  let cur: unknown = sc;
  for (let i = 0; i < parts.length; i++) {
    if (Array.isArray(cur) && !(parts[i]! in cur))
      return new ConfigError(
        path,
        value,
        `is not a config path: ${parts.slice(0, i).join('.')} has ${cur.length} ${cur.length === 1 ? 'entry' : 'entries'}${cur.length ? ` (0 to ${cur.length - 1})` : ''}`,
      );
    if (cur === null || typeof cur !== 'object' || !(parts[i]! in (cur as object))) break;
    cur = (cur as Record<string, unknown>)[parts[i]!];
  }
  const near = leafPaths(sc)
    .map((p) => [p, distance(p, path)] as const)
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([p]) => p);
  return new ConfigError(path, value, `is not a config path; the nearest are ${near.join(', ')}`);
}

function checkSameType(path: string, old: unknown, value: unknown): void {
  const kind = (x: unknown): string => (Array.isArray(x) ? 'array' : x === null ? 'null' : typeof x);
  if (kind(old) !== kind(value)) {
    const k = kind(old);
    const like = JSON.stringify(old);
    throw new ConfigError(
      path,
      value,
      `must be ${/^[aeiou]/.test(k) ? 'an' : 'a'} ${k} (like ${like.length > 60 ? `${like.slice(0, 57)}...` : like})`,
    );
  }
}

/** One time-series sample. */
export interface Sample {
  readonly tS: number;
  readonly count: number;
  readonly hashed: number;
  readonly parked: number;
  readonly drops: number;
  readonly earlyDrops: number;
  /** Per listener: queued skbs and messages received so far. */
  readonly queued: readonly number[];
  readonly received: readonly number[];
}

function sampler(w: World, periodNs: number, out: Sample[]): Actor<{ kind: 'sample' }> {
  const take = (ctx: Ctx): void => {
    const v = w.kernel.view;
    out.push({
      tS: ctx.now / 1e9,
      count: v.table.count,
      hashed: v.hashedCount(),
      parked: v.parkedCount(),
      drops: v.stats.drop,
      earlyDrops: v.stats.early_drop,
      queued: w.listeners.map((l) => l.socket.queueLength),
      received: w.listeners.map((l) => l.stats.received.new + l.stats.received.update + l.stats.received.destroy),
    });
  };
  return {
    init: (ctx) => ctx.send(ctx.self, { kind: 'sample' }),
    receive(_m, ctx) {
      take(ctx);
      ctx.send(ctx.self, { kind: 'sample' }, periodNs);
    },
  };
}

/** The kernel's message for an administrator action (undefined: the action is not the kernel's). */
function kernelMessage(a: ActionConfig): KernelMsg | undefined {
  if (a.kind === 'flush') return { kind: 'flush', portid: 4242 };
  if (a.kind === 'dump') return { kind: 'dump' };
  if (a.kind === 'delete') return { kind: 'delete', tuple: a.tuple, portid: 4242 };
  if (a.kind === 'sysctl') return { kind: 'sysctl', name: a.name, value: a.value };
  return undefined;
}

function listenerAction(world: World, a: ActionConfig & { readonly listener: number }): void {
  const l = world.listeners[a.listener]!;
  if (a.kind === 'listener-stop') world.family.remove(l.socket);
  else if (a.kind === 'listener-start') world.family.add(l.socket);
}

/** An actor that runs `a` at the first check at or after its time where `cond` holds. */
function watcher(
  world: World,
  a: ActionConfig,
  cond: Condition,
  generators: readonly FlowGeneratorModel[],
  onFire: (t: number) => void,
): Actor<{ readonly kind: 'check' | 'fire' }> {
  const holds = (now: number): boolean => {
    if (cond.kind === 'workload-done') return generators[cond.workload]!.finishedAt(now);
    const count = world.kernel.view.table.count;
    return cond.kind === 'count-at-most' ? count <= cond.value : count >= cond.value;
  };
  const everyNs = Math.max(1, Math.round((cond.everyMs ?? 1) * 1e6));
  return {
    init: (ctx) => void ctx.send(ctx.self, { kind: 'check' }, seconds(a.atS)),
    receive(m, ctx) {
      if (m.kind === 'check') {
        if (!holds(ctx.now)) return void ctx.send(ctx.self, { kind: 'check' }, everyNs);
        return void ctx.send(ctx.self, { kind: 'fire' }, Math.round((cond.afterMs ?? 0) * 1e6));
      }
      onFire(ctx.now);
      const msg = kernelMessage(a);
      if (msg !== undefined) ctx.send(KERNEL_ID, msg);
      else if (a.kind === 'failover') ctx.send(backupId(a.listener), { kind: 'failover' });
      else if (a.kind === 'listener-stop' || a.kind === 'listener-start') listenerAction(world, a);
    },
  };
}

/**
 * On a machine a workload is a sender process: each packet costs the sender's syscall and
 * conntrack work plus the event's broadcast to every listener subscribed from the start.
 */
function senderOnMachine(world: World, sc: ScenarioConfig, id: string): SenderOnMachine | undefined {
  const m = world.machine;
  if (m === undefined || sc.machine === undefined) return undefined;
  const c = sc.machine.costs;
  const packetNs = Math.round((c.packetUs + c.broadcastUs * world.listeners.length) * 1e3);
  return { machine: m, task: m.task(id), packetNs };
}

/** A built, not yet run, scenario. */
export interface ScenarioRun {
  readonly world: World;
  readonly series: Sample[];
  /** When each action ran, ns (by index; undefined: its condition never held). */
  readonly fired: readonly (number | undefined)[];
  /** The workloads' generators (by index): whether each has finished. */
  readonly workloads: readonly FlowGeneratorModel[];
  /** Runs to the scenario's duration. */
  run(): void;
}

/** Builds the world of a parsed scenario with its workloads, actions and sampler. */
export function buildScenario(
  scenario: Scenario,
  rs: { seed: number; run: number },
  opts: {
    truth?: boolean;
    logs?: boolean;
    trace?: TraceSink;
    /** Called when an action with a condition runs (its index), before it takes effect. */
    onFire?: (action: number) => void;
  } = {},
): ScenarioRun {
  const { config: sc, kernel, netlink } = scenario;
  const world = buildWorld(
    { kernel, netlink, listeners: sc.listeners, ...(sc.machine ? { machine: sc.machine } : {}) },
    rs,
    {
      truth: opts.truth ?? true,
      logs: opts.logs ?? true,
      ...(opts.trace ? { trace: opts.trace } : {}),
    },
  );
  const { sim } = world;
  const generators = sc.workloads.map((wl, i) => {
    const id = workloadId(wl.kind, i);
    const g = flowGenerator(wl, KERNEL_ID, senderOnMachine(world, sc, id));
    sim.spawn(id, g);
    return g;
  });
  const timed = sc.actions.filter((a) => a.when === undefined);
  for (const a of timed) {
    const at = seconds(a.atS);
    const msg = kernelMessage(a);
    if (msg !== undefined) sim.send(KERNEL_ID, msg, at);
    else if (a.kind === 'failover') sim.send(backupId(a.listener), { kind: 'failover' }, at);
  }
  // Listener start/stop: small actors that (un)subscribe the socket at their time.
  timed.forEach((a) => {
    if (a.kind !== 'listener-stop' && a.kind !== 'listener-start') return;
    sim.spawn(`admin/${a.kind}-${a.listener}-${a.atS}`.replace(/[^A-Za-z0-9_./-]/g, '_'), {
      init: (ctx: Ctx) => void ctx.send(ctx.self, { kind: 'go' }, seconds(a.atS)),
      receive: () => listenerAction(world, a),
    });
  });
  const fired: (number | undefined)[] = sc.actions.map((a) => (a.when === undefined ? seconds(a.atS) : undefined));
  sc.actions.forEach((a, i) => {
    if (a.when !== undefined)
      sim.spawn(
        `admin/when-${i}`,
        watcher(world, a, a.when, generators, (t) => {
          fired[i] = t;
          opts.onFire?.(i);
        }),
      );
  });
  const series: Sample[] = [];
  if (sc.sampleMs > 0) sim.spawn('probe/sampler', sampler(world, Math.round(sc.sampleMs * 1e6), series));
  return { world, series, fired, workloads: generators, run: () => void sim.run({ until: seconds(sc.durationS) }) };
}
