// `nfct-sim live capacity`: measures, on the host's kernel, how many conntrack events a
// listener that does not read can hold for each requested SO_RCVBUF, and compares with the
// simulator's netlink model. Everything happens in a network namespace created for the run
// (loopback only) and removed afterwards, also on Ctrl-C. Needs root, iproute2, nftables and
// python3 (the listener helper uses only Python's standard library: Node has no AF_NETLINK).
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ConfigError } from '../../sim/index.js';
import { NetlinkSocket } from '../../models/netlink/socket.js';
import { preset } from '../../models/presets.js';
import type { CtEvent } from '../../models/kernel/events.js';
import { toCsv, writeAtomic } from '../lib/output.js';
import type { Row } from '../lib/experiment.js';

const HELPER = fileURLToPath(new URL('./listener.py', import.meta.url));

/**
 * System tools by absolute path: under npm scripts, node_modules/.bin comes first in PATH and
 * holds an unrelated `nft` (from @vercel/nft).
 */
function tool(name: string): string | undefined {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/** Why the live runner cannot run here, or undefined when it can. */
export function liveUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nftables)';
  for (const [name, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
    ['python3', 'python3'],
  ]) {
    if (tool(name!) === undefined) return `needs ${name} (apt-get install ${pkg})`;
  }
  if (!existsSync('/proc/sys/net/netfilter/nf_conntrack_max')) return 'needs the nf_conntrack module';
  return undefined;
}

const sh = (args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
const IP = (): string => tool('ip')!;

/** A namespace that exists only while `body` runs. */
async function inNamespace<T>(body: (ns: string) => Promise<T>): Promise<T> {
  const ns = `nfctsim-${process.pid}`;
  const cleanup = (): void => {
    try {
      execFileSync(IP(), ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    sh([IP(), 'netns', 'add', ns]);
    sh([IP(), 'netns', 'exec', ns, IP(), 'link', 'set', 'lo', 'up']);
    // Track everything; drop the test traffic at input so flows stay unreplied (no ICMP).
    execFileSync(IP(), ['netns', 'exec', ns, tool('nft')!, '-f', '-'], {
      input:
        'table inet nfctsim {\n chain in { type filter hook input priority 0; policy accept; udp dport 20000-60000 drop; }\n chain out { type filter hook output priority 0; policy accept; ct state new counter; }\n}\n',
    });
    return await body(ns);
  } finally {
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Sends one UDP packet to each port (one new unreplied flow each), inside `ns`. */
function sendFlows(ns: string, firstPort: number, n: number): void {
  sh([
    IP(),
    'netns',
    'exec',
    ns,
    tool('python3')!,
    '-c',
    `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor p in range(${firstPort},${firstPort + n}): s.sendto(b'x',('127.0.0.1',p))`,
  ]);
}

interface HeldResult {
  rcvbuf: number;
  rmem: number;
  drops: number;
  messages: number;
}

/** One measurement: a holding listener, `flows` new flows, then what it held. */
function measureHeld(ns: string, request: number, firstPort: number, flows: number): Promise<HeldResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(IP(), ['netns', 'exec', ns, tool('python3')!, HELPER, '--rcvbuf', String(request), '--hold'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let buf = '';
    const out: Record<string, number>[] = [];
    let sent = false;
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, i)) as Record<string, number> & { kind: string };
        buf = buf.slice(i + 1);
        out.push(line);
        if (line.kind === 'ready' && !sent) {
          sent = true;
          sendFlows(ns, firstPort, flows);
          setTimeout(() => p.stdin.end(), 300); // let the last events land
        }
      }
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`listener helper exited with ${code}`));
      const ready = out.find((l) => (l as { kind?: string }).kind === 'ready')!;
      const held = out.find((l) => (l as { kind?: string }).kind === 'held')!;
      resolve({
        rcvbuf: ready.rcvbuf!,
        rmem: held.rmem!,
        drops: held.drops!,
        messages: out.filter((l) => (l as { kind?: string }).kind === 'msg').length,
      });
    });
  });
}

/** What the simulator predicts for a listener that never reads (6.18 preset). */
export function simulatedCapacity(request: number, presetName = 'linux-6.18'): { rcvbuf: number; held: number } {
  const s = new NetlinkSocket(
    'x',
    { groups: [1], broadcastError: false, noEnobufs: false, rcvbuf: { kind: 'SO_RCVBUF', bytes: request } },
    preset(presetName).netlink,
  );
  const ctx = { send: () => 0 } as never;
  let held = 0;
  for (let i = 0; i < 100000; i++) {
    const ev: CtEvent = {
      type: 'new',
      group: 1,
      flags: 0,
      events: 1,
      id: i,
      tuple: 2 * i,
      proto: 'udp',
      portid: 0,
      serial: i,
      sentAt: 0,
    };
    if (!s.deliver(ev, ctx)) break;
    held++;
  }
  return { rcvbuf: s.rcvbuf, held };
}

/** Relative error of `sim` against `live` (0 when both are 0). */
export const relError = (live: number, sim: number): number =>
  live === 0 ? (sim === 0 ? 0 : Infinity) : Math.abs(sim - live) / Math.abs(live);

/** Joins live rows with the simulator's figures for the same requests. */
export function compareCapacity(live: readonly Row[]): Row[] {
  return live.map((r) => {
    const sim = simulatedCapacity(Number(r.requested_bytes));
    return {
      ...r,
      sim_rcvbuf_bytes: sim.rcvbuf,
      sim_held_events: sim.held,
      held_rel_error: relError(Number(r.held_events), sim.held),
      rcvbuf_rel_error: relError(Number(r.rcvbuf_bytes), sim.rcvbuf),
    };
  });
}

/** Runs the capacity measurement and writes live.csv and comparison.csv into `out`. */
export async function liveCapacity(opts: {
  buffers: number[];
  repeats: number;
  out: string;
  flows?: number;
}): Promise<string[]> {
  const why = liveUnavailable();
  if (why) throw new ConfigError('live', 'capacity', `cannot run on this machine: it ${why}`);
  const flows = opts.flows ?? 500;
  const rows: Row[] = await inNamespace(async (ns) => {
    const acc: Row[] = [];
    let port = 20000;
    for (const b of opts.buffers) {
      for (let r = 0; r < opts.repeats; r++) {
        const m = await measureHeld(ns, b, port, flows);
        port += flows;
        acc.push({
          requested_bytes: b,
          repeat: r,
          rcvbuf_bytes: m.rcvbuf,
          held_events: m.messages,
          rmem_bytes: m.rmem,
          drops: m.drops,
          flows,
        });
      }
    }
    return acc;
  });
  const cmp = compareCapacity(rows);
  writeAtomic(join(opts.out, 'live.csv'), toCsv(rows, Object.keys(rows[0]!)));
  writeAtomic(join(opts.out, 'comparison.csv'), toCsv(cmp, Object.keys(cmp[0]!)));
  return cmp.map(
    (r) =>
      `SO_RCVBUF ${r.requested_bytes} (repeat ${r.repeat}): live rcvbuf ${r.rcvbuf_bytes}, held ${r.held_events}; simulated ${r.sim_rcvbuf_bytes}, held ${r.sim_held_events} (error ${(Number(r.held_rel_error) * 100).toFixed(1)} %)`,
  );
}

/** Summary of a flush as the listener saw it: times relative to the first DESTROY (ms). */
export function flushSummary(destroyMs: readonly number[]): {
  n: number;
  burst: number;
  periodMs: number;
  lastMs: number;
} {
  const xs = [...destroyMs].sort((a, b) => a - b);
  let burst = xs.findIndex((x, i) => i > 0 && x - xs[i - 1]! > 5);
  if (burst < 0) burst = xs.length;
  const gaps = xs
    .slice(burst)
    .map((x, i) => x - xs[burst + i - 1]!)
    .sort((a, b) => a - b);
  return {
    n: xs.length,
    burst,
    periodMs: gaps.length ? gaps[gaps.length >> 1]! : 0,
    lastMs: xs.length ? xs.at(-1)! - xs[0]! : 0,
  };
}

/**
 * `live flush`: N unreplied flows, a listener with SO_RCVBUFFORCE `request` (reliable:
 * NETLINK_BROADCAST_ERROR; unreliable: no option, refused events are lost), then `conntrack -F`;
 * records every DESTROY's receive time, the ENOBUFS seen, until the table is empty.
 */
export async function liveFlush(opts: {
  entries: number;
  request: number;
  repeats: number;
  out: string;
  unreliable?: boolean;
  /** Extra processing time per message in the helper. */
  delayUs?: number;
}): Promise<string[]> {
  const why = liveUnavailable() ?? (tool('conntrack') ? undefined : 'needs conntrack (apt-get install conntrack)');
  if (why) throw new ConfigError('live', 'flush', `cannot run on this machine: it ${why}`);
  const rows: Row[] = [];
  for (let r = 0; r < opts.repeats; r++) {
    const got = await inNamespace(async (ns) => {
      const args = [HELPER, '--rcvbuf', String(opts.request), '--force', '--delay-us', String(opts.delayUs ?? 0)];
      if (!opts.unreliable) args.push('--broadcast-error');
      const p = spawn(IP(), ['netns', 'exec', ns, tool('python3')!, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines: { kind: string; type?: string; t_ns?: number }[] = [];
      let buf = '';
      p.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buf.slice(0, i)) as { kind: string });
          buf = buf.slice(i + 1);
        }
      });
      const closed = new Promise<void>((res) => p.on('close', () => res()));
      while (!lines.some((l) => l.kind === 'ready')) await new Promise((res) => setTimeout(res, 20));
      sendFlows(ns, 20000, opts.entries);
      await new Promise((res) => setTimeout(res, 300));
      execFileSync(IP(), ['netns', 'exec', ns, tool('conntrack')!, '-F'], { stdio: 'ignore' });
      // Until the table is empty (every DESTROY delivered and every entry freed), at most 10 min;
      // then until the reader has been idle for a second.
      const deadline = Date.now() + 600_000;
      while (Date.now() < deadline) {
        const count = Number(
          sh([IP(), 'netns', 'exec', ns, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count']).trim(),
        );
        if (count === 0) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      for (let n = -1; n !== lines.length;) {
        n = lines.length;
        await new Promise((res) => setTimeout(res, 1000));
      }
      p.stdin.end();
      await closed;
      return {
        times: lines.filter((l) => l.kind === 'msg' && l.type === 'destroy').map((l) => l.t_ns! / 1e6),
        enobufs: lines.filter((l) => l.kind === 'enobufs').length,
      };
    });
    const s = flushSummary(got.times);
    rows.push({
      entries: opts.entries,
      so_rcvbufforce: opts.request,
      reliable: opts.unreliable ? 0 : 1,
      delay_us: opts.delayUs ?? 0,
      repeat: r,
      destroys: s.n,
      enobufs: got.enobufs,
      burst: s.burst,
      period_ms: s.periodMs,
      last_after_first_ms: s.lastMs,
    });
  }
  writeAtomic(join(opts.out, 'live.csv'), toCsv(rows, Object.keys(rows[0]!)));
  return rows.map(
    (r) =>
      `flush of ${r.entries} (SO_RCVBUFFORCE ${r.so_rcvbufforce}, ${r.reliable ? 'reliable' : 'unreliable'}, +${r.delay_us} us per event), repeat ${r.repeat}: ${r.destroys} DESTROYs received, ${r.enobufs} ENOBUFS, burst ${r.burst}, then one per ${Number(r.period_ms).toFixed(2)} ms, last ${(Number(r.last_after_first_ms) / 1000).toFixed(3)} s after the first`,
  );
}
