// The live scenarios as one table: how each takes its parameters, runs on the host, runs in the
// simulator, and which of its result columns `compare` holds side by side.
import { ConfigError } from '../../sim/index.js';
import type { Row } from '../lib/experiment.js';
import { liveCapacity, simulateCapacity, type CapacityParams } from './capacity.js';
import { flushRow, liveFlush, type FlushParams, type FlushRecord, type TableSample } from './flush.js';
import { simulateExhaustion, simulateExpiry, simulateFlush, twinMachine, twinOn, type Twin } from './twin.js';
import { expiryRow, latenessOf, liveExpiry, type ExpiryParams, type ExpiryRecord } from './expiry.js';
import { exhaustionRow, liveExhaustion, type ExhaustionParams, type ExhaustionRecord } from './exhaustion.js';
import { writeRunDir, type LiveScenario } from './dir.js';
import { conntrackdRow, liveConntrackd, type ConntrackdParams, type ConntrackdRecord } from './conntrackd.js';
import { conntrackERow, liveConntrackE, type ConntrackEParams, type ConntrackERecord } from './conntrack-e.js';
import { simulateConntrackd, simulateConntrackE, simulateSync } from './twin-programs.js';
import { liveSync, syncRow, type SyncParams, type SyncRecord } from './sync.js';
import {
  MAX_DELETE_COST_ENTRIES,
  deleteCostRow,
  liveDeleteCost,
  simulateDeleteCost,
  type DeleteCostParams,
} from './delete-cost.js';
import { claimFolder } from '../lib/folder.js';
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { guestInfo } from './guest/env.js';

/** What a scenario run produces: results.csv rows and series files. */
export interface ScenarioOutput {
  results: Row[];
  series: Record<string, Row[]>;
}

/**
 * A compared column: counts are held to 10 %, times to 15 % (issue #6's targets); 'observed'
 * figures are shown side by side without a target (they depend on the host's CPU sharing).
 */
export interface Metric {
  column: string;
  kind: 'count' | 'time' | 'observed';
  /**
   * True (for these parameters) when the figure is set by how fast the processes run rather than
   * by the kernel's timers and buffer accounting: in an emulated guest (QEMU TCG) such a figure is
   * only observed (docs/guest.md#what-a-tcg-guest-can-judge).
   */
  cpuBound?: (p: Readonly<Record<string, unknown>>) => boolean;
}

/** A reliable flush round holds more messages than the TCG guest's reader drains in one 10 ms period. */
const largeRounds = (p: Readonly<Record<string, unknown>>): boolean => (p.force ? 1 : 2) * Number(p.buffer) > 16 * 1280;
const always = (): boolean => true;

/**
 * A command-line option of a live scenario, declared next to the scenario that reads it: the
 * flag (`--entries <n>`; a flag without `<…>` is a switch), what it means, its default, and for
 * integers the smallest value allowed. Its key in the options is the flag in camelCase.
 */
export interface LiveOption {
  readonly flag: string;
  readonly help: string;
  readonly default: number | boolean | string;
  readonly min?: number;
}

/** Option values by key (`entries`, `delayUs`), defaults applied. */
export type LiveOptions = Readonly<Record<string, number | boolean | string>>;

const REPEATS: LiveOption = { flag: '--repeats <n>', help: 'repeats of the measurement', default: 3, min: 1 };
const BUFFER: LiveOption = { flag: '--buffer <n>', help: 'SO_RCVBUF request in bytes', default: 2048, min: 1 };
const FORCE: LiveOption = { flag: '--force', help: 'SO_RCVBUFFORCE instead of SO_RCVBUF', default: false };
const FILL_RATE: LiveOption = {
  flag: '--fill-rate-hz <n>',
  help: 'new flows per second while the table is filled (0: as fast as possible)',
  default: 0,
  min: 0,
};
const delayUs = (dflt: number, what: string): LiveOption => ({
  flag: '--delay-us <n>',
  help: `busy-waited processing time per event in the listener (${what})`,
  default: dflt,
  min: 0,
});

export interface ScenarioDef<P extends object> {
  describe: string;
  /** Its options, by key, with their defaults. */
  options: Readonly<Record<string, LiveOption>>;
  params(o: LiveOptions): P;
  /** Columns that identify a case (rows with the same values are repeats of it). */
  keys: string[];
  metrics: Metric[];
  live(p: P): Promise<ScenarioOutput>;
  /** The twin: the same parameters through the simulator. */
  simulate(p: P, twin: Twin): ScenarioOutput;
}

/** samples.csv: the table samples of every repeat. */
function samplesSeries(recs: readonly { samples: readonly TableSample[] }[]): Row[] {
  return recs.flatMap((r, i) =>
    r.samples.map((s) => ({ repeat: i, t_ms: s.tMs, count: s.count, parked: s.parked ?? '' })),
  );
}

function flushOutput(p: FlushParams, recs: FlushRecord[]): ScenarioOutput {
  return {
    results: recs.map((r, i) => flushRow(p, i, r)),
    series: {
      destroys: recs.flatMap((r, i) => r.destroyMs.map((t) => ({ repeat: i, t_ms: t }))),
      samples: samplesSeries(recs),
    },
  };
}

const capacity: ScenarioDef<CapacityParams> = {
  describe: 'events held by a listener that does not read, per SO_RCVBUF request',
  options: {
    repeats: REPEATS,
    buffers: {
      flag: '--buffers <list>',
      help: 'SO_RCVBUF requests, comma-separated',
      default: '2048,4096,8192,65536,212992',
    },
    flows: { flag: '--flows <n>', help: 'new flows per measurement', default: 500, min: 1 },
  },
  params: (o) => {
    const buffers = String(o.buffers)
      .split(',')
      .map((x) => Number(x));
    if (buffers.some((b) => !Number.isSafeInteger(b) || b < 1))
      throw new ConfigError('--buffers', o.buffers, 'must be a comma-separated list of positive integers');
    return { buffers, repeats: o.repeats as number, flows: o.flows as number };
  },
  keys: ['requested_bytes'],
  metrics: [
    { column: 'rcvbuf_bytes', kind: 'count' },
    { column: 'held_events', kind: 'count' },
    { column: 'rmem_bytes', kind: 'count' },
  ],
  live: async (p) => ({ results: await liveCapacity(p), series: {} }),
  simulate: (p, twin) => ({ results: simulateCapacity(p, twin), series: {} }),
};

const flush: ScenarioDef<FlushParams> = {
  describe: 'conntrack -F of N unreplied flows into one listener: burst, period, last DESTROY',
  options: {
    repeats: REPEATS,
    entries: { flag: '--entries <n>', help: 'entries in the table when it is flushed', default: 2000, min: 1 },
    buffer: BUFFER,
    force: FORCE,
    unreliable: { flag: '--unreliable', help: 'a listener without NETLINK_BROADCAST_ERROR', default: false },
    // Not `--no-enobufs`: commander reads a `--no-` flag as the negation of another option.
    netlinkNoEnobufs: {
      flag: '--netlink-no-enobufs',
      help: 'NETLINK_NO_ENOBUFS on the listener as well',
      default: false,
    },
    delayUs: delayUs(0, 'none by default'),
    fillRateHz: FILL_RATE,
  },
  params: (o) => ({
    entries: o.entries as number,
    buffer: o.buffer as number,
    force: o.force as boolean,
    reliable: !(o.unreliable as boolean),
    ...(o.netlinkNoEnobufs ? { noEnobufs: true } : {}),
    delayUs: o.delayUs as number,
    fillRateHz: o.fillRateHz as number,
    repeats: o.repeats as number,
  }),
  keys: ['entries', 'buffer', 'force', 'reliable', 'delay_us'],
  metrics: [
    { column: 'rcvbuf_bytes', kind: 'count' },
    { column: 'destroys', kind: 'count', cpuBound: (p) => !p.reliable },
    { column: 'enobufs', kind: 'count', cpuBound: (p) => !p.reliable || largeRounds(p) },
    { column: 'enobufs_before_flush', kind: 'observed' },
    { column: 'drops', kind: 'observed' },
    { column: 'burst', kind: 'observed' },
    { column: 'later_burst', kind: 'count', cpuBound: largeRounds },
    { column: 'period_ms', kind: 'time', cpuBound: largeRounds },
    { column: 'last_after_first_ms', kind: 'time', cpuBound: largeRounds },
    // NEWs read while the sender fills the table: how fast the sender and the reader really run.
    { column: 'news', kind: 'count', cpuBound: always },
    { column: 'send_ms', kind: 'observed' },
    { column: 'sender_us_per_flow', kind: 'observed' },
    { column: 'runner_us_per_new', kind: 'observed' },
    { column: 'runner_wakes_per_new', kind: 'observed' },
  ],
  live: async (p) => flushOutput(p, await liveFlush(p)),
  simulate: (p, twin) => flushOutput(p, simulateFlush(p, twin)),
};

const expiry: ScenarioDef<ExpiryParams> = {
  describe: 'a burst of UDP flows with a short timeout: how late their DESTROYs come (the gc schedule)',
  options: {
    repeats: REPEATS,
    flows: { flag: '--flows <n>', help: 'flows in the burst', default: 1000, min: 1 },
    timeoutS: { flag: '--timeout-s <n>', help: 'nf_conntrack_udp_timeout for the burst', default: 5, min: 1 },
    offsetS: {
      flag: '--offset-s <n>',
      help: 'seconds between the gc run that removes the probe and the burst',
      default: 1,
      min: 0,
    },
    fillRateHz: FILL_RATE,
  },
  params: (o) => ({
    flows: o.flows as number,
    timeoutS: o.timeoutS as number,
    offsetS: o.offsetS as number,
    fillRateHz: o.fillRateHz as number,
    repeats: o.repeats as number,
  }),
  keys: ['flows', 'timeout_s', 'offset_s'],
  metrics: [
    { column: 'destroys', kind: 'count' },
    { column: 'gc_wait_ms', kind: 'time' },
    // Measured from when the burst was meant to be sent: the sender's start (a process spawned
    // after a sleep) is 0.9 s late on an emulated CPU (docs/validation.md, 6.1 expiry).
    { column: 'median_lateness_ms', kind: 'time', cpuBound: always },
    // How many expired entries one gc run evicts depends on its 10 ms time budget.
    { column: 'spread_ms', kind: 'time', cpuBound: always },
  ],
  live: async (p) => expiryOutput(p, await liveExpiry(p)),
  simulate: (p, twin) => expiryOutput(p, simulateExpiry(p, twin)),
};

function expiryOutput(p: ExpiryParams, recs: ExpiryRecord[]): ScenarioOutput {
  return {
    results: recs.map((r, i) => expiryRow(p, i, r)),
    series: {
      lateness: recs.flatMap((r, i) => {
        const late = latenessOf(p, r);
        return r.flows.map((f, k) => ({ repeat: i, new_ms: f.newMs, destroy_ms: f.destroyMs, lateness_ms: late[k]! }));
      }),
    },
  };
}

const exhaustion: ScenarioDef<ExhaustionParams> = {
  describe: 'nf_conntrack_max filled, flushed into a slow reliable listener: how many new flows fail and for how long',
  options: {
    repeats: REPEATS,
    max: {
      flag: '--max <n>',
      help: 'nf_conntrack_max during the run (a global sysctl, restored)',
      default: 2000,
      min: 64,
    },
    buffer: BUFFER,
    force: FORCE,
    delayUs: delayUs(10_000, 'a slow listener by default'),
    rateHz: { flag: '--rate-hz <n>', help: 'new flows per second after the flush', default: 50, min: 1 },
    durationS: { flag: '--duration-s <n>', help: 'how long new flows are sent after the flush', default: 10, min: 1 },
    fillRateHz: FILL_RATE,
    overfillPct: {
      flag: '--overfill-pct <n>',
      help: 'before the flush, this many per cent of --max more flows into the full table',
      default: 0,
      min: 0,
    },
  },
  params: (o) => ({
    ...(Number(o.overfillPct) > 0 ? { overfillPct: o.overfillPct as number } : {}),
    max: o.max as number,
    buffer: o.buffer as number,
    force: o.force as boolean,
    delayUs: o.delayUs as number,
    rateHz: o.rateHz as number,
    durationS: o.durationS as number,
    fillRateHz: o.fillRateHz as number,
    repeats: o.repeats as number,
  }),
  keys: ['max', 'buffer', 'force', 'delay_us', 'rate_hz', 'duration_s'],
  metrics: [
    // The new flows start 100 ms after the flush from a freshly spawned sender: about 0.5 s later
    // on an emulated CPU, when the worker has already freed room (docs/validation.md, 6.1 exhaustion).
    { column: 'refused', kind: 'count', cpuBound: always },
    { column: 'first_refused_ms', kind: 'time', cpuBound: always },
    { column: 'last_refused_ms', kind: 'time', cpuBound: always },
    // The overfill phase (--overfill-pct): new flows into a full table, then the refill's early drops.
    { column: 'overfill_refused', kind: 'count', cpuBound: always },
    { column: 'overfill_early_drops', kind: 'count', cpuBound: always },
    { column: 'refill_early_drops', kind: 'count', cpuBound: always },
  ],
  live: async (p) => exhaustionOutput(p, await liveExhaustion(p)),
  simulate: (p, twin) => exhaustionOutput(p, simulateExhaustion(p, twin)),
};

function exhaustionOutput(p: ExhaustionParams, recs: ExhaustionRecord[]): ScenarioOutput {
  return {
    results: recs.map((r, i) => exhaustionRow(p, i, r)),
    series: {
      refused: recs.flatMap((r, i) => r.refusedMs.map((t) => ({ repeat: i, t_ms: t }))),
      samples: samplesSeries(recs),
    },
  };
}

const FLOWS = (dflt: number): LiveOption => ({
  flag: '--flows <n>',
  help: 'new unreplied flows in the burst',
  default: dflt,
  min: 1,
});

/** How fast the listener program reads sets these figures, not the kernel (issue #13). */
const byReader = (): boolean => true;

const conntrackd: ScenarioDef<ConntrackdParams> = {
  describe:
    'the real conntrackd (stats mode, generated conntrackd.conf) under a burst of new flows: buffer growth, overruns, resync, cache vs kernel; optionally conntrack -F',
  options: {
    repeats: REPEATS,
    buffer: { flag: '--buffer <n>', help: 'NetlinkBufferSize in bytes', default: 65536, min: 1 },
    growth: {
      flag: '--growth <n>',
      help: 'NetlinkBufferSizeMaxGrowth as a multiple of NetlinkBufferSize',
      default: 4,
      min: 1,
    },
    flows: FLOWS(30000),
    fillRateHz: FILL_RATE,
    reliable: { flag: '--reliable', help: 'NetlinkEventsReliable On', default: false },
    flush: { flag: '--flush', help: 'conntrack -F after the burst, then until the table is empty', default: false },
    resyncS: {
      flag: '--resync-s <n>',
      help: 'NetlinkOverrunResync in seconds (conntrackd defaults to 30; short so that the run sees it)',
      default: 2,
      min: 1,
    },
  },
  params: (o) => ({
    buffer: o.buffer as number,
    growth: o.growth as number,
    flows: o.flows as number,
    fillRateHz: o.fillRateHz as number,
    reliable: o.reliable as boolean,
    flush: o.flush as boolean,
    resyncS: o.resyncS as number,
    repeats: o.repeats as number,
  }),
  keys: ['buffer', 'growth', 'flows', 'reliable', 'flush', 'resync_s'],
  metrics: [
    { column: 'buffer_set_bytes', kind: 'count' },
    { column: 'buffer_final_bytes', kind: 'count' },
    { column: 'doublings', kind: 'count' },
    { column: 'cannot_grow', kind: 'count' },
    { column: 'received_fill', kind: 'count', cpuBound: byReader },
    { column: 'missing_fill', kind: 'count', cpuBound: byReader },
    { column: 'overruns', kind: 'count', cpuBound: byReader },
    { column: 'resyncs', kind: 'count' },
    { column: 'resync_after_overrun_ms', kind: 'time' },
    { column: 'cache_end', kind: 'count' },
    { column: 'kernel_end', kind: 'count' },
    { column: 'missing_end', kind: 'count' },
    { column: 'ghosts_end', kind: 'count' },
    { column: 'destroys', kind: 'count' },
    { column: 'drain_ms', kind: 'time', cpuBound: byReader },
  ],
  live: async (p) => conntrackdOutput(p, await liveConntrackd(p)),
  simulate: (p, twin) => conntrackdOutput(p, simulateConntrackd(p, twin)),
};

function conntrackdOutput(p: ConntrackdParams, recs: ConntrackdRecord[]): ScenarioOutput {
  return {
    results: recs.map((r, i) => conntrackdRow(p, i, r)),
    series: {
      polls: recs
        .flatMap((r, i) => r.polls.map((x) => ({ repeat: i, ...x, t_ms: x.tMs })))
        .map(({ tMs: _, ...x }) => x),
      log: recs.flatMap((r, i) => r.log.map((line) => ({ repeat: i, line }))),
    },
  };
}

const conntrackE: ScenarioDef<ConntrackEParams> = {
  describe:
    'the real conntrack -E (optionally -b) under a burst of new flows: lines printed, ENOBUFS warnings, whether it exits',
  options: {
    repeats: REPEATS,
    flows: FLOWS(30000),
    fillRateHz: FILL_RATE,
    bufferSize: { flag: '--buffer-size <n>', help: 'conntrack -E -b N (0: not given)', default: 0, min: 0 },
  },
  params: (o) => ({
    flows: o.flows as number,
    fillRateHz: o.fillRateHz as number,
    bufferSize: o.bufferSize as number,
    repeats: o.repeats as number,
  }),
  keys: ['flows', 'fill_rate_hz', 'buffer_size'],
  metrics: [
    { column: 'lines', kind: 'count', cpuBound: byReader },
    { column: 'lost', kind: 'count', cpuBound: byReader },
    { column: 'warnings', kind: 'count', cpuBound: byReader },
    { column: 'exited', kind: 'count' },
    { column: 'notice_bytes', kind: 'count' },
  ],
  live: async (p) => conntrackEOutput(p, await liveConntrackE(p)),
  simulate: (p, twin) => conntrackEOutput(p, simulateConntrackE(p, twin)),
};

function conntrackEOutput(p: ConntrackEParams, recs: ConntrackERecord[]): ScenarioOutput {
  return { results: recs.map((r, i) => conntrackERow(p, i, r)), series: {} };
}

const sync: ScenarioDef<SyncParams> = {
  describe:
    'a conntrackd sync pair in two namespaces over a veth link that drops a share of the sync datagrams: ghosts and missing entries on the backup after a failover (conntrackd -c)',
  options: {
    repeats: REPEATS,
    mode: { flag: '--mode <name>', help: 'sync mode: notrack or ftfw', default: 'notrack' },
    lossPct: {
      flag: '--loss-pct <n>',
      help: "share of the primary's sync datagrams dropped (per cent)",
      default: 10,
      min: 0,
    },
    flowsGone: {
      flag: '--flows-gone <n>',
      help: 'flows created, then flushed before the failover',
      default: 2000,
      min: 0,
    },
    flowsLive: {
      flag: '--flows-live <n>',
      help: 'flows created after the flush, alive at the failover',
      default: 2000,
      min: 0,
    },
    fillRateHz: { ...FILL_RATE, default: 5000 },
  },
  params: (o) => {
    if (o.mode !== 'notrack' && o.mode !== 'ftfw') throw new ConfigError('--mode', o.mode, 'must be notrack or ftfw');
    if ((o.lossPct as number) > 100) throw new ConfigError('--loss-pct', o.lossPct, 'must be between 0 and 100');
    return {
      mode: o.mode,
      lossPct: o.lossPct as number,
      flowsGone: o.flowsGone as number,
      flowsLive: o.flowsLive as number,
      fillRateHz: o.fillRateHz as number,
      repeats: o.repeats as number,
    };
  },
  keys: ['mode', 'loss_pct', 'flows_gone', 'flows_live'],
  metrics: [
    { column: 'ghosts', kind: 'count' },
    { column: 'missing', kind: 'count' },
    { column: 'committed', kind: 'count' },
    { column: 'primary_live', kind: 'count' },
  ],
  live: async (p) => syncOutput(p, await liveSync(p)),
  simulate: (p, twin) => syncOutput(p, simulateSync(p, twin)),
};

function syncOutput(p: SyncParams, recs: SyncRecord[]): ScenarioOutput {
  return { results: recs.map((r, i) => syncRow(p, i, r)), series: {} };
}

const deleteCost: ScenarioDef<DeleteCostParams> = {
  describe: 'what one conntrack -D costs: its CPU time (a walk of every hash bucket) and when its DESTROY comes',
  options: {
    repeats: REPEATS,
    entries: {
      flag: '--entries <n>',
      help: `entries in the table while the commands run (at most ${MAX_DELETE_COST_ENTRIES}: one UDP port each)`,
      default: 200,
      min: 1,
    },
    deletes: { flag: '--deletes <n>', help: 'conntrack -D commands, one entry each', default: 100, min: 1 },
    gapMs: { flag: '--gap-ms <n>', help: 'pause after each command', default: 10, min: 0 },
    buckets: {
      flag: '--buckets <n>',
      help: "the host's nf_conntrack_buckets (checked live; the twin's table size)",
      default: 262144,
      min: 1,
    },
  },
  params: (o) => {
    if ((o.entries as number) > MAX_DELETE_COST_ENTRIES)
      throw new ConfigError(
        '--entries',
        o.entries,
        `must be at most ${MAX_DELETE_COST_ENTRIES} (one UDP port per flow)`,
      );
    if ((o.deletes as number) > (o.entries as number))
      throw new ConfigError('--deletes', o.deletes, `must be at most --entries (${String(o.entries)})`);
    return {
      entries: o.entries as number,
      deletes: o.deletes as number,
      gapMs: o.gapMs as number,
      buckets: o.buckets as number,
      repeats: o.repeats as number,
    };
  },
  keys: ['entries', 'deletes', 'buckets'],
  metrics: [
    { column: 'deleted', kind: 'count' },
    { column: 'count_cpu_us', kind: 'time', cpuBound: always },
    { column: 'delete_cpu_us', kind: 'time', cpuBound: always },
    { column: 'destroy_after_us', kind: 'time', cpuBound: always },
  ],
  live: async (p) => ({ results: (await liveDeleteCost(p)).map((r, i) => deleteCostRow(p, i, r)), series: {} }),
  simulate: (p, twin) => ({ results: simulateDeleteCost(p, twin).map((r, i) => deleteCostRow(p, i, r)), series: {} }),
};

export const SCENARIOS: Record<LiveScenario, ScenarioDef<never>> = {
  capacity: capacity as ScenarioDef<never>,
  flush: flush as ScenarioDef<never>,
  expiry: expiry as ScenarioDef<never>,
  exhaustion: exhaustion as ScenarioDef<never>,
  conntrackd: conntrackd as ScenarioDef<never>,
  'conntrack-e': conntrackE as ScenarioDef<never>,
  sync: sync as ScenarioDef<never>,
  'delete-cost': deleteCost as ScenarioDef<never>,
};

/**
 * The options of `scenario`: its defaults, overridden by `given`. An option the scenario does
 * not take is refused, naming the ones it takes.
 */
export function scenarioOptions(scenario: LiveScenario, given: Readonly<Record<string, unknown>>): LiveOptions {
  const opts = SCENARIOS[scenario].options;
  const out: Record<string, number | boolean | string> = {};
  for (const [k, o] of Object.entries(opts)) out[k] = o.default;
  for (const [k, v] of Object.entries(given)) {
    const o = opts[k];
    if (o === undefined)
      throw new ConfigError(
        optionFlag(k),
        v,
        `is not an option of live ${scenario}; it takes ${Object.values(opts)
          .map((x) => x.flag.split(' ')[0])
          .join(', ')}`,
      );
    if (typeof v !== typeof o.default) throw new ConfigError(o.flag.split(' ')[0]!, v, `must be a ${typeof o.default}`);
    out[k] = v as number | boolean | string;
  }
  return out;
}

/** The parameters `scenario` runs with (every option checked): what `live` validates before it creates anything. */
export function scenarioParams(scenario: LiveScenario, given: Readonly<Record<string, unknown>>): object {
  return (SCENARIOS[scenario] as unknown as ScenarioDef<object>).params(scenarioOptions(scenario, given));
}

const TICK_KINDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/** The machine's CPU ticks by kind (the `cpu` line of /proc/stat), undefined where there is none. */
function cpuTicks(): number[] | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1, 9).map(Number);
  } catch {
    return undefined;
  }
}

function ticksSince(start: number[]): Record<string, number> {
  const now = cpuTicks() ?? start;
  return Object.fromEntries(TICK_KINDS.map((k, i) => [k, now[i]! - start[i]!]));
}

/** `delayUs` → `--delay-us`. */
export const optionFlag = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Runs `scenario` live or simulated with the given options (defaults for the rest) and writes its folder; returns the results. */
export async function runScenario(
  scenario: LiveScenario,
  given: Readonly<Record<string, unknown>>,
  source: 'live' | 'sim',
  out: string,
  system: () => string,
  o: { force?: boolean; calibration?: string; machine?: boolean } = {},
): Promise<Row[]> {
  const def = SCENARIOS[scenario] as unknown as ScenarioDef<object>;
  const calibration = o.calibration ?? 'host';
  const twin = source === 'sim' ? twinOn(system(), calibration, o.machine ?? false) : undefined;
  const p = def.params(scenarioOptions(scenario, given));
  // Refused before the measurement when the folder holds another run's files.
  claimFolder(out, '', { resume: false, force: o.force ?? false, forceFlag: '--replace' });
  const loadStart = loadavg();
  const ticksStart = cpuTicks();
  // A twin's system is the preset it runs on.
  const res = twin === undefined ? await def.live(p) : def.simulate(p, twin);
  // Repeats may differ between a live run and its twin; the rest must match for `compare`.
  const params = { ...(p as Record<string, number | boolean | string | number[]>) };
  delete params.repeats;
  writeRunDir(
    out,
    {
      scenario,
      source,
      params,
      system: system(),
      ...(twin ? { calibration: { ...twin.calibration } } : {}),
      ...(twin && calibration !== 'host' ? { calibrationSet: calibration } : {}),
      // The twin's processes shared the machine model's CPUs (absent: a CPU each).
      ...(twin?.machine ? { machine: twinMachine(twin) } : {}),
      // The machine is shared: every live run says how busy it was (1-, 5-, 15-minute averages).
      ...(source === 'live' ? { load: { start: loadStart, end: loadavg(), cpus: cpus().length } } : {}),
      ...(source === 'live' && ticksStart ? { cpuTicks: ticksSince(ticksStart) } : {}),
      ...(source === 'live' && guestInfo() ? { guest: guestInfo() } : {}),
    },
    res.results,
    res.series,
  );
  return res.results;
}
