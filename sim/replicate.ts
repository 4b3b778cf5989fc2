/**
 * Replications, sweeps and shards.
 *
 * The work of an experiment is a list of tasks, one per (parameter point, replication), each
 * numbered by `index = point * runs + run`. A task's result depends only on its config, the
 * master seed and its replication index, so the output (ordered by index) is byte-identical
 * whatever the number of worker processes, and `--shard k/n` (tasks whose index % n == k - 1)
 * plus {@link mergeShards} reproduces the single-process output exactly.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { produce, freeze, type Draft } from 'immer';
import { ConfigError } from './validate.js';

/** One unit of work. */
export interface Task<C> {
  /** Position in the full task list: `point * runs + run`. */
  readonly index: number;
  /** Parameter point index. */
  readonly point: number;
  /** Replication index (0-based). */
  readonly run: number;
  /** The point's config. */
  readonly config: C;
}

/** A finished task. */
export interface TaskResult<R> {
  readonly index: number;
  readonly point: number;
  readonly run: number;
  readonly result: R;
}

/**
 * Where a task runner lives: a module (file URL or absolute path) exporting a function
 * `(config, { seed, run }) => result` whose result is structured-cloneable. Workers import it
 * by this reference, so it must not be a closure.
 */
export interface RunnerRef {
  readonly module: string;
  readonly exportName: string;
}

/**
 * The URL of module `rel` (given without extension, e.g. `'./task'`) next to the module whose
 * `import.meta.url` is `base`, with that module's own extension: `.ts` when it runs from source
 * under tsx, `.js` when it runs compiled (an installed package). For {@link RunnerRef.module}.
 */
export function siblingModule(base: string, rel: string): string {
  const ext = /\.[cm]?ts$/.test(new URL(base).pathname) ? '.ts' : '.js';
  return new URL(`${rel}${ext}`, base).href;
}

/** A shard: the `k`-th of `n` slices (1-based). */
export interface Shard {
  readonly k: number;
  readonly n: number;
}

/** Lists the tasks for `points` × `runs`. */
export function planTasks<C>(points: readonly C[], runs: number): Task<C>[] {
  if (!Number.isSafeInteger(runs) || runs < 1) throw new ConfigError('runs', runs, 'must be an integer >= 1');
  const tasks: Task<C>[] = [];
  points.forEach((config, point) => {
    for (let run = 0; run < runs; run++) tasks.push({ index: point * runs + run, point, run, config });
  });
  return tasks;
}

/** Parses `k/n` with 1 <= k <= n. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const k = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 1) || k > n) {
    throw new ConfigError('shard', text, 'must be k/n with whole numbers 1 <= k <= n, e.g. 1/4');
  }
  return { k, n };
}

/** The tasks of one shard: every task whose index % n equals k - 1. */
export function selectShard<C>(tasks: readonly Task<C>[], shard: Shard): Task<C>[] {
  return tasks.filter((t) => t.index % shard.n === shard.k - 1);
}

/**
 * Joins shard outputs into one list ordered by index, checking that together they hold every
 * index of `0 … total-1` exactly once.
 */
export function mergeShards<R>(parts: readonly (readonly TaskResult<R>[])[], total: number): TaskResult<R>[] {
  const all = parts.flat().sort((a, b) => a.index - b.index);
  for (let i = 0; i < all.length; i++) {
    if (all[i]!.index !== i) {
      const what = all[i]!.index < i ? `task ${all[i]!.index} appears twice` : `task ${i} is missing`;
      throw new ConfigError('shards', `${parts.length} parts`, `must together cover every task once (${what})`);
    }
  }
  if (all.length !== total) throw new ConfigError('shards', `${all.length} tasks`, `must together hold ${total} tasks`);
  return all;
}

/** One axis of a sweep: a dotted config path and its values. */
export interface SweepAxis {
  readonly path: string;
  readonly values: readonly unknown[];
}

/**
 * The grid of configs obtained by setting each axis' path to each of its values (first axis
 * varies slowest), derived with immer from the frozen `base`.
 */
export function sweep<C extends object>(base: C, axes: readonly SweepAxis[]): C[] {
  const frozen = freeze(base, true);
  let points: C[] = [frozen];
  for (const axis of axes) {
    const next: C[] = [];
    for (const p of points)
      for (const v of axis.values) next.push(produce(p, (d: Draft<C>) => setPath(d as object, axis.path, v)));
    points = next;
  }
  return points;
}

/** Sets `path` (dotted) inside `obj`; throws a ConfigError naming the path if it does not exist. */
export function setPath(obj: object, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur: Record<string, unknown> = obj as Record<string, unknown>;
  for (let i = 0; i < keys.length - 1; i++) {
    const next = cur[keys[i]!];
    if (typeof next !== 'object' || next === null)
      throw new ConfigError(path, value, `is not a config path (${keys.slice(0, i + 1).join('.')} is not an object)`);
    cur = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (!(last in cur)) throw new ConfigError(path, value, 'is not a config path');
  cur[last] = value;
}

/** Options of {@link runTasks}. */
export interface RunTasksOptions {
  /** Master seed. */
  readonly seed: number;
  /** Worker processes; 1 runs in this thread. Default: available parallelism. */
  readonly jobs?: number;
  /** Called after each finished task (in completion order). */
  readonly onProgress?: (done: number, total: number) => void;
  /** Called with each finished task's result as soon as it is known (in completion order). */
  readonly onResult?: (result: TaskResult<unknown>) => void;
}

/** Runs `tasks` and returns their results ordered by index. */
export async function runTasks<C, R>(
  tasks: readonly Task<C>[],
  runner: RunnerRef,
  opts: RunTasksOptions,
): Promise<TaskResult<R>[]> {
  const jobs = Math.min(opts.jobs ?? availableParallelism(), Math.max(1, tasks.length));
  if (!Number.isSafeInteger(jobs) || jobs < 1) throw new ConfigError('jobs', opts.jobs, 'must be an integer >= 1');
  const results: TaskResult<R>[] = new Array<TaskResult<R>>(tasks.length);
  let done = 0;
  const finish = (i: number, result: R): void => {
    const t = tasks[i]!;
    results[i] = { index: t.index, point: t.point, run: t.run, result };
    opts.onResult?.(results[i]!);
    opts.onProgress?.(++done, tasks.length);
  };
  if (jobs === 1) {
    const mod = (await import(runner.module)) as Record<string, unknown>;
    const fn = runnerFunction<C, R>(mod, runner);
    tasks.forEach((t, i) => finish(i, fn(t.config, { seed: opts.seed, run: t.run })));
  } else {
    await runInProcesses(tasks, runner, opts.seed, jobs, finish);
  }
  return results.sort((a, b) => a.index - b.index);
}

/** @internal */
export function runnerFunction<C, R>(
  mod: Record<string, unknown>,
  runner: RunnerRef,
): (c: C, rs: { seed: number; run: number }) => R {
  const fn = mod[runner.exportName];
  if (typeof fn !== 'function') throw new Error(`${runner.module} does not export a function ${runner.exportName}`);
  return fn as (c: C, rs: { seed: number; run: number }) => R;
}

/**
 * V8 options of each worker process. One GC thread per process: with a process per core, V8's
 * parallel GC helpers have no idle core to run on (with 2 jobs on 2 cores they took about half a
 * core, read from /proc/<pid>/task/<tid>/stat), and the 8-task flush sweep used 59-62 CPU-seconds
 * with this option against 68-71 without it. A heap limit given to this process applies to its
 * workers too.
 */
function workerExecArgv(): string[] {
  return ['--single-threaded-gc', ...process.execArgv.filter((a) => a.startsWith('--max-old-space-size'))];
}

/**
 * Runs the tasks on `jobs` child processes. Processes rather than worker threads: a worker that
 * dies (out of memory, killed) is reported with its task instead of taking the run down, each
 * has a heap of its own, and V8's GC options can be set per worker. Each child takes the next
 * task when it returns one, so long tasks do not hold the others back; results cross as
 * structured clones (`serialization: 'advanced'`), as they did between threads.
 */
async function runInProcesses<C, R>(
  tasks: readonly Task<C>[],
  runner: RunnerRef,
  seed: number,
  jobs: number,
  finish: (i: number, r: R) => void,
): Promise<void> {
  let next = 0;
  const children: ChildProcess[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      const running = new Map<ChildProcess, number>();
      const feed = (c: ChildProcess): void => {
        if (next >= tasks.length) {
          running.delete(c);
          if (--active === 0) resolve();
          return;
        }
        const i = next++;
        running.set(c, i);
        c.send({ i, config: tasks[i]!.config, run: tasks[i]!.run });
      };
      for (let j = 0; j < jobs; j++) {
        const c = fork(fileURLToPath(new URL('./process-entry.mjs', import.meta.url)), [], {
          serialization: 'advanced',
          execArgv: workerExecArgv(),
        });
        children.push(c);
        active++;
        c.on('message', (m: { ready?: true; i: number; result?: R; error?: string }) => {
          if (m.ready === true) return feed(c);
          if (m.error !== undefined) return reject(new Error(m.error));
          finish(m.i, m.result as R);
          feed(c);
        });
        c.on('error', reject);
        // A child that dies (out of memory, killed, its module failed to load) fails the call.
        c.on('exit', (code, signal) => {
          const i = running.get(c);
          const what =
            i === undefined
              ? 'while not running a task'
              : `in task ${tasks[i]!.index} (point ${tasks[i]!.point}, run ${tasks[i]!.run})`;
          reject(new Error(`a worker process exited ${what} (${signal ?? `code ${code}`})`));
        });
        c.send({ runner, seed });
      }
    });
  } finally {
    await Promise.all(children.map((c) => stop(c)));
  }
}

/** Ends a worker process (SIGTERM; it holds no state worth a graceful exit) and waits until it has. */
function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    c.kill();
  });
}
