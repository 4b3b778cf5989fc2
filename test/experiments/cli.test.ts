// The command line as users drive it: separate processes, exit codes, files.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = new URL('../../experiments/cli.ts', import.meta.url).pathname;
function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    cwd: new URL('../..', import.meta.url).pathname,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const tmp = (): string => mkdtempSync(join(tmpdir(), 'nfct-cli-'));
const SMALL = [
  '--quick',
  '--runs',
  '2',
  '--quiet',
  '--set',
  'workloads.0.flows=100',
  '--set',
  'workloads.0.rateHz=400',
  '--set',
  'durationS=15',
];

test('bad input: one line naming the problem, exit code 2, nothing written', (t) => {
  const out = join(tmp(), 'never');
  const cases: [string[], RegExp][] = [
    [['run', 'flsuh', '--out', out], /^nfct-sim: experiment = "flsuh": must be one of seed-stress, flush, retry-delay/],
    [
      ['run', 'flush', '--preset', 'linux-9', '--out', out],
      /^nfct-sim: preset = "linux-9": must be one of linux-2.6.30/,
    ],
    [['run', 'flush', '--set', 'kernel.nope=1', '--out', out], /^nfct-sim: kernel.nope = 1: is not a config path/],
    [
      ['run', 'flush', '--set', 'kernel.hz=1234', '--out', out],
      /^nfct-sim: kernel.hz = 1234: must be one of 100, 250, 300, 1000/,
    ],
    [['run', 'flush', '--set', 'kernel.hz="fast"', '--out', out], /^nfct-sim: kernel.hz = "fast": must be a number/],
    [
      ['run', 'flush', '--shard', '3/2', '--out', out],
      /^nfct-sim: shard = "3\/2": must be k\/n with whole numbers 1 <= k <= n/,
    ],
    [['run', 'flush', '--runs', '0', '--out', out], /--runs must be an integer >= 1/],
    [
      ['run', 'flush', '--config', '/nonexistent.json', '--out', out],
      /^nfct-sim: config = "\/nonexistent.json": must be a readable JSON file/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.err.trim(), re);
    t.is(r.err.trim().split('\n').length, 1, `one line for ${args.join(' ')}`);
    t.false(existsSync(out), `nothing written for ${args.join(' ')}`);
  }
  const bad = join(tmp(), 'bad.json');
  writeFileSync(bad, '{"preset": ');
  const r = cli('run', 'flush', '--config', bad, '--out', out);
  t.is(r.code, 2);
  t.regex(r.err, /config = ".*bad.json": must be valid JSON/);
});

test('an unwritable output folder is refused before any work', (t) => {
  const d = tmp();
  chmodSync(d, 0o500);
  const r = cli('run', 'flush', '--out', join(d, 'x', 'y'), ...SMALL, '--runs', '1', '--set', 'preset="linux-6.18"');
  chmodSync(d, 0o700);
  // root may write anyway; then the run must simply succeed
  if (r.code === 0) t.pass();
  else {
    t.is(r.code, 2);
    t.regex(r.err, /out = ".*": must be a writable folder/);
  }
});

test('two shards run as separate processes and merged equal the single run byte for byte', (t) => {
  const whole = tmp();
  const s1 = tmp();
  const s2 = tmp();
  const merged = tmp();
  t.is(cli('run', 'flush', '--out', whole, '--jobs', '1', ...SMALL).code, 0);
  t.is(cli('run', 'flush', '--out', s1, '--shard', '1/2', '--jobs', '2', ...SMALL).code, 0);
  t.is(cli('run', 'flush', '--out', s2, '--shard', '2/2', '--jobs', '1', ...SMALL).code, 0);
  const m = cli('merge', s2, s1, '--out', merged);
  t.is(m.code, 0, m.err);
  for (const f of readdirSync(whole).filter((x) => /\.(csv|svg|md)$/.test(x)))
    t.is(readFileSync(join(merged, f), 'utf8'), readFileSync(join(whole, f), 'utf8'), f);
  const missing = cli('merge', s1, '--out', tmp());
  t.is(missing.code, 2);
  t.regex(missing.err, /must together cover every task once \(task 1 is missing\)/);
});

test('--resume completes an interrupted run with the same result', (t) => {
  const whole = tmp();
  const part = tmp();
  t.is(cli('run', 'flush', '--out', whole, ...SMALL).code, 0);
  t.is(cli('run', 'flush', '--out', part, ...SMALL).code, 0);
  // Simulate an interruption: drop half the finished tasks and every output but params.json.
  const tasks = readdirSync(join(part, 'tasks'));
  for (const f of tasks.slice(0, Math.ceil(tasks.length / 2))) rmSync(join(part, 'tasks', f));
  for (const f of readdirSync(part)) if (f !== 'tasks' && f !== 'params.json') rmSync(join(part, f));
  t.is(cli('run', 'flush', '--out', part, '--resume', ...SMALL).code, 0);
  t.is(readFileSync(join(part, 'results.csv'), 'utf8'), readFileSync(join(whole, 'results.csv'), 'utf8'));
  const other = cli('run', 'flush', '--out', part, '--resume', ...SMALL, '--seed', '2');
  t.is(other.code, 2);
  t.regex(
    other.err,
    /resume = ".*": holds another run \(\d+ task files of digest [0-9a-f]{12}, this run is [0-9a-f]{12}\)/,
  );
});

test('list and presets --diff', (t) => {
  const l = cli('list');
  t.is(l.code, 0);
  t.regex(l.out, /seed-stress/);
  t.regex(l.out, /linux-6\.18-fixed/);
  const d = cli('presets', '--diff', 'linux-6.18', 'linux-6.18-fixed');
  t.is(d.code, 0);
  t.deepEqual(
    d.out
      .trim()
      .split('\n')
      .slice(1)
      .map((x) => x.split(/\s+/)[0])
      .sort(),
    ['kernel.ecacheFixedTimeCheck', 'kernel.version'],
  );
});

test('trace and fixture: the same named scenario gives the same fingerprint; the fixture follows its schema', (t) => {
  const a = tmp();
  const b = tmp();
  const tr = cli('trace', 'flush-reliable', '--out', a);
  t.is(tr.code, 0, tr.err);
  const fx = cli('fixture', 'flush-reliable', '--out', b);
  t.is(fx.code, 0, fx.err);
  const fp = /fingerprint ([0-9a-f]{8})/.exec(tr.out)![1];
  t.is(readFileSync(join(a, 'fingerprint.txt'), 'utf8').trim(), fp!);
  t.regex(fx.out, new RegExp(`fingerprint ${fp!}`));
  const lines = readFileSync(join(b, 'fixture.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.true(lines.length > 400);
  for (const l of lines) {
    t.true(typeof l.t_ns === 'number' && typeof l.listener === 'string');
    if (l.kind === 'msg')
      t.deepEqual(Object.keys(l).sort(), [
        'conntrack',
        'dport',
        'dst',
        'duplicate',
        'events',
        'family',
        'flags',
        'id',
        'kind',
        'listener',
        'portid',
        'proto',
        'sport',
        'src',
        'status',
        't_ns',
        'timeout_s',
        'tuple',
        'type',
      ]);
    else t.true(['enobufs', 'exit', 'resync'].includes(l.kind as string));
  }
  t.true(lines.some((l) => l.duplicate === true)); // conntrack -E sees the retries
  t.true(lines.slice(1).every((l, i) => (l.t_ns as number) >= (lines[i]!.t_ns as number)));
  const bad = cli('fixture', 'nope', '--out', tmp());
  t.is(bad.code, 2);
  t.regex(bad.err, /scenario = "nope": must be one of flush-reliable/);
  const badFormat = cli('fixture', 'flush-reliable', '--format', 'csv', '--out', join(tmp(), 'x'));
  t.is(badFormat.code, 2);
  t.regex(badFormat.err, /--format.*csv.*jsonl, pcap, conntrack/);
});

test('a study on the machine model: --set machine.* adds the default machine, the answer says which, the CSV differs from the ideal machine', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nfct-machine-'));
  const on = cli('run', 'table-full', '--quick', '--quiet', '--set', 'machine.cpus=1', '--out', join(dir, 'on'));
  t.is(on.code, 0, on.err);
  t.regex(on.out, /On 1 CPU \(HZ 250\) with a background load of 0 runnable tasks/);
  const params = JSON.parse(readFileSync(join(dir, 'on', 'params.json'), 'utf8'));
  t.is(params.base.machine.cpus, 1);
  const off = cli('run', 'table-full', '--quick', '--quiet', '--out', join(dir, 'off'));
  t.is(off.code, 0, off.err);
  t.notRegex(off.out, /background load/);
  t.not(readFileSync(join(dir, 'on', 'results.csv'), 'utf8'), readFileSync(join(dir, 'off', 'results.csv'), 'utf8'));
  const bad = cli('run', 'table-full', '--quick', '--set', 'machine.background.runnable=-1', '--out', join(dir, 'bad'));
  t.is(bad.code, 2);
  t.is(bad.err.trim(), 'nfct-sim: machine.background.runnable = -1: must be a number in [0, 1024]');
  t.false(existsSync(join(dir, 'bad')));
  rmSync(dir, { recursive: true, force: true });
});
