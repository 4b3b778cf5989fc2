// `nfct-sim live conntrack-e`: Debian's `conntrack -E -o timestamp` (optionally `-b N`) as the
// listener of a burst of new unreplied flows: the lines it printed, the ENOBUFS warnings it
// wrote to stderr, the buffer size its NOTICE reports, whether it was still running a second
// after the burst, and its CPU time per line. Twin: twin-programs.ts.
import type { Row } from '../lib/experiment.js';
import { quantile } from '../lib/common.js';
import { CONNTRACK, inNamespace, requireLive, schedDelta, sleep, tool, type SchedCounters } from './host.js';
import { schedColumns } from './conntrackd.js';

/** A live `conntrack -E` run's parameters; the twin takes the same. */
export interface ConntrackEParams {
  flows: number;
  fillRateHz: number;
  /** `-b N` (0: not given). */
  bufferSize: number;
  repeats: number;
}

/** One repeat as recorded. */
export interface ConntrackERecord {
  /** Event lines printed on stdout. */
  lines: number;
  /** "WARNING: We have hit ENOBUFS!" on stderr. */
  warnings: number;
  /** It had ended by itself a second after the burst. */
  exited: boolean;
  /** From the first new flow to the last (ms). */
  fillMs: number;
  /** `-b`: the size the NOTICE line reports. */
  noticeBytes?: number;
  /** Median time between consecutive lines less than 1 ms apart (its reading speed), µs. */
  lineGapUs: number;
  /** CPU time per line printed, µs (live only). */
  cpuUsPerLine?: number;
  /** Its scheduler counters from just before the burst to a second after it (live only). */
  sched?: SchedCounters;
}

/** Median gap between consecutive times (µs) that are less than 1 ms apart (NaN: none). */
export function medianGapUs(timesUs: readonly number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < timesUs.length; i++) {
    const g = timesUs[i]! - timesUs[i - 1]!;
    if (g >= 0 && g < 1000) gaps.push(g);
  }
  return gaps.length ? quantile(gaps, 0.5) : NaN;
}

/** Counts what `conntrack -E -o timestamp` wrote (stdout lines, stderr text). */
export function conntrackEOutput(
  stdout: readonly string[],
  stderr: readonly string[],
): {
  lines: number;
  warnings: number;
  lineGapUs: number;
  noticeBytes?: number;
} {
  const err = stderr.join('\n');
  // `-o timestamp` starts each line with [seconds.microseconds] of when the event was handled.
  const times = stdout.flatMap((l) => {
    const m = /^\[(\d+)\.(\d{6})\]/.exec(l);
    return m ? [Number(m[1]) * 1e6 + Number(m[2])] : [];
  });
  const notice = /buffer size has been set to (\d+) bytes/.exec(err);
  return {
    lines: stdout.filter((l) => /\[(NEW|UPDATE|DESTROY)\]/.test(l)).length,
    warnings: err.match(/We have hit ENOBUFS/g)?.length ?? 0,
    lineGapUs: medianGapUs(times),
    ...(notice ? { noticeBytes: Number(notice[1]) } : {}),
  };
}

/** The row of results.csv for one repeat (live and simulated alike). */
export function conntrackERow(p: ConntrackEParams, repeat: number, r: ConntrackERecord): Row {
  return {
    flows: p.flows,
    fill_rate_hz: p.fillRateHz,
    buffer_size: p.bufferSize,
    repeat,
    fill_ms: Math.round(r.fillMs),
    lines: r.lines,
    lost: p.flows - r.lines,
    warnings: r.warnings,
    exited: r.exited ? 1 : 0,
    notice_bytes: r.noticeBytes ?? '',
    line_gap_us: Number.isFinite(r.lineGapUs) ? Math.round(r.lineGapUs * 10) / 10 : '',
    cpu_us_per_line: r.cpuUsPerLine === undefined ? '' : Math.round(r.cpuUsPerLine * 100) / 100,
    ...schedColumns(r.sched),
  };
}

/** Runs the measurement `p.repeats` times, each in a fresh namespace. */
export async function liveConntrackE(p: ConntrackEParams): Promise<ConntrackERecord[]> {
  requireLive('conntrack-e', [CONNTRACK]);
  const out: ConntrackERecord[] = [];
  for (let r = 0; r < p.repeats; r++) {
    out.push(
      await inNamespace(async (ns) => {
        const args = [tool('conntrack')!, '-E', '-o', 'timestamp'];
        if (p.bufferSize > 0) args.push('-b', String(p.bufferSize));
        const prog = ns.start(args);
        try {
          // It subscribes right after it starts; give it the time an exec takes here.
          await sleep(300);
          const sched0 = prog.sched();
          const sent = (await ns.sendFlows(20000, p.flows, p.fillRateHz)).find((l) => l.kind === 'sent')!;
          await sleep(1000);
          const sched1 = prog.sched();
          const cpuNs = sched0 && sched1 ? sched1.runNs - sched0.runNs : NaN;
          const exited = prog.exit !== undefined;
          await prog.stop();
          const o = conntrackEOutput(prog.stdout, prog.stderr);
          return {
            ...o,
            fillMs: (Number(sent.end_ns) - Number(sent.start_ns)) / 1e6,
            exited,
            ...(o.lines > 0 && Number.isFinite(cpuNs) ? { cpuUsPerLine: cpuNs / 1e3 / o.lines } : {}),
            ...(sched0 && sched1 ? { sched: schedDelta(sched0, sched1) } : {}),
          };
        } finally {
          await prog.stop('SIGKILL');
        }
      }),
    );
  }
  return out;
}
