// The live runner's real programs (conntrackd, conntrack -E): the parsers of what they print,
// the summary both sides share, the model's conntrackd log against a recorded live log, the
// reader's preemption, and a live smoke test where the machine allows it.
import test from 'ava';
import { withHostLock } from '../../helpers/host-lock.js';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { us } from '../../../sim/index.js';
import {
  conntrackdConf,
  conntrackdRow,
  dportsOf,
  parsePoll,
  readUsPerEvent,
  type ConntrackdParams,
  type ConntrackdPoll,
} from '../../../experiments/live/conntrackd.js';
import { conntrackEOutput, conntrackERow, medianGapUs } from '../../../experiments/live/conntrack-e.js';
import { simulateConntrackd, simulateConntrackE } from '../../../experiments/live/twin-programs.js';
import { twinOn } from '../../../experiments/live/twin.js';
import { readRunDir } from '../../../experiments/live/dir.js';
import { liveUnavailable, tool } from '../../../experiments/live/host.js';
import { runScenario, scenarioParams } from '../../../experiments/live/scenarios.js';
import { CANNOT_GROW } from '../../../models/listeners/conntrackd.js';
import { conntrackd, msgs, raw, reader, world } from '../../helpers/world.js';

const FIXTURES = new URL('../../fixtures/live/', import.meta.url).pathname;

// What conntrackd 1.4.7 printed for `-s runtime` and `-s` in a live run here, then nf_conntrack_count.
const POLL_TEXT = `daemon uptime: 0 min

netlink stats:
	events received:	                4140
	events filtered:	                   0
	events unknown type:		           0
	catch event failed:		         302
	dump unknown type:		           0
	netlink overrun:		         302
	flush kernel table:		           0
	resync with kernel table:	           1
	current buffer size (in bytes):	        4608

runtime stats:
	child process failed:		           0
cache stats:
current active connections:	        5000
connections created:		        5000	failed:	           0
connections updated:		        4140	failed:	           0
connections destroyed:		           0	failed:	           0

5000
`;

const P: ConntrackdParams = {
  buffer: 2048,
  growth: 4,
  flows: 100,
  fillRateHz: 0,
  reliable: false,
  flush: false,
  resyncS: 2,
  repeats: 1,
};

test('conntrackd: a poll reads events received, overruns, resyncs, the buffer, the cache and the kernel count', (t) => {
  t.deepEqual(parsePoll(12.5, POLL_TEXT), {
    tMs: 12.5,
    received: 4140,
    overruns: 302,
    resyncs: 1,
    buffer: 4608,
    cache: 5000,
    kernel: 5000,
  });
});

test('conntrackd: the generated conntrackd.conf sets MaxGrowth to growth x NetlinkBufferSize and keeps every file in its folder', (t) => {
  const conf = conntrackdConf({ ...P, buffer: 65536, growth: 4, reliable: true }, '/x/y');
  t.regex(conf, /NetlinkBufferSize 65536\n/);
  t.regex(conf, /NetlinkBufferSizeMaxGrowth 262144\n/);
  t.regex(conf, /NetlinkEventsReliable On\n/);
  t.regex(conf, /NetlinkOverrunResync 2\n/);
  for (const m of conf.matchAll(/(?:LogFile|LockFile|Path) (\S+)/g)) t.true(m[1]!.startsWith('/x/y/'), m[0]);
});

test('conntrackd: flows are told apart by their original destination port in conntrack -L and conntrackd -i listings', (t) => {
  const listing =
    'udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=40000 dport=20001 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=20001 dport=40000 mark=0 use=1\n' +
    'udp      17 src=127.0.0.1 dst=127.0.0.1 sport=40000 dport=20002 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=20002 dport=40000 [active since 1s]\n' +
    'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n';
  t.deepEqual([...dportsOf(listing)], [20001, 20002]);
});

const poll = (tMs: number, o: Partial<ConntrackdPoll> = {}): ConntrackdPoll => ({
  tMs,
  received: 0,
  overruns: 0,
  resyncs: 0,
  buffer: 2304,
  cache: 0,
  kernel: 0,
  ...o,
});

test('conntrackd: the row takes times as midpoints of the polls around a change, the figures of the burst 300 ms after it, and DESTROYs after the flush', (t) => {
  const polls = [
    poll(0),
    poll(100, { received: 50, kernel: 80, cache: 50, overruns: 1 }),
    poll(200, { received: 90, kernel: 100, cache: 90, overruns: 3 }),
    poll(300, { received: 90, kernel: 100, cache: 90, overruns: 3 }),
    // 300 ms after the fill ended at 99.9 ms: the first poll at or after 399.9
    poll(400, { received: 91, kernel: 100, cache: 91, overruns: 3 }),
    poll(2300, { received: 91, kernel: 100, cache: 100, overruns: 3, resyncs: 1, buffer: 4608 }),
    poll(2400, { received: 150, kernel: 0, cache: 0, overruns: 3, resyncs: 1, buffer: 4608 }),
  ];
  const log = [
    '[notice] netlink event socket buffer size has been set to 2304 bytes',
    '[notice] netlink event socket buffer size has been doubled to 4608 bytes',
    `[warning] ${CANNOT_GROW}`,
  ];
  const row = conntrackdRow({ ...P, flush: true }, 0, {
    log,
    polls,
    fillEndMs: 99.9,
    flushMs: 2350,
    missing: 0,
    ghosts: 0,
  });
  t.like(row, {
    buffer_set_bytes: 2304,
    buffer_final_bytes: 4608,
    doublings: 1,
    cannot_grow: 1,
    received_fill: 91,
    missing_fill: 9,
    overruns: 3,
    resyncs: 1,
    // resync between 400 and 2300 (1350), last overrun between 100 and 200 (150)
    resync_after_overrun_ms: 1200,
    destroys: 59,
    // the table is empty at the first poll after the flush: midpoint 2350, flushed at 2350
    drain_ms: 0,
    cpu_us_per_event: '',
  });
});

test('conntrackd: the read speed counts only intervals with events waiting at both ends, before any overrun or flush', (t) => {
  const polls = [
    poll(0, { received: 0, kernel: 100 }),
    poll(100, { received: 1000, kernel: 2000 }), // 100 ms for 1000 events: 100 us each
    poll(200, { received: 2000, kernel: 2000 }), // caught up: not counted
    poll(300, { received: 2500, kernel: 3000 }),
    poll(400, { received: 3000, kernel: 4000, overruns: 1 }), // lost something: not counted
  ];
  t.is(readUsPerEvent(polls), 100);
  t.is(readUsPerEvent(polls, 100), NaN);
  t.is(readUsPerEvent([poll(0)]), NaN);
});

test('conntrack -E: counts event lines, ENOBUFS warnings and the NOTICE of -b; the reading speed is the median gap under 1 ms', (t) => {
  const stdout = [
    '[1764641782.000100]\t    [NEW] udp      17 30 src=127.0.0.1 dst=127.0.0.1 sport=1 dport=20000 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=20000 dport=1',
    '[1764641782.000106]\t    [NEW] udp      17 30 src=127.0.0.1 dst=127.0.0.1 sport=1 dport=20001 [UNREPLIED]',
    '[1764641782.000112]\t [UPDATE] udp      17 30 src=127.0.0.1',
    '[1764641782.001112]\t[DESTROY] udp      17 src=127.0.0.1',
    'not an event line',
  ];
  const stderr = [
    'NOTICE: Netlink socket buffer size has been set to 2097152 bytes.',
    'WARNING: We have hit ENOBUFS! We are losing events.',
    'This message means that the current netlink socket buffer size is too small.',
    'WARNING: We have hit ENOBUFS! We are losing events.',
  ];
  const o = conntrackEOutput(stdout, stderr);
  // gaps 6, 6 and exactly 1000 us: the last is not inside a reading stretch
  t.deepEqual(o, { lines: 4, warnings: 2, lineGapUs: 6, noticeBytes: 2097152 });
  t.is(medianGapUs([5, 4]), NaN); // a negative gap is a clock step, not a reading
  t.like(
    conntrackERow({ flows: 10, fillRateHz: 0, bufferSize: 0, repeats: 1 }, 0, { ...o, exited: false, fillMs: 1 }),
    {
      lines: 4,
      lost: 6,
      exited: 0,
    },
  );
});

test('netlink#28 the model conntrackd logs what 1.4.7 logs: buffer set (read back, at least SOCK_MIN_RCVBUF), doubled while within MaxGrowth, then one warning', (t) => {
  const w = world('linux-6.18', [
    conntrackd({ version: '1.4.7', netlinkBufferSize: 2048, maxGrowth: 8192, overrunResyncS: 0, reader: reader(1000) }),
  ]);
  // 200 flows 300 us apart into a reader that takes 1 ms per message: ENOBUFS again and again.
  for (let i = 0; i < 200; i++) w.at(us(300 * i), { kind: 'packet', tuple: 1000 + 2 * i, proto: 'udp' });
  w.sim.run({ until: us(500_000) });
  const l = w.listeners[0]!;
  t.true(l.stats.enobufs >= 3);
  t.deepEqual(
    l.notices.map((n) => `[${n.level}] ${n.text}`),
    [
      '[notice] netlink event socket buffer size has been set to 2304 bytes',
      '[notice] netlink event socket buffer size has been doubled to 4608 bytes',
      `[warning] ${CANNOT_GROW}`,
    ],
  );
  t.is(l.socket.rcvbuf, 4608);
});

test('the twin of a recorded conntrackd run logs the same buffer lines as the real daemon did', (t) => {
  const name = readdirSync(FIXTURES).find((n) => n.startsWith('conntrackd-2048-6.18'));
  if (name === undefined) return t.pass('no recorded conntrackd-2048 run');
  const live = readRunDir(join(FIXTURES, name));
  const buffer = (l: string): boolean => l.includes('buffer size') || l.includes('reliable');
  const liveLog = parseLogCsv(join(FIXTURES, name, 'log.csv')).filter((x) => x.repeat === '0' && buffer(x.line));
  const sim = simulateConntrackd({ ...(live.info.params as unknown as ConntrackdParams), repeats: 1 }, twinOn())[0]!;
  t.deepEqual(sim.log.filter(buffer).slice(0, 2), liveLog.map((x) => x.line).slice(0, 2));
});

/** log.csv of a conntrackd run: repeat, line. */
const parseLogCsv = (path: string): { repeat: string; line: string }[] =>
  parse(readFileSync(path, 'utf8'), { columns: true }) as { repeat: string; line: string }[];

test('reader preemption (hand-traced): after every runUs of processing the reader waits waitUs before its next message', (t) => {
  // One event every microsecond into a big buffer; 10 us per message; preempted after 100 us
  // of processing for 50 us. Messages 1-10 are 10 us apart, message 11 comes 60 us after message 10.
  const r = {
    wakeupUs: { kind: 'constant' as const, us: 0 },
    costUs: { kind: 'constant' as const, us: 10 },
    slowdown: 1,
    preemption: { runUs: { kind: 'constant' as const, us: 100 }, waitUs: { kind: 'constant' as const, us: 50 } },
  };
  const w = world('linux-6.18', [raw({ rcvbufBytes: 1 << 24, broadcastError: false, reader: r })]);
  for (let i = 0; i < 30; i++) w.at(us(i), { kind: 'packet', tuple: 1000 + 2 * i, proto: 'udp' });
  w.sim.run({ until: us(10_000) });
  const times = msgs(w.listeners[0]!.log).map((m) => (m.t - w.listeners[0]!.log[0]!.t) / 1e3);
  t.deepEqual(times.slice(0, 12), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 150, 160]);
  // the next wait comes after another 100 us of processing: message 21 at 150 + 100 + 50
  t.is(times[20], 300);
  // without preemption the same reader takes them 10 us apart throughout
  const w2 = world('linux-6.18', [
    raw({ rcvbufBytes: 1 << 24, broadcastError: false, reader: { ...r, preemption: undefined } }),
  ]);
  for (let i = 0; i < 30; i++) w2.at(us(i), { kind: 'packet', tuple: 1000 + 2 * i, proto: 'udp' });
  w2.sim.run({ until: us(10_000) });
  const t2 = msgs(w2.listeners[0]!.log).map((m) => (m.t - w2.listeners[0]!.log[0]!.t) / 1e3);
  t.is(t2[20], 200);
});

test('the program twins are deterministic: same parameters, same records', (t) => {
  const twin = twinOn();
  t.deepEqual(simulateConntrackd({ ...P, flows: 3000 }, twin), simulateConntrackd({ ...P, flows: 3000 }, twin));
  const e = { flows: 3000, fillRateHz: 0, bufferSize: 0, repeats: 2 };
  t.deepEqual(simulateConntrackE(e, twin), simulateConntrackE(e, twin));
});

/** The conntrackd folders in the temporary directory now (other runs may have their own). */
const daemonFolders = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('nfct-sim-conntrackd-'));

const why = liveUnavailable([['conntrackd', 'conntrackd']]);
(why ? test.skip : test)(
  `live smoke: the real conntrackd and conntrack -E in a namespace, folders complete, nothing left behind${why ? ` (skipped: this machine ${why})` : ''}`,
  (t) =>
    withHostLock(async () => {
      const out = mkdtempSync(join(tmpdir(), 'nfct-programs-'));
      const before = new Set(daemonFolders());
      const rows = await runScenario(
        'conntrackd',
        { buffer: 2048, flows: 2000, repeats: 1, resyncS: 1 },
        'live',
        join(out, 'd'),
        () => 'live',
      );
      t.is(rows[0]!.buffer_set_bytes, 2304); // 2048 halved, doubled by the kernel, raised to SOCK_MIN_RCVBUF
      t.is(rows[0]!.kernel_end, 2000);
      t.is(rows[0]!.cache_end, 2000); // a resync (or nothing lost) leaves cache and kernel equal
      t.true(existsSync(join(out, 'd', 'manifest.json')));
      const e = await runScenario(
        'conntrack-e',
        { flows: 500, fillRateHz: 5000, repeats: 1 },
        'live',
        join(out, 'e'),
        () => 'live',
      );
      t.is(e[0]!.lines, 500);
      t.is(e[0]!.exited, 0);
      t.deepEqual(
        daemonFolders().filter((f) => !before.has(f)),
        [],
        'conntrackd folder removed',
      );
      t.truthy(tool('conntrackd'));
    }),
);

/** conntrackd daemons of the runner (`conntrackd -C <its folder>/conntrackd.conf`, no client request). */
const processesWith = (needle: string): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const args = readFileSync(`/proc/${d}/cmdline`, 'utf8')
          .split('\0')
          .filter((a) => a !== '');
        return args.length === 3 && args[1] === '-C' && args[2]!.includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);

(why ? test.skip : test.serial)(
  `SIGTERM during a live sync run: the runner exits 130 and leaves no conntrackd, folder or namespace behind${why ? ` (skipped: this machine ${why})` : ''}`,
  (t) =>
    withHostLock(async () => {
      t.timeout(60_000);
      const cli = new URL('../../../experiments/cli.ts', import.meta.url).pathname;
      const out = join(mkdtempSync(join(tmpdir(), 'nfct-sigterm-')), 'run');
      const before = new Set(daemonFolders());
      const p = spawn(process.execPath, ['--import', 'tsx', cli, 'live', 'sync', '--repeats', '1', '--out', out], {
        stdio: 'ignore',
        cwd: new URL('../../..', import.meta.url).pathname,
      });
      // Until both daemons run (their conntrackd.conf folders are named after the runner's helper).
      const started = Date.now();
      while (processesWith('nfct-sim-conntrackd-').length < 2 && Date.now() - started < 30_000)
        await new Promise((r) => setTimeout(r, 50));
      t.is(processesWith('nfct-sim-conntrackd-').length, 2, 'both daemons were running');
      p.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
      t.is(code, 130);
      await new Promise((r) => setTimeout(r, 300));
      t.deepEqual(processesWith('nfct-sim-conntrackd-'), []);
      t.deepEqual(
        daemonFolders().filter((f) => !before.has(f)),
        [],
        'daemon folders removed',
      );
      const ns = execFileSync(tool('ip')!, ['netns', 'list'], { encoding: 'utf8' });
      t.false(ns.includes(`nfctsim-${p.pid}`), 'both namespaces deleted');
      t.false(existsSync(join(out, 'manifest.json')), 'no complete folder claimed');
    }),
);

test('live sync refuses a mode other than notrack and ftfw and a loss above 100 %, naming the option, before creating anything', (t) => {
  t.throws(() => scenarioParams('sync', { mode: 'alarm' }), { message: /--mode = "alarm": must be notrack or ftfw/ });
  t.throws(() => scenarioParams('sync', { lossPct: 101 }), { message: /--loss-pct = 101: must be between 0 and 100/ });
  t.notThrows(() => scenarioParams('sync', { mode: 'ftfw', lossPct: 100 }));
  t.throws(() => scenarioParams('conntrack-e', { buffer: 5 }), {
    message: /--buffer .*is not an option of live conntrack-e/,
  });
});
