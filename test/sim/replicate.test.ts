import test from 'ava';
import { mergeShards, parseShard, planTasks, selectShard, sweep, type RunnerRef } from '../../sim/index.js';
import { runTasks } from '../../sim/replicate.js';
import type { Mm1kConfig } from '../../models/queueing/mm1k.js';

const runner: RunnerRef = {
  module: new URL('../../models/queueing/mm1k.ts', import.meta.url).href,
  exportName: 'runMm1k',
};
const base = { arrivalRateHz: 900, serviceRateHz: 1000, capacity: 5, warmupS: 0, durationS: 0.5 };
const points = sweep(base, [
  { path: 'capacity', values: [2, 8] },
  { path: 'arrivalRateHz', values: [500, 1200] },
]);

test('sweep builds the grid from a frozen base with immer (first axis slowest)', (t) => {
  t.deepEqual(
    points.map((p) => [p.capacity, p.arrivalRateHz]),
    [
      [2, 500],
      [2, 1200],
      [8, 500],
      [8, 1200],
    ],
  );
  // A point is its own frozen copy: writing to it throws, and the base is untouched.
  t.throws(() => void ((points[0] as { capacity: number }).capacity = 99), { instanceOf: TypeError });
  t.is(points[0]!.capacity, 2);
  t.is(base.capacity, 5);
  t.throws(() => sweep(base, [{ path: 'nope.deep', values: [1] }]), { message: /nope.deep = 1: is not a config path/ });
});

test('results are byte-identical for 1 and 2 worker processes', async (t) => {
  const tasks = planTasks<Mm1kConfig>(points, 3);
  const one = await runTasks(tasks, runner, { seed: 9, jobs: 1 });
  const two = await runTasks(tasks, runner, { seed: 9, jobs: 2 });
  t.is(one.length, 12);
  t.is(JSON.stringify(two), JSON.stringify(one));
  t.deepEqual(
    one.map((r) => r.index),
    [...Array(12).keys()],
  );
});

test('shards merged equal the single run, in any order of the parts', async (t) => {
  const tasks = planTasks<Mm1kConfig>(points, 3);
  const whole = await runTasks(tasks, runner, { seed: 9, jobs: 1 });
  const parts = await Promise.all(
    [1, 2, 3].map((k) => runTasks(selectShard(tasks, { k, n: 3 }), runner, { seed: 9, jobs: 1 })),
  );
  t.deepEqual(
    parts.map((p) => p.length),
    [4, 4, 4],
  );
  t.is(JSON.stringify(mergeShards([parts[2]!, parts[0]!, parts[1]!], tasks.length)), JSON.stringify(whole));
  t.throws(() => mergeShards([parts[0]!, parts[1]!], tasks.length), { message: /task 2 is missing/ });
  t.throws(() => mergeShards([parts[0]!, parts[0]!, parts[1]!, parts[2]!], tasks.length), { message: /appears twice/ });
});

test('shard syntax is k/n with 1 <= k <= n', (t) => {
  t.deepEqual(parseShard('2/4'), { k: 2, n: 4 });
  for (const bad of ['3/2', '0/2', '1/0', 'a/b', '1', '-1/2']) {
    t.throws(() => parseShard(bad), { message: /shard = ".*": must be k\/n with whole numbers 1 <= k <= n/ });
  }
});

test('a runner that throws inside a worker process fails the whole call with its message', async (t) => {
  const tasks = planTasks([{ arrivalRateHz: 1, serviceRateHz: 1, capacity: 0, warmupS: 0, durationS: 1 }], 2);
  await t.throwsAsync(runTasks(tasks, runner, { seed: 1, jobs: 2 }), { message: /mm1k.capacity = 0/ });
});

const exiting: RunnerRef = {
  module: new URL('../helpers/exiting-runner.ts', import.meta.url).href,
  exportName: 'doubleOrExit',
};

test('a worker process that dies mid-task fails the call, naming the task and the exit code', async (t) => {
  const tasks = planTasks([{ value: 1 }, { value: 2, exit: 7 }, { value: 3 }], 1);
  await t.throwsAsync(runTasks(tasks, exiting, { seed: 1, jobs: 2 }), {
    message: 'a worker process exited in task 1 (point 1, run 0) (code 7)',
  });
  // The same tasks without the exit: every result, in index order, from either process.
  const ok = await runTasks<{ value: number }, number>(
    planTasks([{ value: 1 }, { value: 2 }, { value: 3 }], 2),
    exiting,
    {
      seed: 1,
      jobs: 2,
    },
  );
  t.deepEqual(
    ok.map((r) => [r.index, r.result]),
    [
      [0, 2],
      [1, 2],
      [2, 4],
      [3, 4],
      [4, 6],
      [5, 6],
    ],
  );
});

test('a runner module that is missing or lacks the export fails the call with that reason', async (t) => {
  const tasks = planTasks([{ value: 1 }], 2);
  await t.throwsAsync(runTasks(tasks, { ...exiting, exportName: 'nope' }, { seed: 1, jobs: 2 }), {
    message: /exiting-runner\.ts does not export a function nope/,
  });
  await t.throwsAsync(
    runTasks(
      tasks,
      { ...exiting, module: new URL('../helpers/no-such-module.ts', import.meta.url).href },
      { seed: 1, jobs: 2 },
    ),
    { message: /no-such-module/ },
  );
});
