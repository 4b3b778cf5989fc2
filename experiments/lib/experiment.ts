// What an experiment is: a question, a base scenario, sweep axes, what to measure in each run,
// and how to summarise the replications into an answer, plots and tables.
import type { RunnerRef } from '../../sim/index.js';
import type { Scenario, ScenarioConfig, ScenarioRun } from '../../models/scenario.js';

/** One CSV row: unit-suffixed columns. */
export type Row = Record<string, number | string>;

/**
 * A sweep axis: a scenario path, its values, and the CSV column that shows the value. `also`
 * names paths that take the same value (conntrackd's NetlinkBufferSize and its MaxGrowth).
 */
export interface Axis {
  readonly path: string;
  readonly values: readonly unknown[];
  readonly column: string;
  readonly also?: readonly string[];
}

/** One parameter point: its parsed scenario and its axis values. */
export interface Point {
  readonly scenario: Scenario;
  readonly label: Row;
}

/** What one (point, replication) task returns. */
export interface TaskOutput {
  readonly row: Row;
  readonly series: Row[];
  readonly fingerprint: string;
  readonly events: number;
}

/** A Vega-Lite plot written as `<name>.vl.json` and `<name>.svg`. */
export interface Plot {
  readonly name: string;
  readonly title: string;
  readonly spec: Record<string, unknown>;
}

/**
 * What a study reports on must have happened at a point, or the point is "not observed": in
 * every run, `metric` is at least `floor`. `what` says it in words ("DESTROY attempts before
 * the flush").
 */
export interface SanityCheck {
  readonly metric: string;
  readonly floor: number;
  readonly what: string;
}

/** Summary of every point: means with confidence intervals per metric. */
export interface PointSummary {
  readonly label: Row;
  readonly runs: number;
  /** metric → [mean, half-width of the 95 % CI, min, max] over the runs. */
  readonly stats: Record<string, [number, number, number, number]>;
  /** Every sanity check held in every run. */
  readonly observed: boolean;
  /** The checks that failed, with the smallest value seen (empty when observed). */
  readonly missing: readonly string[];
}

/** A study: a base scenario swept along axes, what to measure per run and how to answer. */
export interface ExperimentDef {
  readonly name: string;
  /** The question, one line. */
  readonly question: string;
  /** The scenario every point starts from (`quick`: the reduced variant). */
  base(quick: boolean): ScenarioConfig;
  /** The sweep: points are the cartesian product of the axes. */
  axes(quick: boolean): Axis[];
  /** Replications per point when `--runs` is not given. */
  runs(quick: boolean): number;
  /** What must have happened at each point for its figures to mean anything (default: nothing). */
  sanity?(quick: boolean): SanityCheck[];
  /**
   * The listeners' per-message logs (`ListenerModel.log`) are kept only for a study that sets
   * this: a log entry per message is most of a listener's memory at a million entries.
   */
  readonly readsLogs?: boolean;
  /** Installs probes before the run; what it returns is handed to `measure`. */
  prepare?(run: ScenarioRun, point: Point): unknown;
  /** Metric columns of one run (after it ran). */
  measure(run: ScenarioRun, point: Point, probe: unknown): Row;
  /** Time-series rows of one run (default: the scenario's samples). */
  series?(run: ScenarioRun, point: Point): Row[];
  /** Plots and the few lines of summary.md that answer the question. */
  summarize(
    points: PointSummary[],
    results: { point: number; run: number; row: Row; series: Row[] }[],
  ): { answer: string[]; plots: Plot[] };
}

/**
 * The studies a runner can run, and the module its worker processes import to run one task
 * (`runTask(task: TaskInput, rs)`): the runner takes it as an argument, so lib/ imports no study.
 */
export interface Registry {
  readonly experiments: Readonly<Record<string, ExperimentDef>>;
  readonly worker: RunnerRef;
}

/** What a worker process receives for one (point, replication) task. */
export interface TaskInput {
  readonly experiment: string;
  readonly point: Point;
}
