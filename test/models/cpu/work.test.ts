// The machine beyond the scheduler core (issue #13): background load, work charged to a task,
// kernel jobs that run as one stretch, synchronous wake-ups, senders and pipe readers on the
// CPUs, condition-triggered actions and `--set machine.*`. Times are derived by hand from the
// rules in models/cpu/machine.ts (HZ 250, latency 12 ms, wake-up granularity 2 ms).
import test from 'ava';
import { ConfigError, ms, s, us, type Ctx } from '../../../sim/index.js';
import { DEFAULT_MACHINE_SETUP, validateMachineSetup, type MachineSetup } from '../../../models/cpu/machine.js';
import { KernelWork } from '../../../models/cpu/work.js';
import { CtTable, NIL } from '../../../models/kernel/table.js';
import { DUMP_BATCH, DUMP_FIRST_BATCH, dumpSplit } from '../../../models/kernel/delete-command.js';
import { buildScenario, parseScenario, setScenarioPath, type ScenarioConfig } from '../../../models/scenario.js';
import { machine } from '../../helpers/machine.js';
import { raw, reader } from '../../helpers/world.js';
import { unrepliedFlows } from '../../../experiments/live/twin.js';

test('fractional background load: a process busy half the time gets half of an otherwise idle CPU (within 4 sigma of 2000 busy/idle cycles)', (t) => {
  const { m, at, until } = machine({ cpus: 1 });
  at(0, () => m.background(0.5, 5));
  until(s(20));
  const busy = m.tasks.find((x) => x.name === 'background-busy')!;
  // Busy and idle periods are exponential with the same 5 ms mean: N = 20 s / 10 ms cycles, and
  // the share S_on / (S_on + S_off) has a variance of about 1 / (8 N).
  const n = 20_000 / 10;
  const sigma = Math.sqrt(1 / (8 * n));
  const share = busy.cpuNs / s(20);
  t.true(Math.abs(share - 0.5) <= 4 * sigma, `share ${share}, sigma ${sigma}`);
  t.true(busy.wakeups > n * 0.9 && busy.wakeups < n * 1.1, `${busy.wakeups} busy periods`);
});

test('background runnable 2.25 is two hogs and one process busy a quarter of the time; 2 is two hogs exactly', (t) => {
  for (const [runnable, names] of [
    [2.25, ['background-0', 'background-1', 'background-busy']],
    [2, ['background-0', 'background-1']],
    [0, []],
  ] as const) {
    const { m, at, until } = machine({ cpus: 2 });
    at(0, () => m.background(runnable, 5));
    until(ms(100));
    t.deepEqual(
      m.tasks.map((x) => x.name),
      [...names],
    );
  }
});

test('charge: a sleeping task wakes for the work; a running one finishes that much later', (t) => {
  const { m, at, until } = machine({ cpus: 1 });
  const a = m.task('a');
  const b = m.task('b');
  let doneB = -1;
  at(0, () => m.charge(a, ms(3)));
  at(ms(10), () => m.run(b, ms(2), (ctx) => void (doneB = ctx.now)));
  at(ms(11), () => m.charge(b, ms(1)));
  until(ms(20));
  t.is(a.cpuNs, ms(3));
  t.is(a.state, 'sleeping');
  t.is(doneB, ms(13));
  t.is(b.cpuNs, ms(3));
});

test('a kernel job in steps runs as one stretch: ten 100 us steps beside a hog take 1 ms from one wake-up', (t) => {
  const { m, sim, at, until } = machine({ cpus: 1 });
  const work = new KernelWork(m, DEFAULT_MACHINE_SETUP.costs);
  let steps = 0;
  let endedAt = -1;
  sim.spawn('job', {
    receive: (_msg: { kind: 'next' }, ctx: Ctx) => {
      if (steps === 10) {
        work.release('job');
        endedAt = ctx.now;
        return;
      }
      steps++;
      work.step('job', us(100), (mctx) => mctx.send('job', { kind: 'next' }));
    },
  });
  let hog: ReturnType<typeof m.hog>;
  at(0, () => void (hog = m.hog('hog')));
  // Woken at 50 ms it is placed 6 ms behind the hog (more than the 2 ms wake-up granularity):
  // it preempts at once and keeps the CPU through its ten steps.
  at(ms(50), () => sim.send('job', { kind: 'next' }));
  until(ms(60));
  const job = work.task('job');
  t.is(endedAt, ms(51));
  t.is(job.cpuNs, ms(1));
  t.is(job.wakeups, 1);
  t.is(job.state, 'sleeping');
  t.is(hog!.preemptions, 1);
});

test('a synchronous wake-up goes to an idle CPU if there is one, else to the waker when it is alone on its CPU', (t) => {
  const { m, at, until } = machine({ cpus: 2 });
  const waker = m.task('waker', undefined, 1);
  const pipe = m.task('pipe', undefined, 0);
  const plain = m.task('plain', undefined, 0);
  const seen: Record<string, number | undefined> = {};
  at(0, () => m.run(waker, ms(50)));
  at(ms(1), () => {
    m.charge(pipe, us(100), waker); // CPU 0 is idle: there
    seen.idle = m.runningOn(pipe);
  });
  at(ms(2), () => void m.hog('hog', 0));
  at(ms(3), () => {
    m.charge(pipe, us(100), waker); // no idle CPU: the waker's (CPU 1), preempting it
    seen.sync = m.runningOn(pipe);
    m.charge(plain, us(100)); // no waker: its previous CPU (0), waiting behind the hog it does not preempt
    seen.plain = plain.state === 'runnable' ? plain.cpu : undefined;
  });
  until(ms(4));
  t.deepEqual(seen, { idle: 0, sync: 1, plain: 0 });
});

const base = (o: Partial<ScenarioConfig> = {}): ScenarioConfig => ({
  preset: 'linux-6.18',
  kernel: {},
  netlink: {},
  listeners: [raw({ rcvbufBytes: 1 << 22, broadcastError: false, reader: reader(2) })],
  workloads: [unrepliedFlows({ rateHz: 10_000, flows: 1000, startS: 1, stopS: 2, tupleBase: 1_000_000 })],
  actions: [],
  durationS: 3,
  sampleMs: 0,
  ...o,
});
const costs = (packetUs: number, broadcastUs: number): MachineSetup => ({
  ...DEFAULT_MACHINE_SETUP,
  costs: { ...DEFAULT_MACHINE_SETUP.costs, packetUs, broadcastUs },
});

test('a sender on the machine: each packet costs packetUs + broadcastUs per listener, so asked for 10 M flows/s it sends one every 6 us', (t) => {
  const sc = base({
    workloads: [unrepliedFlows({ rateHz: 1e7, flows: 1000, startS: 1, stopS: 2, tupleBase: 1_000_000 })],
    machine: costs(5, 1),
  });
  const run = buildScenario(parseScenario(sc), { seed: 1, run: 0 });
  run.run();
  const g = run.workloads[0]!;
  t.is(g.firstSentNs, s(1) + us(6));
  t.is(g.lastSentNs - g.firstSentNs, 999 * us(6));
  t.true(g.finishedAt(run.world.sim.now));
  t.is(run.world.kernel.view.table.count, 1000);
  t.is(run.world.listeners[0]!.stats.received.new, 1000);
  // Without a machine the same workload is a perfect clock and keeps no send times.
  const ideal = buildScenario(parseScenario({ ...sc, machine: undefined }), { seed: 1, run: 0 });
  ideal.run();
  t.true(Number.isNaN(ideal.workloads[0]!.lastSentNs));
  t.is(ideal.world.kernel.view.table.count, 1000);
});

test('actions on a condition: the flush runs at the first check that sees 500 entries, afterMs later; another when the workload is done', (t) => {
  // Flows every 100 us from 1 s; checks every 0.7 ms from 1 s: at 1.0497 s 498 flows exist, at
  // 1.0504 s 505 (the flush 2.05 ms later, between two arrivals). The sender's last flow starts at 1.0999 s and it knows it is done at its next
  // arrival, 1.1 s: the first check after that is at 1.1001 s.
  const sc = base({
    actions: [
      { atS: 1, kind: 'flush', when: { kind: 'count-at-least', value: 500, everyMs: 0.7, afterMs: 2.05 } },
      { atS: 1, kind: 'dump', when: { kind: 'workload-done', workload: 0, everyMs: 0.7 } },
      { atS: 2.5, kind: 'sysctl', name: 'max', value: 100 },
    ],
  });
  const run = buildScenario(parseScenario(sc), { seed: 1, run: 0 });
  run.run();
  t.deepEqual(run.fired, [1e9 + 72 * 700_000 + 2_050_000, 1e9 + 143 * 700_000, s(2.5)]);
  // The flush took what existed at 1.05245 s: flows 0 … 524.
  t.is(run.world.kernel.view.table.count, 1000 - 525);
  const never = buildScenario(
    parseScenario(
      base({ actions: [{ atS: 0, kind: 'flush', when: { kind: 'count-at-most', value: 0, everyMs: 500 } }] }),
    ),
    { seed: 1, run: 0 },
  );
  never.run();
  t.deepEqual(never.fired, [0]); // the table is empty at 0: it holds at the first check
});

test('workload-done waits for the replies too: the last flow starts at 1.009 s, its reply is due at 1.0139 s, the action runs at the next check, 1.014 s', (t) => {
  const sc = base({
    workloads: [
      unrepliedFlows({
        rateHz: 1000,
        flows: 10,
        startS: 1,
        stopS: 2,
        tupleBase: 1_000_000,
        replyProb: 1,
        replyDelayUs: 4900,
      }),
    ],
    actions: [{ atS: 1, kind: 'dump', when: { kind: 'workload-done', workload: 0, everyMs: 0.7 } }],
  });
  const run = buildScenario(parseScenario(sc), { seed: 1, run: 0 });
  run.run();
  t.deepEqual(run.fired, [1e9 + 20 * 700_000]);
});

test('a bad condition is refused with its path and the allowed values', (t) => {
  const bad = (when: unknown, message: string | RegExp): void =>
    void t.throws(() => parseScenario(base({ actions: [{ atS: 0, kind: 'flush', when } as never] })), {
      instanceOf: ConfigError,
      message,
    });
  bad(
    { kind: 'soon' },
    'actions[0].when.kind = "soon": must be one of "count-at-most", "count-at-least", "workload-done"',
  );
  bad({ kind: 'count-at-most' }, 'actions[0].when.value = undefined: must be an integer >= 0');
  bad({ kind: 'workload-done', workload: 1 }, 'actions[0].when.workload = 1: must be an integer in [0, 0]');
  bad(
    { kind: 'count-at-most', value: 1, everyMs: 0 },
    'actions[0].when.everyMs = 0: must be a number in [0.001, 1000000]',
  );
  bad({ kind: 'count-at-most', value: 1, every: 1 }, /actions\[0\]\.when\.every/);
});

test('--set machine.* on a scenario without a machine starts from the default machine', (t) => {
  const sc = base();
  t.is(sc.machine, undefined);
  const two = setScenarioPath(sc, 'machine.cpus', 1);
  t.deepEqual(two.machine, { ...DEFAULT_MACHINE_SETUP, cpus: 1 });
  const loaded = setScenarioPath(sc, 'machine.background.runnable', 1.5);
  t.is(loaded.machine!.background.runnable, 1.5);
  t.notThrows(() => parseScenario(loaded));
  t.throws(() => setScenarioPath(sc, 'machine.cpu', 2), {
    instanceOf: ConfigError,
    message: /nearest are machine\.cpus/,
  });
  t.throws(() => setScenarioPath(sc, 'machine.cpus', '2'), { instanceOf: ConfigError, message: /must be a number/ });
});

test('a pipe reader pays wakeUs × (1 − e^(−slept/tau)) when a line wakes it, and only lineUs per line while it is busy', (t) => {
  const listener = raw({
    rcvbufBytes: 1 << 22,
    broadcastError: false,
    reader: { ...reader(2), pipe: { lineUs: 5, wakeUs: 80, wakeTauUs: 200 } },
  });
  // The pipe task after `flows` flows at `rateHz` from a sender needing `packetUs` per packet.
  const pipe = (flows: number, rateHz: number, packetUs: number) => {
    const sc = base({
      listeners: [listener],
      workloads: [unrepliedFlows({ rateHz, flows, startS: 1, stopS: 2, tupleBase: 1_000_000 })],
      machine: costs(packetUs, 1),
    });
    const run = buildScenario(parseScenario(sc), { seed: 1, run: 0 });
    run.run();
    return run.world.machine!.tasks.find((x) => x.name.endsWith('/pipe'))!;
  };
  // Asleep for a second: the whole wake-up cost (80 × (1 − e^-5000) rounds to 80 us).
  const one = pipe(1, 1000, 5);
  t.is(one.cpuNs, us(85));
  t.is(one.wakeups, 1);
  // 1000 lines 2 us apart: the pipe wakes rarely and pays 5 us for each line.
  const p = pipe(1000, 1e7, 1);
  t.true(p.wakeups < 50, `${p.wakeups} wake-ups`);
  t.true(p.cpuNs >= 1000 * us(5) && p.cpuNs <= 1000 * us(5) + p.wakeups * us(80), `${p.cpuNs}`);
});

test('on the machine the same seed gives the same run; another seed moves the background load', (t) => {
  const sc = parseScenario(
    base({
      listeners: [
        raw({
          rcvbufBytes: 16384,
          broadcastError: false,
          reader: { ...reader(20), pipe: { lineUs: 5, wakeUs: 80, wakeTauUs: 200 } },
        }),
      ],
      machine: { ...costs(5, 2), background: { runnable: 1.5, burstMs: 2 } },
    }),
  );
  const once = (seed: number) => {
    const run = buildScenario(sc, { seed, run: 0 }, { logs: true });
    run.run();
    const l = run.world.listeners[0]!;
    return {
      fingerprint: run.world.sim.fingerprint,
      received: l.stats.received.new,
      busy: run.world.machine!.tasks.find((x) => x.name === 'background-busy')!.cpuNs,
    };
  };
  t.deepEqual(once(1), once(1));
  t.not(once(1).busy, once(2).busy);
});

/** The default machine with conntrack -D / -L costs of round numbers, for hand-derived times. */
const adminMachine = (o: Partial<MachineSetup['costs']>): MachineSetup => ({
  ...DEFAULT_MACHINE_SETUP,
  costs: { ...DEFAULT_MACHINE_SETUP.costs, adminStartUs: 100, dumpBucketNs: 50, adminExitUs: 30, ...o },
});

/** Runs a scenario; the DESTROYs its listener got, as [tuple, time the kernel sent it]. */
function destroysOf(config: ScenarioConfig) {
  const run = buildScenario(parseScenario(config), { seed: 1, run: 0 });
  run.run();
  const at = run.world.listeners[0]!.log.flatMap((e) =>
    e.kind === 'msg' && e.ev.type === 'destroy' ? [[e.ev.tuple, e.ev.sentAt] as const] : [],
  );
  return { run, at };
}

test('conntrack -D on the machine: its start, its dump (per bucket and per entry) up to the batch with the entry, the deletion, then the exit; a second command given meanwhile waits; without a machine all go at once', (t) => {
  const deletes = (atS: number): ScenarioConfig['actions'] => [
    { atS, kind: 'delete', tuple: 1_000_000 },
    { atS: atS + 0.00001, kind: 'delete', tuple: 1_000_002 },
    { atS: atS + 0.00002, kind: 'delete', tuple: 1_999_998 }, // no such entry: its command still runs
  ];
  const sc = base({
    kernel: { buckets: 1000 },
    workloads: [unrepliedFlows({ rateHz: 10_000, flows: 10, startS: 1, stopS: 2, tupleBase: 1_000_000 })],
    actions: deletes(1.5),
    machine: adminMachine({ dumpEntryNs: 1000 }),
  });
  // Ten entries fit the dump's first batch: the whole dump comes before the deletion. Start 100
  // us + 1000 buckets × 50 ns + 10 entries × 1 us = 160 us, then 30 us to exit; the second
  // command (9 entries left) starts at 190 us, deletes at 349, exits at 379; the third walks 8
  // entries and finds nothing: 379 + 188 = 567 us.
  const on = destroysOf(sc);
  t.deepEqual(on.at, [
    [1_000_000, s(1.5) + us(160)],
    [1_000_002, s(1.5) + us(349)],
  ]);
  on.run.world.machine!.sync();
  const task = on.run.world.machine!.tasks.find((x) => x.name === 'conntrack -D')!;
  t.is(task.cpuNs, us(190 + 189 + 188));
  t.is(task.state, 'sleeping');
  t.is(on.run.world.kernel.view.table.count, 8);
  const off = destroysOf({ ...sc, machine: undefined });
  t.deepEqual(off.at, [
    [1_000_000, s(1.5)],
    [1_000_002, s(1.5) + us(10)],
  ]);
});

test('the dump of conntrack -D: batches of 23, then 197 entries; the batch with the entry ends in the bucket of the first entry that does not fit, the one with the last entry at the end of the walk', (t) => {
  const table = new CtTable(4096, 7);
  const slots: number[] = [];
  for (let i = 0; i < 300; i++) {
    const slot = table.alloc();
    table.origTuple[slot] = 2 * i;
    table.hash(slot);
    slots.push(slot);
  }
  // The dump's order (buckets in turn, original-direction nodes), as the kernel walks them.
  const order: { slot: number; bucket: number }[] = [];
  for (let b = 0; b < table.buckets; b++)
    for (let node = table.head(b); node !== NIL; node = table.next(node))
      if (!(node & 1)) order.push({ slot: node >> 1, bucket: b });
  t.is(order.length, 300);
  const split = (index: number) => dumpSplit(table, order[index]!.slot);
  const ending = (end: number) => ({
    bucketsBefore: order[end]!.bucket + 1,
    entriesBefore: end,
    bucketsAfter: 4096 - order[end]!.bucket - 1,
    entriesAfter: 300 - end,
  });
  t.deepEqual(split(0), ending(DUMP_FIRST_BATCH));
  t.deepEqual(split(22), ending(23));
  t.deepEqual(split(23), ending(23 + DUMP_BATCH));
  t.deepEqual(split(219), ending(220));
  const whole = { bucketsBefore: 4096, entriesBefore: 300, bucketsAfter: 0, entriesAfter: 0 };
  t.deepEqual(split(220), whole); // its batch (220 … 416) holds the last entry
  t.deepEqual(split(299), whole);
  t.deepEqual(dumpSplit(table, NIL), whole); // nothing matches: the whole dump
});

test('conntrack -L on the machine: its start, the whole dump (per bucket and per entry printed), then the evictions of expired entries and its exit; without a machine the evictions happen at once', (t) => {
  const sc = base({
    kernel: { buckets: 1000, timeouts: { udpS: 1 } as never },
    workloads: [unrepliedFlows({ rateHz: 10_000, flows: 10, startS: 1, stopS: 2, tupleBase: 1_000_000 })],
    // At 2.5 s the ten entries (created 1.0000–1.0009 s, 1 s timeout) are expired; the gc worker
    // has not met them yet (its next run is at 60 s).
    actions: [{ atS: 2.5, kind: 'dump' }],
    durationS: 2.6,
    machine: adminMachine({ listEntryNs: 2000 }),
  });
  // 100 us + 1000 buckets × 50 ns + 10 entries × 2 us = 170 us, then the ten evictions; 30 us more to exit.
  const on = destroysOf(sc);
  t.deepEqual(
    on.at.map(([, at]) => at),
    Array.from({ length: 10 }, () => s(2.5) + us(170)),
  );
  on.run.world.machine!.sync();
  const task = on.run.world.machine!.tasks.find((x) => x.name === 'conntrack -L')!;
  t.is(task.cpuNs, us(200));
  t.is(task.state, 'sleeping');
  const off = destroysOf({ ...sc, machine: undefined });
  t.deepEqual(
    off.at.map(([, at]) => at),
    Array.from({ length: 10 }, () => s(2.5)),
  );
});

test('machine costs are checked field by field: each of DEFAULT_MACHINE_COSTS is required, from 0 to 1e9, and no other', (t) => {
  const withCosts = (costs: unknown) => () => validateMachineSetup({ ...DEFAULT_MACHINE_SETUP, costs });
  const c = DEFAULT_MACHINE_SETUP.costs;
  t.notThrows(withCosts({ ...c, dumpEntryNs: 0 }));
  t.notThrows(withCosts({ ...c, dumpEntryNs: 1e9 }));
  const bad = (costs: unknown, path: string) => {
    const e = t.throws(withCosts(costs), { instanceOf: ConfigError });
    t.is(e?.path, path);
  };
  bad({ ...c, dumpEntryNs: -1 }, 'machine.costs.dumpEntryNs');
  bad({ ...c, adminStartUs: 1e9 + 1 }, 'machine.costs.adminStartUs');
  const missing: Record<string, number> = { ...c };
  delete missing.listEntryNs;
  bad(missing, 'machine.costs.listEntryNs');
  bad({ ...c, deleteUs: 5 }, 'machine.costs.deleteUs');
  t.deepEqual(Object.keys(c).sort(), [
    'adminExitUs',
    'adminStartUs',
    'broadcastUs',
    'dumpBucketNs',
    'dumpEntryNs',
    'gcEvictNs',
    'listEntryNs',
    'packetUs',
    'workerAttemptNs',
  ]);
});
