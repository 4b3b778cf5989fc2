// `nfct-sim live conntrackd`: Debian's conntrackd (stats mode) as the listener of a burst of new
// unreplied flows, with a generated conntrackd.conf (NetlinkBufferSize, MaxGrowth, overrun
// resync, reliable delivery), optionally followed by `conntrack -F`. While it runs, the daemon's
// own statistics (`conntrackd -s runtime`, `-s`) and the kernel's count are polled every 100 ms;
// at the end its internal cache (`-i`) is held against the kernel's table (`conntrack -L`).
// The simulated twin (twin-programs.ts) polls the model's conntrackd the same way, so both go
// through conntrackdRow.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '../lib/experiment.js';
import {
  CONNTRACK,
  inNamespace,
  requireLive,
  schedDelta,
  sleep,
  tool,
  type Namespace,
  type Program,
  type SchedCounters,
} from './host.js';

/** A live conntrackd run's parameters; the twin takes the same. */
export interface ConntrackdParams {
  /** NetlinkBufferSize (bytes). */
  buffer: number;
  /** NetlinkBufferSizeMaxGrowth as a multiple of NetlinkBufferSize. */
  growth: number;
  flows: number;
  /** New flows per second (0: as fast as the sender goes). */
  fillRateHz: number;
  /** NetlinkEventsReliable On. */
  reliable: boolean;
  /** `conntrack -F` after the burst, then until the table is empty. */
  flush: boolean;
  /** NetlinkOverrunResync in seconds. */
  resyncS: number;
  repeats: number;
}

/** One poll of the daemon and the kernel (ms after the sender started). */
export interface ConntrackdPoll {
  tMs: number;
  /** `-s runtime`: events received, netlink overrun, resync with kernel table, current buffer size. */
  received: number;
  overruns: number;
  resyncs: number;
  buffer: number;
  /** `-s`: current active connections (the internal cache). */
  cache: number;
  /** nf_conntrack_count. */
  kernel: number;
}

/** One repeat as recorded. */
export interface ConntrackdRecord {
  /** conntrackd's log lines without their time and pid prefix (`[notice] netlink event ...`). */
  log: string[];
  polls: ConntrackdPoll[];
  /** When the last new flow was sent, and when `conntrack -F` started (ms after the sender started). */
  fillEndMs: number;
  flushMs?: number;
  /** When the table was first seen empty after the flush, sampled every millisecond (ms after the sender started). */
  emptyMs?: number;
  /** At the end: kernel entries the cache lacks, cache objects the kernel lacks. */
  missing: number;
  ghosts: number;
  /** conntrackd's CPU time during the measurement per event received, µs (live only). */
  cpuUsPerEvent?: number;
  /** Its scheduler counters over the burst, from 200 ms before it to 300 ms after (live only). */
  sched?: SchedCounters;
  /** The same from just before `conntrack -F` to the end (live only). */
  schedFlush?: SchedCounters;
}

/** The scheduler columns of a live row ('' in a twin's). */
export function schedColumns(s: SchedCounters | undefined): Row {
  return {
    run_ms: s ? Math.round(s.runNs / 1e4) / 100 : '',
    runqueue_wait_ms: s ? Math.round(s.waitNs / 1e4) / 100 : '',
    preempted: s ? s.involuntary : '',
    slept: s ? s.voluntary : '',
  };
}

/** Polls are this far apart (ms); times derived from them are midpoints, ±half of this. */
export const POLL_MS = 100;

/** The General section of a generated conntrackd.conf, every path inside `dir`. */
export function generalSection(
  dir: string,
  o: { buffer: number; maxGrowth: number; resync: number | 'Off'; reliable: boolean; extra?: string },
): string {
  return `General {
	HashSize 32768
	HashLimit 1048576
	LogFile ${join(dir, 'conntrackd.log')}
	Syslog off
	LockFile ${join(dir, 'conntrackd.lock')}
	UNIX {
		Path ${join(dir, 'conntrackd.ctl')}
	}
	NetlinkBufferSize ${o.buffer}
	NetlinkBufferSizeMaxGrowth ${o.maxGrowth}
	NetlinkOverrunResync ${o.resync}
	NetlinkEventsReliable ${o.reliable ? 'On' : 'Off'}
	EventIterationLimit 100
${o.extra ?? ''}}
`;
}

/** The generated conntrackd.conf: stats mode, every path inside `dir`. */
export function conntrackdConf(p: ConntrackdParams, dir: string): string {
  return `${generalSection(dir, { buffer: p.buffer, maxGrowth: p.buffer * p.growth, resync: p.resyncS, reliable: p.reliable })}Stats {
	LogFile ${join(dir, 'stats.log')}
	Syslog off
}
`;
}

/** A number after `label` in conntrackd's statistics text (0 when absent). */
function statOf(text: string, label: string): number {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
}

/** Parses one poll's output: `-s runtime`, `-s`, then nf_conntrack_count. */
export function parsePoll(tMs: number, text: string): ConntrackdPoll {
  const lines = text.trim().split('\n');
  return {
    tMs,
    received: statOf(text, 'events received'),
    overruns: statOf(text, 'netlink overrun'),
    resyncs: statOf(text, 'resync with kernel table'),
    buffer: statOf(text, 'current buffer size \\(in bytes\\)'),
    cache: statOf(text, 'current active connections'),
    kernel: Number(lines.at(-1)),
  };
}

/** The original destination ports of a `conntrack -L` / `conntrackd -i` listing (the flows' identity here). */
export function dportsOf(listing: string): Set<number> {
  const out = new Set<number>();
  for (const line of listing.split('\n')) {
    const m = /dport=(\d+)/.exec(line);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

/**
 * A listener's copy of the table against the table: `missing` flows the copy lacks, `ghosts`
 * flows it has that the table no longer has (conntrackd's cache, a sync backup's commit).
 */
export function tableDiff(table: ReadonlySet<number>, copy: ReadonlySet<number>): { missing: number; ghosts: number } {
  return {
    missing: [...table].filter((x) => !copy.has(x)).length,
    ghosts: [...copy].filter((x) => !table.has(x)).length,
  };
}

/** Midpoint between the poll before the first one where `f` holds and that one (NaN: never). */
function firstMs(polls: readonly ConntrackdPoll[], f: (x: ConntrackdPoll) => boolean, from = 0): number {
  const i = polls.findIndex((x) => x.tMs >= from && f(x));
  if (i < 0) return NaN;
  return i === 0 ? polls[0]!.tMs : (polls[i - 1]!.tMs + polls[i]!.tMs) / 2;
}

/**
 * The daemon's wall-clock time per event while it had a backlog: over consecutive polls with
 * events waiting at both (nf_conntrack_count above events received; no overrun yet; before any
 * flush), elapsed time over events read, µs (NaN without such a pair). Observed only: the twin's
 * reader cost comes from CPU time per DESTROY (calibration.ts).
 */
export function readUsPerEvent(polls: readonly ConntrackdPoll[], untilMs = Infinity): number {
  let us = 0;
  let n = 0;
  for (let i = 1; i < polls.length && polls[i]!.tMs < untilMs; i++) {
    const a = polls[i - 1]!;
    const b = polls[i]!;
    if (b.overruns > 0 || a.kernel <= a.received || b.kernel <= b.received) continue;
    us += (b.tMs - a.tMs) * 1000;
    n += b.received - a.received;
  }
  return n > 0 ? us / n : NaN;
}

/** The row of results.csv for one repeat (live and simulated alike). */
export function conntrackdRow(p: ConntrackdParams, repeat: number, r: ConntrackdRecord): Row {
  const sizes = r.log.flatMap((l) => {
    const m = /buffer size has been (set|doubled) to (\d+) bytes/.exec(l);
    return m ? [{ how: m[1], bytes: Number(m[2]) }] : [];
  });
  const polls = r.polls;
  const last = polls.at(-1)!;
  const beforeFlush = r.flushMs === undefined ? last : [...polls].reverse().find((x) => x.tMs < r.flushMs!)!;
  // After the burst: the first poll 300 ms after the last new flow (the daemon has caught up).
  const settled = polls.find((x) => x.tMs >= r.fillEndMs + 300) ?? beforeFlush;
  const lastOverrunMs = firstMs(polls, (x) => x.overruns === beforeFlush.overruns && x.overruns > 0);
  const resyncMs = firstMs(polls, (x) => x.resyncs > 0);
  // Sampled every millisecond where recorded, else from the 100 ms polls.
  const drainMs =
    r.flushMs === undefined ? NaN : (r.emptyMs ?? firstMs(polls, (x) => x.kernel === 0, r.flushMs)) - r.flushMs;
  const cell = (x: number): number | string => (Number.isFinite(x) ? Math.round(x) : '');
  const cell2 = (x: number): number | string => (Number.isFinite(x) ? Math.round(x * 100) / 100 : '');
  return {
    buffer: p.buffer,
    growth: p.growth,
    flows: p.flows,
    reliable: p.reliable ? 1 : 0,
    flush: p.flush ? 1 : 0,
    resync_s: p.resyncS,
    repeat,
    fill_ms: cell(r.fillEndMs),
    buffer_set_bytes: sizes[0]?.bytes ?? '',
    buffer_final_bytes: last.buffer,
    doublings: sizes.filter((x) => x.how === 'doubled').length,
    cannot_grow: r.log.some((l) => l.includes('cannot be doubled further')) ? 1 : 0,
    received_fill: settled.received,
    missing_fill: settled.kernel - settled.cache,
    overruns: beforeFlush.overruns,
    resyncs: last.resyncs,
    resync_after_overrun_ms: cell(resyncMs - lastOverrunMs),
    cache_end: last.cache,
    kernel_end: last.kernel,
    missing_end: r.missing,
    ghosts_end: r.ghosts,
    destroys: r.flushMs === undefined ? '' : last.received - beforeFlush.received,
    drain_ms: cell(drainMs),
    read_us_per_event: cell2(readUsPerEvent(polls, r.flushMs)),
    cpu_us_per_event: r.cpuUsPerEvent === undefined ? '' : cell2(r.cpuUsPerEvent),
    ...schedColumns(r.sched),
    // CPU time per DESTROY read after the flush (the daemon reads them back to back).
    cpu_us_per_destroy:
      r.schedFlush && r.flushMs !== undefined && last.received > beforeFlush.received
        ? cell2(r.schedFlush.runNs / 1e3 / (last.received - beforeFlush.received))
        : '',
    flush_slept: r.schedFlush ? r.schedFlush.voluntary : '',
  };
}

/** A conntrackd of our own in `ns`, its files in a temporary folder; `conf` writes its conntrackd.conf for that folder. */
export class Daemon {
  readonly dir = mkdtempSync(join(tmpdir(), 'nfct-sim-conntrackd-'));
  readonly conf = join(this.dir, 'conntrackd.conf');
  private proc: Program | undefined;

  constructor(
    private readonly ns: Namespace,
    conf: (dir: string) => string,
  ) {
    ns.leftovers.push(this.dir);
    writeFileSync(this.conf, conf(this.dir));
  }

  /** Starts it in the foreground and waits until it answers on its UNIX socket. */
  async start(): Promise<void> {
    this.proc = this.ns.start([tool('conntrackd')!, '-C', this.conf]);
    for (let i = 0; ; i++) {
      try {
        await this.ctl('-s', 'runtime');
        return;
      } catch (e) {
        if (this.proc.exit !== undefined || i > 100)
          throw new Error(`conntrackd did not start: ${this.proc.stderr.join(' ') || String(e)}`);
        await sleep(50);
      }
    }
  }

  ctl(...args: string[]): Promise<string> {
    return this.ns.exec([tool('conntrackd')!, '-C', this.conf, ...args]);
  }

  sched(): SchedCounters | undefined {
    return this.proc?.sched();
  }

  /**
   * nf_conntrack_count of its namespace, read in-process (`entries` of /proc/<pid>/net/stat/nf_conntrack,
   * hexadecimal), so that it can be sampled every millisecond.
   */
  kernelCount(): number {
    const pid = this.proc?.pid;
    if (pid === undefined) return NaN;
    try {
      const line = readFileSync(`/proc/${pid}/net/stat/nf_conntrack`, 'utf8').split('\n')[1] ?? '';
      return parseInt(line.trim().split(/\s+/)[0] ?? '', 16);
    } catch {
      return NaN;
    }
  }

  /** One poll's text: its statistics and the kernel's count, in one exec. */
  pollText(): Promise<string> {
    const c = `${tool('conntrackd')} -C ${this.conf}`;
    return this.ns.exec(['sh', '-c', `${c} -s runtime && ${c} -s && cat /proc/sys/net/netfilter/nf_conntrack_count`]);
  }

  /** Its log lines without the `[date] (pid=N) ` prefix. */
  log(): string[] {
    try {
      return readFileSync(join(this.dir, 'conntrackd.log'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.replace(/^\[[^\]]*\] \(pid=\d+\) /, ''));
    } catch {
      return [];
    }
  }

  /** Asks it to exit (`-k`), waits, and removes its folder. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exit === undefined) {
      await this.ctl('-k').catch(() => this.proc!.stop());
      await Promise.race([this.proc.closed, sleep(5000).then(() => this.proc!.stop('SIGKILL'))]);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls every POLL_MS until `done` says so; returns the polls. */
async function pollUntil(
  d: Daemon,
  t0: bigint,
  polls: ConntrackdPoll[],
  done: (x: ConntrackdPoll) => boolean,
): Promise<void> {
  for (;;) {
    const started = process.hrtime.bigint();
    const text = await d.pollText();
    // Stamped when the answer is in: an exec can take 100+ ms while the sender runs.
    const x = parsePoll(Number(process.hrtime.bigint() - t0) / 1e6, text);
    polls.push(x);
    if (done(x)) return;
    const spent = Number(process.hrtime.bigint() - started) / 1e6;
    await sleep(Math.max(0, POLL_MS - spent));
  }
}

/** When `d`'s table is first empty (ms after `t0`), sampled every millisecond until `deadlineMs`; undefined if never. */
async function sampleEmpty(d: Daemon, t0: bigint, deadlineMs: number): Promise<number | undefined> {
  for (;;) {
    const tMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (d.kernelCount() === 0) return tMs;
    if (tMs > deadlineMs) return undefined;
    await sleep(1);
  }
}

/** Runs the measurement `p.repeats` times, each in a fresh namespace with a fresh daemon. */
export async function liveConntrackd(p: ConntrackdParams): Promise<ConntrackdRecord[]> {
  requireLive('conntrackd', [CONNTRACK, ['conntrackd', 'conntrackd']]);
  const out: ConntrackdRecord[] = [];
  for (let r = 0; r < p.repeats; r++) {
    out.push(
      await inNamespace(async (ns) => {
        const d = new Daemon(ns, (dir) => conntrackdConf(p, dir));
        try {
          await d.start();
          const cpu0 = d.sched()?.runNs ?? NaN;
          const sched0 = d.sched();
          const startNs = process.hrtime.bigint() + 200_000_000n;
          const polls: ConntrackdPoll[] = [];
          // Poll while the sender runs (it starts 200 ms from now, on the same clock).
          let sent = false;
          const poller = pollUntil(d, startNs, polls, () => sent);
          const line = (await ns.sendFlows(20000, p.flows, p.fillRateHz, startNs)).find((l) => l.kind === 'sent')!;
          sent = true;
          await poller;
          const fillEndMs = (Number(line.end_ns) - Number(startNs)) / 1e6;
          await sleep(300);
          const sched1 = d.sched();
          // Then until the resync would have come (the alarm is re-armed by every overrun).
          const waitMs = fillEndMs + p.resyncS * 1000 + 1500;
          await pollUntil(d, startNs, polls, (x) => x.tMs > waitMs);
          let flushMs: number | undefined;
          let emptyMs: number | undefined;
          const schedBeforeFlush = d.sched();
          if (p.flush) {
            flushMs = Number(process.hrtime.bigint() - startNs) / 1e6;
            const sampler = sampleEmpty(d, startNs, flushMs + 300_000);
            await ns.exec([tool('conntrack')!, '-F']);
            emptyMs = await sampler;
            // Until the table is empty (at most 5 minutes), then one more second.
            let emptyAt = Infinity;
            await pollUntil(d, startNs, polls, (x) => {
              if (x.kernel === 0 && emptyAt === Infinity) emptyAt = x.tMs;
              return x.tMs > Math.min(emptyAt + 1000, flushMs! + 300_000);
            });
          }
          const schedEnd = d.sched();
          const cpuNs = (schedEnd?.runNs ?? NaN) - cpu0;
          const kernel = dportsOf(await ns.exec([tool('conntrack')!, '-L']).catch(() => ''));
          const cache = dportsOf(await d.ctl('-i'));
          const received = polls.at(-1)!.received;
          return {
            log: d.log(),
            polls,
            fillEndMs,
            ...(flushMs === undefined ? {} : { flushMs }),
            ...(emptyMs === undefined ? {} : { emptyMs }),
            ...tableDiff(kernel, cache),
            ...(received > 0 && Number.isFinite(cpuNs) ? { cpuUsPerEvent: cpuNs / 1e3 / received } : {}),
            ...(sched0 && sched1 ? { sched: schedDelta(sched0, sched1) } : {}),
            ...(p.flush && schedBeforeFlush && schedEnd ? { schedFlush: schedDelta(schedBeforeFlush, schedEnd) } : {}),
          };
        } finally {
          await d.stop();
        }
      }),
    );
  }
  return out;
}
