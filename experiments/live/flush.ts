// `nfct-sim live flush`: N unreplied flows, a listener with the requested buffer (reliable:
// NETLINK_BROADCAST_ERROR; unreliable: refused events are lost), then `conntrack -F`; records
// every DESTROY's receive time, every ENOBUFS and nf_conntrack_count until the table is empty.
import {
  CONNTRACK,
  inNamespace,
  requireLive,
  sleep,
  tool,
  type HelperLine,
  type Listener,
  type Namespace,
} from './host.js';
import type { Row } from '../lib/experiment.js';
import { quantile } from '../lib/common.js';

/** What a flush run is: the same parameters drive the live run and its simulated twin. */
export interface FlushParams {
  entries: number;
  /** SO_RCVBUF request in bytes (SO_RCVBUFFORCE when `force`). */
  buffer: number;
  force: boolean;
  reliable: boolean;
  /** NETLINK_NO_ENOBUFS as well (absent in runs recorded before it existed: false). */
  noEnobufs?: boolean;
  /** Extra processing time per message in the listener, µs. */
  delayUs: number;
  /** New flows per second while the table is filled (0: as fast as the sender can). */
  fillRateHz: number;
  repeats: number;
}

/** One repeat as recorded: receive times in ms after the flush command started. */
export interface FlushRecord {
  destroyMs: number[];
  /** ENOBUFS seen by the reader (negative: while the table was being filled). */
  enobufsMs: number[];
  rcvbuf: number;
  drops: number;
  samples: TableSample[];
  /** NEW events the listener read while the table was being filled (absent in older runs). */
  news?: number;
  /** The sender: how long it took to send every flow, and its CPU time, ms (absent in older runs). */
  sender?: { sendMs: number; cpuMs: number };
  /** The runner's own CPU time while the table was filled, ms: it parses the helper's lines. */
  runnerCpuMs?: number;
  /** The runner's voluntary context switches meanwhile (each a wake-up for more lines). */
  runnerWakes?: number;
}

/** A silence longer than this ends a burst of DESTROYs (ms). */
export const BURST_GAP_MS = 3;

/**
 * Summary of a flush as the listener saw it (times in ms). DESTROYs less than 3 ms apart form
 * one burst: `burst` is the first one (read while the flush ran), `laterBurst` the median size
 * of the others (one redelivery round each) and `periodMs` the median time between their starts.
 * 3 ms: the worker's rounds are 16 ms apart and a round of 332 events is read in 8–11 ms.
 */
export function flushSummary(destroyMs: readonly number[]): {
  n: number;
  burst: number;
  laterBurst: number;
  periodMs: number;
  lastMs: number;
} {
  const xs = [...destroyMs].sort((a, b) => a - b);
  const starts = xs.flatMap((x, i) => (i === 0 || x - xs[i - 1]! > BURST_GAP_MS ? [i] : []));
  const sizes = starts.map((s, k) => (starts[k + 1] ?? xs.length) - s);
  const med = (v: number[]): number => (v.length ? quantile(v, 0.5) : 0);
  return {
    n: xs.length,
    burst: sizes[0] ?? 0,
    laterBurst: med(sizes.slice(1)),
    periodMs: med(starts.slice(2).map((s, k) => xs[s]! - xs[starts[k + 1]!]!)),
    lastMs: xs.length ? xs.at(-1)! - xs[0]! : 0,
  };
}

/** The row of results.csv for one repeat (live and simulated alike). */
export function flushRow(p: FlushParams, repeat: number, r: FlushRecord): Row {
  const s = flushSummary(r.destroyMs);
  return {
    entries: p.entries,
    buffer: p.buffer,
    force: p.force ? 1 : 0,
    reliable: p.reliable ? 1 : 0,
    delay_us: p.delayUs,
    repeat,
    rcvbuf_bytes: r.rcvbuf,
    destroys: s.n,
    enobufs: r.enobufsMs.filter((t) => t >= 0).length,
    enobufs_before_flush: r.enobufsMs.filter((t) => t < 0).length,
    drops: r.drops,
    burst: s.burst,
    // Rounds of redelivery exist only for a reliable listener.
    later_burst: p.reliable ? s.laterBurst : '',
    period_ms: p.reliable ? s.periodMs : '',
    first_destroy_ms: s.n ? Math.min(...r.destroyMs) : 0,
    last_after_first_ms: s.lastMs,
    news: r.news ?? '',
    send_ms: r.sender?.sendMs ?? '',
    sender_us_per_flow: r.sender ? (r.sender.cpuMs * 1000) / p.entries : '',
    runner_us_per_new: r.runnerCpuMs !== undefined && r.news ? (r.runnerCpuMs * 1000) / r.news : '',
    runner_wakes_per_new: r.runnerWakes !== undefined && r.news ? r.runnerWakes / r.news : '',
  };
}

/** Listener options of the helper for these parameters. */
function listenerArgs(p: FlushParams): string[] {
  const args = ['--rcvbuf', String(p.buffer), '--delay-us', String(p.delayUs)];
  if (p.force) args.push('--force');
  if (p.reliable) args.push('--broadcast-error');
  if (p.noEnobufs) args.push('--no-enobufs');
  return args;
}

/** One sample of the table: nf_conntrack_count and, where asked, the entries parked for redelivery. */
export interface TableSample {
  tMs: number;
  count: number;
  parked?: number;
}

/**
 * Polls nf_conntrack_count every `everyMs` until it reaches `until` or `deadlineMs` passes;
 * with `parked`, also counts the dying list (`conntrack -L dying`, which dumps only that list
 * and so, unlike a table dump, expires nothing).
 */
export async function sampleCount(
  ns: Namespace,
  t0: bigint,
  everyMs: number,
  deadlineMs: number,
  o: { until?: number; parked?: boolean } = {},
): Promise<TableSample[]> {
  const out: TableSample[] = [];
  for (;;) {
    const tMs = msSince(t0);
    const count = await ns.count();
    const parked = o.parked ? await ns.parked() : undefined;
    out.push(parked === undefined ? { tMs, count } : { tMs, count, parked });
    if (count <= (o.until ?? 0) || tMs > deadlineMs) return out;
    await sleep(everyMs);
  }
}

/** Milliseconds on CLOCK_MONOTONIC (the helper's clock) since `t0`. */
export const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** The helper's receive time of a line, in ms after `t0`. */
export const lineMs = (tNs: number | undefined, t0: bigint): number => (tNs! - Number(t0)) / 1e6;

/** Receive times (ms after `t0`) of one message type. */
const timesOf = (l: Listener, type: string, t0: bigint): number[] => l.messages(type).map((m) => lineMs(m.t_ns, t0));

/** The sender's summary line: its sending time and CPU time (schedstat), ms. */
export const senderOf = (sent: HelperLine): { sendMs: number; cpuMs: number } => ({
  sendMs: (Number(sent.end_ns) - Number(sent.start_ns)) / 1e6,
  cpuMs: Number((sent.sched as { run_ns?: number } | undefined)?.run_ns ?? NaN) / 1e6,
});

/** Runs the flush `p.repeats` times, each in a fresh namespace. */
export async function liveFlush(p: FlushParams): Promise<FlushRecord[]> {
  requireLive('flush', [CONNTRACK]);
  const out: FlushRecord[] = [];
  for (let r = 0; r < p.repeats; r++) {
    out.push(
      await inNamespace(async (ns) => {
        const l = ns.listen(listenerArgs(p));
        const ready = await l.ready();
        const cpu0 = process.cpuUsage();
        const wakes0 = process.resourceUsage().voluntaryContextSwitches;
        const sent = (await ns.sendFlows(20000, p.entries, p.fillRateHz)).find((x) => x.kind === 'sent');
        await sleep(300);
        const used = process.cpuUsage(cpu0);
        const wakes = process.resourceUsage().voluntaryContextSwitches - wakes0;
        const t0 = process.hrtime.bigint();
        await ns.exec([tool('conntrack')!, '-F']);
        // Until the table is empty (every DESTROY delivered, every entry freed), at most 15 min;
        // then until the reader has been idle for a second.
        const samples = await sampleCount(ns, t0, 500, 900_000, { parked: true });
        await l.quiet(1000);
        await l.stop();
        const end = l.lines.find((x) => x.kind === 'end') ?? {};
        return {
          destroyMs: timesOf(l, 'destroy', t0),
          enobufsMs: l.lines.filter((x) => x.kind === 'enobufs').map((x) => lineMs(x.t_ns, t0)),
          rcvbuf: Number(ready.rcvbuf),
          drops: Number((end as { drops?: number }).drops ?? 0),
          samples,
          // Every NEW was sent before the flush (which only destroys).
          news: l.messages('new').length,
          runnerCpuMs: (used.user + used.system) / 1000,
          runnerWakes: wakes,
          ...(sent ? { sender: senderOf(sent) } : {}),
        };
      }),
    );
  }
  return out;
}
