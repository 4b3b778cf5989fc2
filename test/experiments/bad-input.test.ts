// Bad input, as users type it: every case ends in one line naming the field or argument and
// what is allowed, exit code 2, no stack, and nothing created. Set NFCT_BAD_INPUT_TABLE=<file>
// to get the table (input, exit code, message, anything written) as Markdown.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../experiments/cli.js';

const root = mkdtempSync(join(tmpdir(), 'nfct-bad-'));
const OUT = join(root, 'out'); // must never come to exist
const file = join(root, 'a-file.txt');
writeFileSync(file, 'not a folder\n');
const badJson = join(root, 'bad.json');
writeFileSync(badJson, '{"preset": ');
const wrongShape = join(root, 'shape.json');
writeFileSync(wrongShape, '{"preset": "linux-6.18"}');
const emptyDir = join(root, 'empty');
mkdirSync(emptyDir);

const o = ['--out', OUT];
const run = (...a: string[]): string[] => ['run', 'flush', '--quick', ...a, ...o];
const set = (kv: string): string[] => run('--set', kv);

const CASES: string[][] = [
  // experiments, presets, runs, jobs, seeds, shards
  ['run', 'flsuh', ...o],
  ['run', ...o],
  run('--preset', 'linux-9'),
  run('--runs', '0'),
  run('--runs', '-3'),
  run('--runs', 'many'),
  run('--runs', '1000000000'),
  run('--runs', '9000'),
  run('--jobs', '0'),
  run('--jobs', '1000'),
  run('--seed', '-1'),
  run('--seed', '1.5'),
  run('--shard', '3/2'),
  run('--shard', '0/2'),
  run('--shard', 'a/b'),
  run('--shard', '1'),
  run('--bogus'),
  // --set: syntax, paths, types, values
  set('kernel.hz'),
  set('=3'),
  set('kernel.nope=1'),
  set('kernel.timeouts.udp=3'),
  set('workloads.0.rateHZ=3'),
  set('listeners.5.reader.costUs.us=3'),
  set('workloads.3.flows=3'),
  set('nothing.at.all=1'),
  set('kernel.hz=1234'),
  set('kernel.hz="fast"'),
  set('kernel.era="E9"'),
  set('kernel.cpus=0'),
  set('kernel.cpus=1000'),
  set('kernel.adminCpu=5'),
  set('kernel.buckets=0'),
  set('kernel.max=-1'),
  set('kernel.eventsSysctl=5'),
  set('kernel.retryTimeoutS=0'),
  set('kernel.retryJitter=3'),
  set('kernel.workBatch=0'),
  set('kernel.missedResend="sometimes"'),
  set('kernel.flushAttempts=3'),
  set('kernel.earlyDrop="random"'),
  set('kernel.gc="gc-9"'),
  set('kernel.gc="none"'),
  set('kernel.idScheme="uuid"'),
  set('kernel.timerWheel="hierarchical"'),
  set('kernel.latency={"kind":"gaussian"}'),
  set('kernel.latency={"kind":"uniform","maxUs":-1}'),
  set('kernel.timeouts.udpS=0'),
  set('kernel.timeouts.tcp.establishedS=0'),
  set('kernel.workerCostNs=-1'),
  set('kernel.flushCostNs=1e12'),
  set('netlink.admission="C"'),
  set('netlink.sockMinRcvbuf=-1'),
  set('netlink.rmemDefault="big"'),
  set('netlink.truesize.newUdp=0'),
  set('listeners.0.kind="tcpdump"'),
  set('listeners.0.version="2.0"'),
  set('listeners.0.netlinkBufferSize=-1'),
  set('listeners.0.groups=[9]'),
  set('listeners.0.reader.costUs.us=-5'),
  set('listeners.0.reader.costUs={"kind":"weird"}'),
  set('listeners.0.reader.slowdown=0'),
  set('listeners.0.iterationLimit=-1'),
  set('listeners.0.overrunResyncS=-1'),
  set('listeners.0.sync.mode="carrier-pigeon"'),
  set('listeners.0.sync.linkLoss=2'),
  set('workloads.0.kind="sctp"'),
  set('workloads.0.arrivals="bursty"'),
  set('workloads.0.rateHz=0'),
  set('workloads.0.flows=-1'),
  set('workloads.0.flows=100000000'),
  set('workloads.0.stopS=1e9'),
  set('workloads.0.replyProb=2'),
  set('workloads.0.addresses.src="10.0.0.300/16"'),
  set('workloads.0.addresses.dst="fd00::1/128"'),
  set('workloads.0.addresses.family="ipx"'),
  set('workloads.0.addresses.sport=[2000,1000]'),
  set('workloads.0.addresses.dport=[0,53]'),
  set('workloads.0.addresses={"family":"ipv4","src":"10.0.0.0/30","dst":"10.1.0.1/32","sport":[1,1],"dport":[53,53]}'),
  set('durationS=0'),
  set('durationS=1e8'),
  set('sampleMs=-1'),
  set('actions.0.atS=-1'),
  set('actions.0.kind="reboot"'),
  set('preset="linux-0.1"'),
  set('workloads=3'),
  // config files and output folders
  run('--config', '/nonexistent.json'),
  run('--config', badJson),
  run('--config', wrongShape),
  run('--config', emptyDir),
  ['run', 'flush', '--quick', '--out', ''],
  ['run', 'flush', '--quick', '--out', '/proc/nfct-x'],
  ['run', 'flush', '--quick', '--out', '/sys/nfct-x'],
  ['run', 'flush', '--quick', '--out', join(file, 'x')],
  ['run', 'flush', '--quick', '--out', file],
  // merge, report, compare
  ['merge', '/nonexistent', ...o],
  ['merge', emptyDir, ...o],
  ['merge', emptyDir],
  ['report', file],
  ['report', '/nonexistent'],
  ['report', emptyDir],
  ['compare', '/nonexistent', emptyDir, ...o],
  ['compare', emptyDir, emptyDir, ...o],
  ['compare', file, file, ...o],
  // trace and fixture
  ['trace', 'no-such-scenario', ...o],
  ['trace', badJson, ...o],
  ['trace', wrongShape, ...o],
  ['fixture', 'no-such-scenario', ...o],
  ['fixture', '/nonexistent.json', ...o],
  ['trace', 'flush-reliable', '--seed', 'x', ...o],
  ['fixture', 'flush-reliable', '--out', '/proc/nfct-x'],
  // live scenarios (refused before any measurement, as non-root too)
  ['live', 'floosh', '--simulate', ...o],
  ['live', 'flush', '--max', '3000', '--simulate', ...o],
  ['live', 'flush', '--max', '5', '--simulate', ...o],
  ['live', 'capacity', '--buffers', 'junk', '--simulate', ...o],
  ['live', 'capacity', '--buffers', '0,2048', '--simulate', ...o],
  ['live', 'capacity', '--repeats', '0', '--simulate', ...o],
  ['live', 'expiry', '--entries', '10', '--simulate', ...o],
  ['live', 'exhaustion', '--unreliable', '--simulate', ...o],
  ['live', 'flush', '--simulate', '--out', ''],
  // presets and unknown commands
  ['presets', '--diff', 'linux-6.18'],
  ['presets', '--diff', 'linux-6.18', 'linux-9'],
  ['frobnicate'],
  ['validate', '--repeats', '0', ...o],
];

async function attempt(argv: string[]): Promise<{ code: number; err: string }> {
  const lines: string[] = [];
  const orig = { error: console.error, log: console.log, write: process.stderr.write.bind(process.stderr) };
  console.error = (...a: unknown[]) => void lines.push(a.join(' '));
  console.log = () => {};
  process.stderr.write = ((s: string | Uint8Array) => (
    lines.push(String(s).trimEnd()),
    true
  )) as typeof process.stderr.write;
  try {
    return { code: await main(argv), err: lines.join('\n').trim() };
  } finally {
    console.error = orig.error;
    console.log = orig.log;
    process.stderr.write = orig.write;
  }
}

test(`${CASES.length} bad inputs: each one line naming what is wrong, exit code 2, nothing created`, async (t) => {
  t.true(CASES.length >= 100);
  const table: string[] = ['| input | exit | message | written |', '| --- | --- | --- | --- |'];
  for (const argv of CASES) {
    const before = readdirSync(root).length;
    const { code, err } = await attempt(argv);
    const written = existsSync(OUT) || readdirSync(root).length !== before;
    const show = argv.join(' ').replaceAll(root, '$TMP');
    table.push(
      `| \`${show}\` | ${code} | ${err.replaceAll(root, '$TMP').replaceAll('|', '\\|')} | ${written ? 'yes' : 'nothing'} |`,
    );
    t.is(code, 2, show);
    t.is(err.split('\n').length, 1, `one line for ${show}: ${err}`);
    t.regex(err, /^(nfct-sim: .+ = .*: .+|error: .+)$/, show);
    t.notRegex(err, /\n\s+at /, `no stack for ${show}`);
    t.false(written, `nothing written for ${show}`);
  }
  if (process.env.NFCT_BAD_INPUT_TABLE) writeFileSync(process.env.NFCT_BAD_INPUT_TABLE, table.join('\n') + '\n');
});
