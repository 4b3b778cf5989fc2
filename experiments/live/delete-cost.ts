// `nfct-sim live delete-cost`: what one `conntrack -D` costs. conntrack-tools deletes through a
// dump of the whole table, so every command walks all nf_conntrack_buckets hash buckets and is
// sent every entry (docs/kernel-facts.md#flush-and-delete-from-user-space). Timed beside it,
// `conntrack -C` (the same process start and one request, no dump). The DESTROY of each
// deleted entry, read by a listener, shows when the deletion happened.
import type { Row } from '../lib/experiment.js';
import { quantile } from '../lib/common.js';
import { ConfigError } from '../../sim/index.js';
import { inNamespace, requireLive, tool, type TimedCommand } from './host.js';
import { buildScenario, parseScenario, type ActionConfig } from '../../models/scenario.js';
import { DEFAULT_MACHINE_SETUP } from '../../models/cpu/machine.js';
import { TASK } from '../../models/cpu/work.js';
import { FILL_AT_S, helperListener, twinMachine, twinOn, unrepliedFlows, type Twin } from './twin.js';

export interface DeleteCostParams {
  /** Entries in the table while the commands run. */
  entries: number;
  /** conntrack -D commands (and as many conntrack -C), each deleting one entry. */
  deletes: number;
  /** Pause after each command, ms. */
  gapMs: number;
  /** The host's nf_conntrack_buckets (global; the live run checks it, the twin sizes its table with it). */
  buckets: number;
  repeats: number;
}

/** One repeat. */
export interface DeleteCostRecord {
  /** CPU time of each conntrack -C and each conntrack -D, us. */
  countCpuUs: number[];
  deleteCpuUs: number[];
  /** Per conntrack -D: from its start to its entry's DESTROY read by the listener, us (NaN: none came). */
  destroyAfterUs: number[];
  /** Entries gone from the table after the commands. */
  deleted: number;
}

/**
 * The first flow's destination port (the helper's sender, one flow per port): the namespace's
 * input chain drops UDP to 20000-60000, so that no flow gets a reply (host.ts).
 */
const FIRST_PORT = 20000;
/** Flows that fit that port range. */
export const MAX_DELETE_COST_ENTRIES = 40000;

/** The row of results.csv for one repeat (live and simulated alike). */
export function deleteCostRow(p: DeleteCostParams, repeat: number, r: DeleteCostRecord): Row {
  const median = (xs: number[]): number => quantile(xs.filter(Number.isFinite), 0.5);
  const countUs = median(r.countCpuUs);
  const deleteUs = median(r.deleteCpuUs);
  return {
    entries: p.entries,
    deletes: p.deletes,
    buckets: p.buckets,
    repeat,
    deleted: r.deleted,
    count_cpu_us: countUs,
    delete_cpu_us: deleteUs,
    destroy_after_us: median(r.destroyAfterUs),
  };
}

/** Runs the measurement `p.repeats` times, each in a fresh namespace. */
export async function liveDeleteCost(p: DeleteCostParams): Promise<DeleteCostRecord[]> {
  requireLive('delete-cost');
  const out: DeleteCostRecord[] = [];
  for (let r = 0; r < p.repeats; r++) {
    out.push(
      await inNamespace(async (ns) => {
        const buckets = await ns.sysctl('net.netfilter.nf_conntrack_buckets');
        if (buckets !== p.buckets)
          throw new ConfigError('--buckets', p.buckets, `must be this host's nf_conntrack_buckets (${buckets})`);
        // A buffer no DESTROY can overflow.
        const l = ns.listen(['--rcvbuf', String(32 << 20), '--force']);
        await l.ready();
        await ns.sendFlows(FIRST_PORT, p.entries);
        const before = await ns.count();
        const ct = tool('conntrack')!;
        const count = await ns.timeCommands(0, p.deletes, p.gapMs, [ct, '-C']);
        const del = await ns.timeCommands(FIRST_PORT, p.deletes, p.gapMs, [
          ct,
          '-D',
          '-p',
          'udp',
          '-d',
          '127.0.0.1',
          '--dport',
          '{port}',
        ]);
        const after = await ns.count();
        await l.quiet(500);
        await l.stop();
        const failed = [...count, ...del].find((c) => c.rc !== 0);
        if (failed) throw new Error(`conntrack exited with ${failed.rc} (port ${failed.port})`);
        const destroyNs = new Map(l.messages('destroy').map((m) => [Number(m.dport), Number(m.t_ns)]));
        const destroyAfter = (c: TimedCommand): number => {
          const t = destroyNs.get(c.port);
          return t === undefined ? NaN : (t - c.startNs) / 1e3;
        };
        return {
          countCpuUs: count.map((c) => c.cpuUs),
          deleteCpuUs: del.map((c) => c.cpuUs),
          destroyAfterUs: del.map(destroyAfter),
          deleted: before - after,
        };
      }),
    );
  }
  return out;
}

/** The twin's sender: one flow per port, as fast as the helper goes (100 k/s here). */
const TWIN_FILL_HZ = 100_000;
const TUPLE_BASE = 1_000_000;

/**
 * The twin: the same table and commands. On the machine each conntrack -D is a process that
 * needs its CPU before the entry goes (MachineCosts adminStartUs, dumpBucketNs, dumpEntryNs,
 * adminExitUs; models/kernel/delete-command.ts); without it the deletion is instantaneous. The
 * commands are spaced far enough apart not to queue. The model runs no conntrack -C: its CPU is
 * the machine's adminStartUs.
 */
export function simulateDeleteCost(p: DeleteCostParams, twin: Twin = twinOn()): DeleteCostRecord[] {
  const machine = twinMachine(twin);
  const costs = (machine ?? DEFAULT_MACHINE_SETUP).costs;
  const commandMs =
    (costs.adminStartUs + costs.adminExitUs) / 1000 +
    (costs.dumpBucketNs * p.buckets + costs.dumpEntryNs * p.entries) / 1e6;
  const spacingMs = Math.ceil(p.gapMs + 3 * commandMs + 10);
  const firstS = FILL_AT_S + p.entries / TWIN_FILL_HZ + 0.5;
  const atS = (i: number): number => firstS + (i * spacingMs) / 1000;
  const actions: ActionConfig[] = Array.from({ length: p.deletes }, (_, i) => ({
    atS: atS(i),
    kind: 'delete',
    tuple: TUPLE_BASE + 2 * i,
  }));
  const sc = parseScenario({
    preset: twin.preset,
    kernel: { buckets: p.buckets },
    netlink: {},
    listeners: [helperListener({ buffer: 32 << 20, force: true, reliable: false, delayUs: 0 }, twin.calibration)],
    workloads: [
      unrepliedFlows({
        rateHz: TWIN_FILL_HZ,
        flows: p.entries,
        startS: FILL_AT_S,
        stopS: firstS,
        tupleBase: TUPLE_BASE,
      }),
    ],
    actions,
    ...(machine ? { machine } : {}),
    durationS: Math.ceil(atS(p.deletes) + 1),
    sampleMs: 0,
  });
  return Array.from({ length: p.repeats }, (_, r) => {
    const run = buildScenario(sc, { seed: r + 1, run: 0 });
    let before = 0;
    run.world.sim.spawn('twin/count', {
      init: (ctx) => void ctx.send(ctx.self, { kind: 'count' }, Math.round((firstS - 0.1) * 1e9)),
      receive: () => void (before = run.world.kernel.view.table.count),
    });
    run.run();
    const destroyNs = new Map(
      run.world.listeners[0]!.log.flatMap((e) =>
        e.kind === 'msg' && e.ev.type === 'destroy' ? [[e.ev.tuple, e.t] as const] : [],
      ),
    );
    run.world.machine?.sync();
    const task = run.world.machine?.tasks.find((t) => t.name === TASK.delete);
    const perCommandUs = task ? task.cpuNs / 1e3 / p.deletes : 0;
    return {
      countCpuUs: Array.from({ length: p.deletes }, () => (machine ? costs.adminStartUs : 0)),
      deleteCpuUs: Array.from({ length: p.deletes }, () => perCommandUs),
      destroyAfterUs: actions.map((a, i) => {
        const t = destroyNs.get(TUPLE_BASE + 2 * i);
        return t === undefined ? NaN : (t - Math.round(atS(i) * 1e9)) / 1e3;
      }),
      deleted: before - run.world.kernel.view.table.count,
    };
  });
}
