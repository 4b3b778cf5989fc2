// What every live scenario shares: the checks that it may run here, a network namespace that
// exists only while it runs, guarded global sysctls, the traffic sender and the listener helper.
// Everything it creates is removed and every sysctl it changed restored, also on Ctrl-C.
import { execFile, execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../../sim/index.js';
import { dropState, ownState, recoverStale, saveState, startTime } from './recovery.js';

const HELPER = fileURLToPath(new URL('./listener.py', import.meta.url));

/**
 * System tools by absolute path: under npm scripts, node_modules/.bin comes first in PATH and
 * holds an unrelated `nft` (from @vercel/nft).
 */
export function tool(name: string): string | undefined {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/** Why the live runner cannot run here, or undefined when it can. */
export function liveUnavailable(extra: readonly [string, string][] = []): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nftables)';
  for (const [name, pkg] of [['ip', 'iproute2'], ['nft', 'nftables'], ['python3', 'python3'], ...extra] as const) {
    if (tool(name) === undefined) return `needs ${name} (apt-get install ${pkg})`;
  }
  if (!existsSync('/proc/sys/net/netfilter/nf_conntrack_max')) return 'needs the nf_conntrack module';
  return undefined;
}

/** Throws the refusal for `scenario` when the machine cannot run it; touches nothing. */
export function requireLive(scenario: string, extra: readonly [string, string][] = []): void {
  const why = liveUnavailable(extra);
  if (why) throw new ConfigError('live', scenario, `cannot run on this machine: it ${why}`);
}

export const CONNTRACK: [string, string] = ['conntrack', 'conntrack'];

const run = (args: string[], input?: string): string =>
  execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', input });
const IP = (): string => tool('ip')!;
export const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** The running kernel's release, recorded with every live result. */
export const kernelRelease = (): string => readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();

/** A network namespace of our own (loopback up, tracking on, test traffic dropped at input). */
export class Namespace {
  /** Told the pid of every helper process started in the namespace (for crash recovery). */
  onHelper: (pid: number) => void = () => {};
  /** Folders of the run's programs, removed with the namespace (also on a signal). */
  readonly leftovers: string[] = [];
  constructor(readonly name: string) {}

  /**
   * Runs a command inside the namespace and returns its stdout. Asynchronous on purpose: while
   * it runs, Node must keep reading the listener's pipe, or the listener blocks on its output
   * and stops reading its socket (a synchronous `conntrack -F` did exactly that).
   */
  exec(args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const p = execFile(
        IP(),
        ['netns', 'exec', this.name, ...args],
        { encoding: 'utf8', maxBuffer: 1 << 28 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
      if (p.pid !== undefined) this.onHelper(p.pid);
      if (input !== undefined) p.stdin!.end(input);
    });
  }

  /** Reads or writes a per-namespace sysctl (no restore needed: it goes with the namespace). */
  async sysctl(name: string, value?: number): Promise<number> {
    const path = `/proc/sys/${name.replace(/\./g, '/')}`;
    if (value !== undefined) await this.exec(['sh', '-c', `echo ${value} > ${path}`]);
    return Number((await this.exec(['cat', path])).trim());
  }

  /** Entries on this namespace's dying list (parked for DESTROY redelivery). */
  async parked(): Promise<number> {
    const out = await this.exec([tool('conntrack')!, '-L', 'dying']);
    return out.split('\n').filter((l) => l.trim() !== '').length;
  }

  /** nf_conntrack_count of this namespace. */
  count(): Promise<number> {
    return this.sysctl('net.netfilter.nf_conntrack_count');
  }

  /**
   * Sends one UDP packet to each port (one new unreplied flow each), at `rateHz` if given,
   * starting at `startNs` on CLOCK_MONOTONIC (process.hrtime's clock) if given.
   */
  async sendFlows(firstPort: number, n: number, rateHz = 0, startNs = 0n): Promise<HelperLine[]> {
    const args = [tool('python3')!, HELPER, 'send', String(firstPort), String(n), String(rateHz), String(startNs)];
    const out = await this.exec(args);
    return out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as HelperLine);
  }

  /**
   * Runs `argv` `n` times one after another, `gapMs` apart, `{port}` in it replaced by
   * `firstPort + i`: per command its start (CLOCK_MONOTONIC), wall time and CPU time (wait4).
   */
  async timeCommands(firstPort: number, n: number, gapMs: number, argv: string[]): Promise<TimedCommand[]> {
    const out = await this.exec([
      tool('python3')!,
      HELPER,
      'time',
      String(firstPort),
      String(n),
      String(gapMs),
      ...argv,
    ]);
    return out
      .trim()
      .split('\n')
      .map((l) => {
        const x = JSON.parse(l) as Record<string, number>;
        return {
          port: x.port!,
          startNs: x.start_ns!,
          wallUs: x.wall_ns! / 1e3,
          cpuUs: (x.utime_ns! + x.stime_ns!) / 1e3,
          rc: x.rc!,
        };
      });
  }

  /** Starts a program in the namespace (`ip netns exec` execs it: the child's pid is the program's). */
  start(args: string[]): Program {
    const p = spawn(IP(), ['netns', 'exec', this.name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (p.pid !== undefined) this.onHelper(p.pid);
    return new Program(p);
  }

  /** Starts the listener helper with the given options (see listener.py). */
  listen(args: string[]): Listener {
    const p = spawn(IP(), ['netns', 'exec', this.name, tool('python3')!, HELPER, 'listen', ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    if (p.pid !== undefined) this.onHelper(p.pid);
    return new Listener(p);
  }
}

/** One command timed by the helper's `time`. */
export interface TimedCommand {
  readonly port: number;
  /** CLOCK_MONOTONIC ns (the listener's `t_ns` clock). */
  readonly startNs: number;
  readonly wallUs: number;
  /** User + system CPU time of the command (its rusage). */
  readonly cpuUs: number;
  readonly rc: number;
}

/** One line the helper wrote (see listener.py for the kinds). */
export interface HelperLine {
  kind: string;
  t_ns?: number;
  type?: string;
  dport?: number;
  [k: string]: unknown;
}

/** The listener helper as a child process; its JSON lines are collected as they arrive. */
export class Listener {
  readonly lines: HelperLine[] = [];
  private readonly closed: Promise<number | null>;

  constructor(private readonly p: ChildProcessByStdio<Writable, Readable, null>) {
    let partial = '';
    p.stdout.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!; // an unfinished line waits for the next chunk
      for (const line of parts) this.lines.push(JSON.parse(line) as HelperLine);
    });
    this.closed = new Promise((res) => p.on('close', (code) => res(code)));
  }

  /** Resolves once the socket is bound and subscribed. */
  async ready(): Promise<HelperLine> {
    for (;;) {
      const r = this.lines.find((l) => l.kind === 'ready');
      if (r) return r;
      await sleep(20);
    }
  }

  /** Waits until no new line has arrived for `quietMs`. */
  async quiet(quietMs: number): Promise<void> {
    for (let n = -1; n !== this.lines.length;) {
      n = this.lines.length;
      await sleep(quietMs);
    }
  }

  /** Closes the helper's stdin (its stop signal) and waits for it to exit. */
  async stop(): Promise<void> {
    this.p.stdin.end();
    const code = await this.closed;
    if (code !== 0) throw new Error(`listener helper exited with ${code}`);
  }

  /** Messages of one type. */
  messages(type: string): HelperLine[] {
    return this.lines.filter((l) => l.kind === 'msg' && l.type === type);
  }
}

/**
 * A process's scheduler counters: time on the CPU and waiting on a run queue
 * (/proc/<pid>/schedstat), and its context switches (/proc/<pid>/status).
 */
export interface SchedCounters {
  runNs: number;
  waitNs: number;
  voluntary: number;
  involuntary: number;
}

/** What `b` adds to `a`. */
export const schedDelta = (a: SchedCounters, b: SchedCounters): SchedCounters => ({
  runNs: b.runNs - a.runNs,
  waitNs: b.waitNs - a.waitNs,
  voluntary: b.voluntary - a.voluntary,
  involuntary: b.involuntary - a.involuntary,
});

/** A program started with {@link Namespace.start}: its output lines as they arrive, its exit. */
export class Program {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** The exit code (or the signal's name) once it has ended. */
  exit: number | string | undefined;
  readonly closed: Promise<number | string>;

  constructor(private readonly p: ChildProcessByStdio<null, Readable, Readable>) {
    const collect = (stream: Readable, into: string[]): void => {
      let partial = '';
      stream.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop()!;
        into.push(...parts);
      });
      stream.on('end', () => void (partial && into.push(partial)));
    };
    collect(p.stdout, this.stdout);
    collect(p.stderr, this.stderr);
    this.closed = new Promise((res) =>
      p.on('close', (code, signal) => {
        this.exit = code ?? signal ?? 'unknown';
        res(this.exit);
      }),
    );
  }

  get pid(): number {
    return this.p.pid!;
  }

  /** Its scheduler counters now (undefined once it has ended). */
  sched(): SchedCounters | undefined {
    try {
      const [runNs, waitNs] = readFileSync(`/proc/${this.pid}/schedstat`, 'utf8').split(' ').map(Number);
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
      return {
        runNs: runNs!,
        waitNs: waitNs!,
        voluntary: field('voluntary_ctxt_switches'),
        involuntary: field('nonvoluntary_ctxt_switches'),
      };
    } catch {
      return undefined; // ended
    }
  }

  /** Sends `signal` and waits for the end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string> {
    if (this.exit === undefined) this.p.kill(signal);
    return this.closed;
  }
}

/** A global sysctl changed for the run; `restore()` puts the old value back. */
interface Guard {
  path: string;
  old: string;
}

/**
 * Runs `body` in a namespace that exists only while it runs. `globals` are host-wide sysctls
 * (such as nf_conntrack_max) set for the run and restored afterwards, also on SIGINT/SIGTERM.
 */
export async function inNamespace<T>(
  body: (ns: Namespace, peer: Namespace | undefined) => Promise<T>,
  globals: Record<string, number> = {},
  o: { peer?: boolean } = {},
): Promise<T> {
  for (const line of recoverStale(IP())) process.stderr.write(`nfct-sim: recovered after a killed run: ${line}\n`);
  const ns = new Namespace(`nfctsim-${process.pid}`);
  // The sync scenario's backup: a second namespace, joined to the first by a veth pair.
  const peer = o.peer ? new Namespace(`nfctsim-${process.pid}-b`) : undefined;
  const guards: Guard[] = [];
  // Written before anything on the host changes, so that a SIGKILL can be undone by the next start.
  const state = ownState(ns.name);
  if (peer) state.peer = peer.name;
  saveState(state);
  const onHelper = (pid: number): void => {
    const started = startTime(pid);
    if (started === undefined) return; // already over
    state.helpers.push({ pid, started });
    saveState(state);
  };
  ns.onHelper = onHelper;
  if (peer) peer.onHelper = onHelper;
  const cleanup = (): void => {
    // Programs started in the namespace (conntrackd) outlive it unless ended: a namespace's
    // deletion does not stop its processes. Only those still running with their start time.
    for (const h of state.helpers) {
      if (startTime(h.pid) !== h.started) continue;
      try {
        process.kill(h.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    for (const f of [...ns.leftovers, ...(peer?.leftovers ?? [])]) rmSync(f, { recursive: true, force: true });
    for (const n of peer ? [ns, peer] : [ns]) {
      try {
        execFileSync(IP(), ['netns', 'del', n.name], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    for (const g of guards.splice(0).reverse()) writeFileSync(g.path, g.old);
    dropState(process.pid);
  };
  const onSignal = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const [name, value] of Object.entries(globals)) {
      const path = `/proc/sys/${name.replace(/\./g, '/')}`;
      const old = readFileSync(path, 'utf8');
      guards.push({ path, old });
      state.sysctls.push({ path, old, wrote: `${value}\n` });
      saveState(state);
      writeFileSync(path, `${value}\n`);
    }
    for (const n of peer ? [ns, peer] : [ns]) {
      run([IP(), 'netns', 'add', n.name]);
      await n.exec([IP(), 'link', 'set', 'lo', 'up']);
      // Track everything; drop the test traffic at input so flows stay unreplied (no ICMP).
      await n.exec(
        [tool('nft')!, '-f', '-'],
        'table inet nfctsim {\n chain in { type filter hook input priority 0; policy accept; udp dport 20000-60000 drop; }\n chain out { type filter hook output priority 0; policy accept; ct state new counter; }\n}\n',
      );
    }
    return await body(ns, peer);
  } finally {
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
