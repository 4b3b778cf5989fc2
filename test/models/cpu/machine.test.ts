// The machine model's scheduler contract in isolation (issue #13), with times derived by hand
// from the rules in models/cpu/machine.ts: HZ 250 (a tick every 4 ms), latency 12 ms, minimum
// granularity 1.5 ms, wake-up granularity 2 ms. With two runnable tasks a slice is 6 ms, so a
// task is preempted at the first tick at least 6 ms into its stretch when the other one is
// strictly behind it in virtual runtime.
import test from 'ava';
import { ms, us } from '../../../sim/index.js';
import { DEFAULT_MACHINE, DEFAULT_MACHINE_SETUP, Machine, validateMachine } from '../../../models/cpu/machine.js';
import { ConfigError } from '../../../sim/index.js';
import type { Draft } from 'immer';
import type { WorldConfig } from '../../../models/world.js';
import { parseScenario } from '../../../models/scenario.js';
import { msgs, raw, reader, world } from '../../helpers/world.js';

import { machine } from '../../helpers/machine.js';

test('two hogs on one CPU take turns: 8 ms, then 12, then 8 ms stretches (the first tick past the 6 ms slice with the other strictly behind)', (t) => {
  const { m, at, until } = machine({ cpus: 1 });
  const tasks: { a?: ReturnType<Machine['hog']>; b?: ReturnType<Machine['hog']> } = {};
  at(0, () => {
    tasks.a = m.hog('a');
    tasks.b = m.hog('b');
  });
  const cpu = (): [number, number] => [tasks.a!.cpuNs / 1e6, tasks.b!.cpuNs / 1e6];
  until(ms(8));
  t.deepEqual(cpu(), [8, 0]);
  until(ms(20)); // b from 8; at 16 both have 8 ms of virtual runtime: no switch on a tie
  t.deepEqual(cpu(), [8, 12]);
  until(ms(28));
  t.deepEqual(cpu(), [16, 12]);
  until(ms(36));
  t.deepEqual(cpu(), [16, 20]);
  until(ms(1000));
  const [a, b] = cpu();
  t.true(Math.abs(a - b) <= 12, `${a} vs ${b}`); // never more than one long stretch apart
  t.is(a + b, 1000);
});

test('a task sharing one CPU with a hog gets half of it: 100 ms of work done at 196 ms', (t) => {
  const { m, at, until } = machine({ cpus: 1 });
  let doneAt = -1;
  at(0, () => {
    m.hog('hog');
    m.run(m.task('work'), ms(100), (ctx) => void (doneAt = ctx.now));
  });
  until(ms(400));
  // work: 8-20, then 8 ms every 16 ms from 28: 12 + 11 x 8 = 100 ms, the last stretch 188-196.
  t.is(doneAt, ms(196));
});

test('a woken reader preempts a hog at once (sleeper credit beyond the wake-up granularity); a long burst is preempted at a tick and finishes later', (t) => {
  const { m, at, until } = machine({ cpus: 1 });
  const seen: { short?: number; long?: number } = {};
  const reader = m.task('reader');
  let hog: ReturnType<Machine['hog']>;
  at(0, () => void (hog = m.hog('hog')));
  at(ms(50), () => m.run(reader, us(20), (ctx) => void (seen.short = ctx.now)));
  until(ms(51));
  t.is(seen.short, ms(50) + us(20)); // placed at 50 - 6 = 44 ms of virtual runtime: 6 ms behind the hog > 2 ms
  t.is(reader.waitNs, 0);
  t.is(hog!.preemptions, 1);
  // A 12 ms burst from 100 ms: placed 6 ms behind; preempted at the 108 ms tick (ran 8 ms, 2 ms
  // ahead of the hog), resumes at the 116 ms tick (the hog ran 8 ms), done at 120 ms.
  at(ms(100), () => m.run(reader, ms(12), (ctx) => void (seen.long = ctx.now)));
  until(ms(200));
  t.is(seen.long, ms(120));
  t.is(reader.waitNs, ms(8));
  t.is(reader.preemptions, 1);
});

test('a reader that wakes on a second, idle CPU runs at once and takes nothing from the hog', (t) => {
  const { m, at, until } = machine({ cpus: 2 });
  let hog: ReturnType<Machine['hog']>;
  let done = -1;
  at(0, () => void (hog = m.hog('hog')));
  at(ms(10), () => m.run(m.task('reader'), us(30), (ctx) => void (done = ctx.now)));
  until(ms(20));
  t.is(done, ms(10) + us(30));
  t.is(hog!.preemptions, 0);
  t.is(hog!.cpuNs, ms(20));
});

test('N runnable tasks on M CPUs: every CPU is used; three hogs on two CPUs get 100, 50 and 50 %', (t) => {
  const { m, at, until } = machine({ cpus: 2 });
  let hogs: ReturnType<Machine['hog']>[] = [];
  at(0, () => void (hogs = ['a', 'b', 'c'].map((n) => m.hog(n))));
  until(ms(3000));
  const shares = hogs.map((h) => h.cpuNs / ms(3000)).sort((x, y) => y - x);
  t.is(
    hogs.reduce((s, h) => s + h.cpuNs, 0),
    2 * ms(3000),
  );
  t.is(shares[0], 1);
  // The two sharing one CPU are never more than one long stretch (12 ms) apart.
  t.true(Math.abs(shares[1]! - shares[2]!) <= 12 / 3000, shares.join(' '));
  // Four hogs on two CPUs: the idle balancer spreads them two and two.
  const m2 = machine({ cpus: 2 });
  let four: ReturnType<Machine['hog']>[] = [];
  m2.at(0, () => void (four = ['a', 'b', 'c', 'd'].map((n) => m2.m.hog(n))));
  m2.until(ms(3000));
  for (const h of four) t.true(Math.abs(h.cpuNs / ms(3000) - 0.5) <= 12 / 3000, `${h.name} ${h.cpuNs}`);
});

test('background load: with k hogs on one CPU a task needing W of CPU takes about (k + 1) W', (t) => {
  for (const k of [0, 1, 2, 3]) {
    const { m, at, until } = machine({ cpus: 1 });
    let doneAt = -1;
    at(0, () => {
      for (let i = 0; i < k; i++) m.hog(`hog${i}`);
      m.run(m.task('work'), ms(300), (ctx) => void (doneAt = ctx.now));
    });
    until(ms(3000));
    // Within one scheduling period (the latency, 12 ms, or the minimum slices of k + 1 tasks).
    const period = Math.max(12, 1.5 * (k + 1)) + 4;
    t.true(Math.abs(doneAt / 1e6 - 300 * (k + 1)) <= period * (k + 1), `k=${k}: ${doneAt / 1e6} ms`);
  }
});

test('the machine is deterministic and its config is validated field by field', (t) => {
  const trace = (): number[] => {
    const { m, at, until } = machine({ cpus: 2 });
    const tasks = ['a', 'b', 'c'].map((n) => m.task(n));
    for (let i = 0; i < 50; i++)
      at(ms(i * 7), () => tasks.forEach((x, j) => x.state === 'sleeping' && m.run(x, us(300 * (j + 1)))));
    at(0, () => m.hog('h'));
    until(ms(500));
    return tasks.map((x) => x.cpuNs + x.waitNs);
  };
  t.deepEqual(trace(), trace());
  t.throws(() => validateMachine({ ...DEFAULT_MACHINE, cpus: 0 }), {
    instanceOf: ConfigError,
    message: 'machine.cpus = 0: must be an integer in [1, 1024]',
  });
  t.throws(() => validateMachine({ ...DEFAULT_MACHINE, smt: true }), {
    instanceOf: ConfigError,
    message: /machine.smt/,
  });
  const { m, at, until } = machine();
  let error = '';
  at(0, () => {
    const h = m.hog('x');
    try {
      m.run(h, 1);
    } catch (e) {
      error = (e as Error).message;
    }
  });
  until(ms(1));
  t.is(error, 'task x is already running');
});

// Listeners on the machine (models/listeners/listener.ts with WorldConfig.machine).
const udp = (tuple: number) => ({ kind: 'packet' as const, tuple, proto: 'udp' as const });
const onMachine = (cpus: number, hogs: number) => (d: Draft<WorldConfig>) =>
  void (d.machine = {
    ...DEFAULT_MACHINE,
    cpus,
    background: { runnable: hogs, burstMs: 5 },
    costs: DEFAULT_MACHINE_SETUP.costs,
  });

test('a listener on an idle machine reads exactly as one with a CPU of its own (the wake-up is its CPU time)', (t) => {
  const burst = (edit?: (d: Draft<WorldConfig>) => void) => {
    const w = world('linux-6.18', [raw({ rcvbufBytes: 1 << 20, broadcastError: false, reader: reader(10, 20) })], edit);
    for (let i = 0; i < 300; i++) w.at(us(5 * i), udp(1000 + 2 * i));
    w.sim.run({ until: ms(50) });
    return msgs(w.listeners[0]!.log).map((m) => m.t);
  };
  const alone = burst();
  t.is(alone.length, 300);
  t.deepEqual(burst(onMachine(2, 0)), alone);
  t.deepEqual(burst(onMachine(2, 1)), alone); // the hog runs on the other CPU
});

test('background load: one hog on a one-CPU machine makes a reader that keeps up alone lose events in stretches', (t) => {
  const run = (hogs: number) => {
    // 2000 flows 10 us apart into a 51-event buffer; the reader needs 5 us per message.
    const w = world(
      'linux-6.18',
      [raw({ rcvbufBytes: 65536, broadcastError: false, reader: reader(5, 20) })],
      onMachine(1, hogs),
    );
    for (let i = 0; i < 2000; i++) w.at(us(10 * i), udp(1000 + 2 * i));
    w.sim.run({ until: ms(100) });
    return { l: w.listeners[0]!, m: w.machine! };
  };
  const idle = run(0);
  t.is(idle.l.stats.received.new, 2000);
  t.is(idle.l.stats.enobufs, 0);
  const busy = run(1);
  t.true(busy.l.stats.enobufs > 0);
  t.true(busy.l.stats.received.new < 2000);
  // The hog got the CPU for whole ticks at a time: gaps of at least a tick (4 ms) between messages.
  const times = msgs(busy.l.log).map((m) => m.t);
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  t.true(Math.max(...gaps) >= ms(4), `longest gap ${Math.max(...gaps)}`);
  const hog = busy.m.tasks.find((x) => x.name === 'background-0')!;
  t.true(hog.cpuNs > ms(40), `hog ${hog.cpuNs}`); // it kept a large share
});

test('a scenario names its machine; a bad machine field is refused with its path', (t) => {
  const sc = {
    preset: 'linux-6.18',
    kernel: {},
    netlink: {},
    listeners: [],
    workloads: [],
    actions: [],
    durationS: 1,
    sampleMs: 0,
  };
  t.notThrows(() =>
    parseScenario({ ...sc, machine: { ...DEFAULT_MACHINE_SETUP, background: { runnable: 2, burstMs: 5 } } }),
  );
  t.throws(
    () => parseScenario({ ...sc, machine: { ...DEFAULT_MACHINE_SETUP, background: { runnable: -1, burstMs: 5 } } }),
    {
      instanceOf: ConfigError,
      message: 'machine.background.runnable = -1: must be a number in [0, 1024]',
    },
  );
  t.throws(() => parseScenario({ ...sc, machine: { ...DEFAULT_MACHINE_SETUP, cpus: 0 } }), {
    instanceOf: ConfigError,
    message: 'machine.cpus = 0: must be an integer in [1, 1024]',
  });
});
