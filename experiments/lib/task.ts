// The unit of work that worker threads import: run one (point, replication) of an experiment.
import { buildScenario } from '../../models/scenario.js';
import type { Point, TaskOutput } from './experiment.js';
import { EXPERIMENTS } from '../registry.js';

export interface TaskInput {
  readonly experiment: string;
  readonly point: Point;
}

export function runTask(task: TaskInput, rs: { seed: number; run: number }): TaskOutput {
  const exp = EXPERIMENTS[task.experiment];
  if (exp === undefined) throw new Error(`unknown experiment ${task.experiment}`);
  const run = buildScenario(task.point.scenario, rs);
  const probe = exp.prepare?.(run, task.point);
  run.run();
  const series = exp.series
    ? exp.series(run, task.point)
    : run.series.map((s) => ({ t_s: s.tS, count: s.count, hashed: s.hashed, parked: s.parked, drops: s.drops }));
  return {
    row: exp.measure(run, task.point, probe),
    series,
    fingerprint: run.world.sim.fingerprint,
    events: run.world.sim.eventCount,
  };
}
