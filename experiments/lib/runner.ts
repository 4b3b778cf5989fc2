// Runs an experiment: resolves its config, plans (point, run) tasks, runs them on worker
// threads (or one shard of them), and writes params.json, results.csv, summary.csv,
// series.csv, plots and summary.md. Task results are kept as they finish, so `--resume`
// completes an interrupted run; shards are merged by `mergeRuns`.
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { produce } from 'immer';
import {
  mergeShards,
  ConfigError,
  confidenceInterval,
  planTasks,
  selectShard,
  type Shard,
  type Task,
  type TaskResult,
} from '../../sim/index.js';
import { runTasks } from '../../sim/replicate.js';
import { parseScenario, setScenarioPath, type ScenarioConfig } from '../../models/scenario.js';
import type { ExperimentDef, Point, PointSummary, Registry, Row, TaskInput, TaskOutput } from './experiment.js';
import { columnsOf, renderSvg, toCsv, writeAtomic } from './output.js';
import { claimFolder, digestOf, requireComplete, writeManifest } from './folder.js';

/** Options of {@link runExperiment} (the `nfct-sim run` flags). */
export interface RunOptions {
  readonly seed: number;
  readonly runs?: number;
  readonly jobs: number;
  readonly out: string;
  readonly quick: boolean;
  readonly sets: readonly [string, unknown][];
  /** A scenario as written (e.g. a --config file's JSON), replacing the experiment's base; checked here. */
  readonly config?: unknown;
  readonly shard?: Shard;
  readonly resume: boolean;
  /** Replace what an earlier run wrote into `out` (otherwise a folder holding files is refused). */
  readonly force?: boolean;
  /** Called after each task finishes (done, total) — for a progress bar. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The experiment `name` of the registry; a ConfigError lists the names it has. */
export function experiment(registry: Registry, name: string): ExperimentDef {
  const e = registry.experiments[name];
  if (e === undefined)
    throw new ConfigError('experiment', name, `must be one of ${Object.keys(registry.experiments).join(', ')}`);
  return e;
}

/** Tasks one run may plan: each result stays in memory (up to tens of KiB with its time series) until the outputs are written; 54,000 flush tasks exhausted the 4 GiB heap. */
export const MAX_TASKS = 10_000;

/** A run's plan: its experiment, the base scenario as written (--set applied) and its parsed points. */
export interface RunPlan {
  readonly exp: ExperimentDef;
  readonly base: ScenarioConfig;
  readonly points: Point[];
}

/**
 * Plans a run: the base scenario (or --config), --set applied, swept along the experiment's
 * axes. Every point is parsed here, once; every bad input throws before anything is written.
 */
export function planRun(
  registry: Registry,
  name: string,
  opts: Pick<RunOptions, 'quick' | 'sets' | 'config'>,
): RunPlan {
  const exp = experiment(registry, name);
  let base: ScenarioConfig = opts.config !== undefined ? parseScenario(opts.config).config : exp.base(opts.quick);
  for (const [path, value] of opts.sets) base = setScenarioPath(base, path, value);
  let configs: { config: ScenarioConfig; label: Row }[] = [{ config: base, label: {} }];
  for (const axis of exp.axes(opts.quick)) {
    // A --set on a swept path pins that axis to the given value.
    const pinned = opts.sets.find(([p]) => p === axis.path);
    const values = pinned ? [pinned[1]] : axis.values;
    configs = configs.flatMap((p) =>
      values.map((v) => ({
        config: [axis.path, ...(axis.also ?? [])].reduce((c, path) => setScenarioPath(c, path, v), p.config),
        label: produce(p.label, (d) => void (d[axis.column] = axisLabel(v))),
      })),
    );
  }
  return { exp, base, points: configs.map((c) => ({ scenario: parseScenario(c.config), label: c.label })) };
}

/** This package's folder: from source it is two levels up, from dist/ three. */
export const PACKAGE_ROOT = (() => {
  for (const up of ['../..', '../../..']) {
    const dir = new URL(`${up}/`, import.meta.url);
    if (existsSync(new URL('package.json', dir))) return dir;
  }
  throw new Error('nfct-sim: package.json not found above experiments/lib');
})();

/** The commit of a git checkout of nfct-sim; 'unknown' when installed as a package (no .git of its own). */
function gitCommit(): string {
  if (!existsSync(new URL('.git', PACKAGE_ROOT))) return 'unknown';
  try {
    return execSync('git rev-parse HEAD', { stdio: ['ignore', 'pipe', 'ignore'], cwd: PACKAGE_ROOT })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
}

/** Runs (one shard of) an experiment of the registry into `opts.out`; returns the summary lines. */
export async function runExperiment(registry: Registry, name: string, opts: RunOptions): Promise<string[]> {
  return runPlan(registry, planRun(registry, name, opts), opts);
}

/** Runs (one shard of) a planned run into `opts.out`; returns the summary lines. */
export async function runPlan(registry: Registry, plan: RunPlan, opts: RunOptions): Promise<string[]> {
  const { exp, points } = plan;
  const name = exp.name;
  const runs = opts.runs ?? exp.runs(opts.quick);
  // Every task's result is kept until the outputs are written: refuse a sweep this machine cannot hold.
  if (points.length * runs > MAX_TASKS)
    throw new ConfigError(
      'runs',
      runs,
      `gives ${points.length} points × ${runs} runs = ${points.length * runs} tasks; at most ${MAX_TASKS} fit in one run (fewer runs or points; shards are merged in memory too)`,
    );
  const all = planTasks<TaskInput>(
    points.map((point) => ({ experiment: name, point })),
    runs,
  );
  const mine = opts.shard ? selectShard(all, opts.shard) : all;
  const params = {
    experiment: name,
    question: exp.question,
    seed: opts.seed,
    runs,
    quick: opts.quick,
    sets: Object.fromEntries(opts.sets),
    points: points.map((p) => p.label),
    base: plan.base,
    package: packageVersion(),
    commit: gitCommit(),
    node: process.version,
  };
  // The run's identity: everything that decides its results (not the commit or Node version).
  const digest = digestOf({ ...params, commit: undefined, node: undefined });
  claimFolder(opts.out, digest, { resume: opts.resume, force: opts.force ?? false });
  const paramsPath = join(opts.out, 'params.json');
  writeAtomic(paramsPath, JSON.stringify({ ...params, digest }, null, 2) + '\n');
  const doneDir = join(opts.out, 'tasks');
  mkdirSync(doneDir, { recursive: true });
  const done = new Map<number, TaskResult<TaskOutput>>();
  if (opts.resume) {
    for (const f of readdirSync(doneDir)) {
      if (!/^\d+\.json$/.test(f)) continue;
      // claimFolder refused the folder if any task file belongs to another run.
      const r = JSON.parse(readFileSync(join(doneDir, f), 'utf8')) as TaskResult<TaskOutput> & { digest?: string };
      delete r.digest;
      done.set(r.index, r);
    }
  }
  const todo: Task<TaskInput>[] = mine.filter((t) => !done.has(t.index));
  let finished = mine.length - todo.length;
  await runTasks<TaskInput, TaskOutput>(todo, registry.worker, {
    seed: opts.seed,
    jobs: opts.jobs,
    onResult: (r) => {
      writeAtomic(join(doneDir, `${r.index}.json`), JSON.stringify({ digest, ...r }));
      done.set(r.index, r as TaskResult<TaskOutput>);
    },
    onProgress: () => opts.onProgress?.(++finished, mine.length),
  });
  const results = mine.map((t) => done.get(t.index)!);
  if (opts.shard) {
    writeAtomic(
      join(opts.out, `shard-${opts.shard.k}-of-${opts.shard.n}.json`),
      JSON.stringify({ params, digest, shard: opts.shard, total: all.length, results }) + '\n',
    );
    writeManifest(opts.out, 'shard', digest);
    return [
      `${name}: shard ${opts.shard.k}/${opts.shard.n} done (${results.length} of ${all.length} tasks); merge the shard folders with nfct-sim merge`,
    ];
  }
  const lines = await writeOutputs(exp, points, results, opts.out, opts.quick);
  writeManifest(opts.out, 'run', digest);
  return lines;
}

/** Writes every output of a complete set of task results; returns the summary lines. */
export async function writeOutputs(
  exp: ExperimentDef,
  points: Point[],
  results: readonly TaskResult<TaskOutput>[],
  out: string,
  quick: boolean,
): Promise<string[]> {
  const axisCols = Object.keys(points[0]!.label);
  const rows: Row[] = results.map((r) => ({
    ...points[r.point]!.label,
    run: r.run,
    ...r.result.row,
    events: r.result.events,
    fingerprint: r.result.fingerprint,
  }));
  writeAtomic(join(out, 'results.csv'), toCsv(rows, columnsOf(rows, [...axisCols, 'run'])));
  const metricCols = columnsOf(results.map((r) => r.result.row)).filter(
    (c) => typeof results[0]!.result.row[c] === 'number',
  );
  const checks = exp.sanity?.(quick) ?? [];
  const summaries: PointSummary[] = points.map((p, i) => {
    const mine = results.filter((r) => r.point === i);
    const stats: Record<string, [number, number, number, number]> = {};
    for (const c of metricCols) {
      const xs = mine.map((r) => r.result.row[c] as number);
      const ci = confidenceInterval(xs);
      stats[c] = [ci.mean, ci.halfWidth, Math.min(...xs), Math.max(...xs)];
    }
    const missing = checks
      .filter((k) => !(k.metric in stats) || stats[k.metric]![2] < k.floor)
      .map((k) => `${k.what} (at least ${k.floor} needed, ${stats[k.metric]?.[2] ?? 'none'} seen)`);
    return { label: p.label, runs: mine.length, stats, observed: missing.length === 0, missing };
  });
  const sumRows: Row[] = summaries.map((s) => {
    const row: Row = { ...s.label, runs: s.runs, observed: s.observed ? 1 : 0 };
    for (const [c, [m, h, lo, hi]] of Object.entries(s.stats)) {
      row[`${c}_mean`] = m;
      // An interval only where the runs differ; identical runs get none.
      row[`${c}_ci95`] = Number.isNaN(h) || lo === hi ? '' : h;
      row[`${c}_min`] = lo;
      row[`${c}_max`] = hi;
    }
    row.not_observed = s.missing.join('; ');
    return row;
  });
  writeAtomic(join(out, 'summary.csv'), toCsv(sumRows, columnsOf(sumRows, [...axisCols, 'runs'])));
  const seriesRows: Row[] = results.flatMap((r) =>
    r.result.series.map((s) => ({ ...points[r.point]!.label, run: r.run, ...s })),
  );
  if (seriesRows.length > 0)
    writeAtomic(join(out, 'series.csv'), toCsv(seriesRows, columnsOf(seriesRows, [...axisCols, 'run'])));
  const summarized = exp.summarize(
    summaries,
    results.map((r) => ({ point: r.point, run: r.run, row: r.result.row, series: r.result.series })),
  );
  const { plots } = summarized;
  // A point whose phenomenon did not happen is said so, whatever the study concluded.
  const vacuous = summaries.filter((s) => !s.observed);
  const machine = points[0]!.scenario.config.machine;
  const answer = [
    // On the machine model every figure includes the CPU sharing: say on which machine.
    ...(machine
      ? [
          `On ${machine.cpus} CPU${machine.cpus === 1 ? '' : 's'} (HZ ${machine.hz}) with a background load of ${machine.background.runnable} runnable task${machine.background.runnable === 1 ? '' : 's'}: the sender, the listeners, conntrack -F and the kernel's workers share them (docs/modelling-notes.md#the-machine).`,
        ]
      : []),
    ...summarized.answer,
    ...vacuous.map(
      (s) => `${NOT_OBSERVED} at ${labelText(s.label)}: ${s.missing.join('; ')}; its figures answer nothing.`,
    ),
  ];
  for (const p of plots) {
    const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: p.title, ...p.spec };
    writeAtomic(join(out, `${p.name}.vl.json`), JSON.stringify(spec, null, 2) + '\n');
    writeAtomic(join(out, `${p.name}.svg`), await renderSvg(spec));
    // The plot's data as a CSV of its own, so that the report can link every plot to its numbers.
    const values = (p.spec.data as { values?: Row[] } | undefined)?.values;
    if (Array.isArray(values) && values.length > 0)
      writeAtomic(join(out, `${p.name}-data.csv`), toCsv(values, columnsOf(values)));
  }
  const md = [
    `# ${exp.name}`,
    '',
    `**Question.** ${exp.question}`,
    '',
    '**Answer.**',
    '',
    ...answer.map((a) => `- ${a}`),
    '',
    `Files: results.csv (one row per point and run), summary.csv (means with 95 % confidence intervals)${seriesRows.length ? ', series.csv' : ''}${plots.length ? ', ' + plots.map((p) => `${p.name}.svg`).join(', ') : ''}.`,
    '',
  ];
  writeAtomic(join(out, 'summary.md'), md.join('\n'));
  return [`${exp.name}: ${exp.question}`, ...answer.map((a) => `  ${a}`)];
}

/** How an answer line for a point whose phenomenon did not happen begins. */
export const NOT_OBSERVED = 'NOT OBSERVED';

const labelText = (r: Row): string =>
  Object.entries(r)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ') || 'the base point';

/** Merges shard folders of one run into `out`, identical to a single-process run. */
export async function mergeRuns(
  registry: Registry,
  dirs: readonly string[],
  out: string,
  o: { force?: boolean } = {},
): Promise<string[]> {
  type ShardFile = {
    params: Record<string, unknown> & { experiment: string };
    digest: string;
    total: number;
    results: TaskResult<TaskOutput>[];
  };
  const files: ShardFile[] = [];
  for (const d of dirs) {
    const names = existsSync(d) ? readdirSync(d).filter((f) => /^shard-\d+-of-\d+\.json$/.test(f)) : [];
    if (names.length === 0) throw new ConfigError('merge', d, 'must be a folder written by nfct-sim run --shard k/n');
    requireComplete('merge', d, ['shard']);
    for (const f of names) files.push(JSON.parse(readFileSync(join(d, f), 'utf8')) as ShardFile);
  }
  const first = files[0]!;
  for (const f of files)
    if (f.digest !== first.digest)
      throw new ConfigError('merge', dirs.join(' '), 'holds shards of different runs (their digests differ)');
  const results = mergeShards(
    files.map((f) => f.results),
    first.total,
  );
  const p = first.params as unknown as {
    experiment: string;
    quick: boolean;
    sets: Record<string, unknown>;
    base: ScenarioConfig;
  };
  // The base already has the sets applied; planning from it gives the run's points again.
  const { exp, points } = planRun(registry, p.experiment, { quick: p.quick, sets: [], config: p.base });
  claimFolder(out, first.digest, { resume: false, force: o.force ?? false });
  writeAtomic(join(out, 'params.json'), JSON.stringify({ ...first.params, digest: first.digest }, null, 2) + '\n');
  const lines = await writeOutputs(exp, points, results, out, p.quick);
  writeManifest(out, 'run', first.digest);
  return lines;
}

/** The CSV value of an axis value: numbers as they are, objects as their values joined (`uniform-4000`). */
function axisLabel(v: unknown): number | string {
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object') return Object.values(v).join('-');
  return String(v);
}
