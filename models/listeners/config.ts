// Configuration of the user-space listeners (docs/kernel-facts.md#conntrack-e to #sync).
import {
  checkBool,
  checkInt,
  checkNumber,
  checkObject,
  checkOneOf,
  ConfigError,
  empiricalTable,
  type Stream,
} from '../../sim/index.js';
import type { Group } from '../kernel/events.js';

/** A duration distribution in microseconds. */
export type CostUs =
  | { readonly kind: 'constant'; readonly us: number }
  | { readonly kind: 'exponential'; readonly meanUs: number }
  | { readonly kind: 'empirical'; readonly us: readonly number[]; readonly weights: readonly number[] };

/** How a reader process is scheduled and how fast it handles one message. */
export interface ReaderConfig {
  /** Delay from "socket readable" to the process running (scheduler wake-up). */
  readonly wakeupUs: CostUs;
  /** Processing time of one message. */
  readonly costUs: CostUs;
  /** Multiplies every processing time (1 = a CPU of its own; 3 = a busy machine). */
  readonly slowdown: number;
  /**
   * Optional: the process shares its CPU. After every `runUs` of processing (drawn afresh each
   * time) it is preempted and waits `waitUs` on the run queue before it reads on. Absent: never
   * preempted. A stand-in for a scheduler, calibrated from /proc/<pid>/schedstat and the
   * process's involuntary context switches (docs/validation.md#the-real-programs).
   */
  readonly preemption?: { readonly runUs: CostUs; readonly waitUs: CostUs };
  /**
   * Optional, on a machine only: the process that reads this listener's output through a pipe
   * (a logger after `conntrack -E |`, the live runner after the helper). Each message's line
   * costs it `lineUs` of CPU; a line that wakes it from sleep costs more, the longer it slept:
   * `wakeUs` × (1 − e^(−slept / wakeTauUs)) (cold caches; measured 47 us after 150 us asleep, 85
   * after 900). The wake-up is synchronous: it is placed on the listener's CPU when no CPU is
   * idle, so the two share that CPU.
   */
  readonly pipe?: { readonly lineUs: number; readonly wakeUs: number; readonly wakeTauUs: number };
}

export const CONNTRACK_TOOLS_E = ['1.4.5', '1.4.6', '1.4.7', '1.4.8'] as const;
export const CONNTRACKD_VERSIONS = ['0.9.14', '1.4.6', '1.4.7', '1.4.8'] as const;

/** `conntrack -E`. */
export interface ConntrackEConfig {
  readonly kind: 'conntrack-e';
  readonly version: (typeof CONNTRACK_TOOLS_E)[number];
  /** `-b N` (0: not given). */
  readonly bufferSize: number;
  /** `-e` event mask as groups. */
  readonly groups: readonly Group[];
  readonly reader: ReaderConfig;
}

/** conntrackd (stats or sync mode with the internal cache). */
export interface ConntrackdConfig {
  readonly kind: 'conntrackd';
  readonly version: (typeof CONNTRACKD_VERSIONS)[number];
  /** NetlinkBufferSize (0: unset, keep rmem_default). */
  readonly netlinkBufferSize: number;
  /** NetlinkBufferSizeMaxGrowth (0: unset). */
  readonly maxGrowth: number;
  /** NetlinkOverrunResync in seconds (0: Off). */
  readonly overrunResyncS: number;
  /** NetlinkEventsReliable. */
  readonly eventsReliable: boolean;
  /** EventIterationLimit. */
  readonly iterationLimit: number;
  readonly groups: readonly Group[];
  readonly reader: ReaderConfig;
  /** CPU time of a resync per kernel entry dumped plus per cached object checked (µs). */
  readonly resyncUsPerEntry: number;
  /** Sync mode towards one backup (mode 'none': stats only). */
  readonly sync: SyncConfig;
}

/**
 * conntrackd sync mode (docs/kernel-facts.md#sync): replication messages to a backup's
 * external cache over a link. FT-FW retransmits lost messages (they arrive `retransmitMs` late
 * and in order); NOTRACK loses them.
 */
export interface SyncConfig {
  readonly mode: 'none' | 'ftfw' | 'notrack';
  readonly linkDelayUs: number;
  /** Probability that one replication message is lost on the link. */
  readonly linkLoss: number;
  readonly retransmitMs: number;
}

/** A plain event reader with explicit socket options (as the live runner's listener). */
export interface RawListenerConfig {
  readonly kind: 'raw';
  readonly groups: readonly Group[];
  readonly broadcastError: boolean;
  readonly noEnobufs: boolean;
  /** SO_RCVBUF request in bytes (0: rmem_default). */
  readonly rcvbufBytes: number;
  /** Use SO_RCVBUFFORCE (bypasses rmem_max). */
  readonly force: boolean;
  readonly reader: ReaderConfig;
}

/** A listener process of a scenario, by `kind`. */
export type ListenerConfig = ConntrackEConfig | ConntrackdConfig | RawListenerConfig;

/** Draws one duration in ns. */
export function drawNs(c: CostUs, rng: Stream): number {
  switch (c.kind) {
    case 'constant':
      return Math.round(c.us * 1e3);
    case 'exponential':
      return Math.round(rng.exponential(c.meanUs * 1e3));
    case 'empirical':
      return Math.round(rng.empirical(empiricalTable(c.us, c.weights)) * 1e3);
  }
}

function validateCost(path: string, v: unknown): void {
  const kind = checkOneOf(`${path}.kind`, (v as { kind?: unknown } | null)?.kind, [
    'constant',
    'exponential',
    'empirical',
  ]);
  if (kind === 'constant') checkNumber(`${path}.us`, checkObject(path, v, ['kind', 'us']).us, { min: 0, max: 1e9 });
  else if (kind === 'exponential')
    checkNumber(`${path}.meanUs`, checkObject(path, v, ['kind', 'meanUs']).meanUs, { min: 0, max: 1e9 });
  else {
    const o = checkObject(path, v, ['kind', 'us', 'weights']);
    if (!Array.isArray(o.us) || !Array.isArray(o.weights))
      throw new ConfigError(`${path}.us`, o.us, 'must be arrays us[] and weights[]');
    try {
      empiricalTable(o.us as number[], o.weights as number[]);
    } catch (e) {
      throw new ConfigError(`${path}.weights`, o.weights, (e as Error).message);
    }
  }
}

function validateReader(path: string, v: unknown): void {
  const o = checkObject(path, v, ['wakeupUs', 'costUs', 'slowdown', 'preemption', 'pipe']);
  if (o.pipe !== undefined) {
    const pipe = checkObject(`${path}.pipe`, o.pipe, ['lineUs', 'wakeUs', 'wakeTauUs']);
    checkNumber(`${path}.pipe.lineUs`, pipe.lineUs, { min: 0, max: 1e7 });
    checkNumber(`${path}.pipe.wakeUs`, pipe.wakeUs, { min: 0, max: 1e7 });
    checkNumber(`${path}.pipe.wakeTauUs`, pipe.wakeTauUs, { min: 0.001, max: 1e9 });
  }
  validateCost(`${path}.wakeupUs`, o.wakeupUs);
  validateCost(`${path}.costUs`, o.costUs);
  checkNumber(`${path}.slowdown`, o.slowdown, { min: 1, max: 1000 });
  if (o.preemption !== undefined) {
    const pr = checkObject(`${path}.preemption`, o.preemption, ['runUs', 'waitUs']);
    validateCost(`${path}.preemption.runUs`, pr.runUs);
    validateCost(`${path}.preemption.waitUs`, pr.waitUs);
  }
}

function validateGroups(path: string, v: unknown): void {
  if (!Array.isArray(v) || v.length === 0)
    throw new ConfigError(path, v, 'must list at least one group of 1 (NEW), 2 (UPDATE), 3 (DESTROY)');
  v.forEach((g, i) => checkOneOf(`${path}[${i}]`, g, [1, 2, 3]));
}

/** Validates a listener config; the first bad field is reported with its path. */
export function validateListener(v: unknown, path: string): ListenerConfig {
  const kind = checkOneOf(`${path}.kind`, (v as { kind?: unknown } | null)?.kind, ['conntrack-e', 'conntrackd', 'raw']);
  if (kind === 'raw') {
    const o = checkObject(path, v, ['kind', 'groups', 'broadcastError', 'noEnobufs', 'rcvbufBytes', 'force', 'reader']);
    validateGroups(`${path}.groups`, o.groups);
    checkBool(`${path}.broadcastError`, o.broadcastError);
    checkBool(`${path}.noEnobufs`, o.noEnobufs);
    checkInt(`${path}.rcvbufBytes`, o.rcvbufBytes, { min: 0, max: 2 ** 30 });
    checkBool(`${path}.force`, o.force);
    validateReader(`${path}.reader`, o.reader);
  } else if (kind === 'conntrack-e') {
    const o = checkObject(path, v, ['kind', 'version', 'bufferSize', 'groups', 'reader']);
    checkOneOf(`${path}.version`, o.version, CONNTRACK_TOOLS_E);
    checkInt(`${path}.bufferSize`, o.bufferSize, { min: 0, max: 2 ** 30 });
    validateGroups(`${path}.groups`, o.groups);
    validateReader(`${path}.reader`, o.reader);
  } else {
    const o = checkObject(path, v, [
      'kind',
      'version',
      'netlinkBufferSize',
      'maxGrowth',
      'overrunResyncS',
      'eventsReliable',
      'iterationLimit',
      'groups',
      'reader',
      'resyncUsPerEntry',
      'sync',
    ]);
    const sy = checkObject(`${path}.sync`, o.sync, ['mode', 'linkDelayUs', 'linkLoss', 'retransmitMs']);
    checkOneOf(`${path}.sync.mode`, sy.mode, ['none', 'ftfw', 'notrack']);
    checkNumber(`${path}.sync.linkDelayUs`, sy.linkDelayUs, { min: 0, max: 1e9 });
    checkNumber(`${path}.sync.linkLoss`, sy.linkLoss, { min: 0, max: 1 });
    checkNumber(`${path}.sync.retransmitMs`, sy.retransmitMs, { min: 0, max: 1e6 });
    checkOneOf(`${path}.version`, o.version, CONNTRACKD_VERSIONS);
    checkInt(`${path}.netlinkBufferSize`, o.netlinkBufferSize, { min: 0, max: 2 ** 30 });
    checkInt(`${path}.maxGrowth`, o.maxGrowth, { min: 0, max: 2 ** 30 });
    checkInt(`${path}.overrunResyncS`, o.overrunResyncS, { min: 0, max: 86400 });
    checkBool(`${path}.eventsReliable`, o.eventsReliable);
    checkInt(`${path}.iterationLimit`, o.iterationLimit, { min: 1, max: 1e6 });
    validateGroups(`${path}.groups`, o.groups);
    validateReader(`${path}.reader`, o.reader);
    checkNumber(`${path}.resyncUsPerEntry`, o.resyncUsPerEntry, { min: 0, max: 1e6 });
  }
  return v as ListenerConfig;
}

/** Defaults: a reader that wakes in 50 µs and handles a message in 20 µs. */
export const DEFAULT_READER: ReaderConfig = {
  wakeupUs: { kind: 'constant', us: 50 },
  costUs: { kind: 'constant', us: 20 },
  slowdown: 1,
};

/** `conntrack -E` 1.4.7 with default options, all groups: a base to spread and override. */
export const DEFAULT_CONNTRACK_E: ConntrackEConfig = {
  kind: 'conntrack-e',
  version: '1.4.8',
  bufferSize: 0,
  groups: [1, 2, 3],
  reader: DEFAULT_READER,
};

/** conntrackd in stats mode with its shipped defaults: a base to spread and override. */
export const DEFAULT_CONNTRACKD: ConntrackdConfig = {
  kind: 'conntrackd',
  version: '1.4.8',
  netlinkBufferSize: 0,
  maxGrowth: 0,
  overrunResyncS: 30,
  eventsReliable: false,
  iterationLimit: 100,
  groups: [1, 2, 3],
  reader: DEFAULT_READER,
  resyncUsPerEntry: 2,
  sync: { mode: 'none', linkDelayUs: 200, linkLoss: 0, retransmitMs: 1000 },
};
