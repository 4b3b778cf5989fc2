// Running one (point, replication) task of an experiment: the body of every worker module.
import { buildScenario } from '../../models/scenario.js';
import type { ExperimentDef, TaskInput, TaskOutput } from './experiment.js';

/** The task function of a worker module for these experiments (`export const runTask = taskRunner(…)`). */
export function taskRunner(
  experiments: Readonly<Record<string, ExperimentDef>>,
): (task: TaskInput, rs: { seed: number; run: number }) => TaskOutput {
  return (task, rs) => {
    const exp = experiments[task.experiment];
    if (exp === undefined) throw new Error(`unknown experiment ${task.experiment}`);
    const run = buildScenario(task.point.scenario, rs, { logs: exp.readsLogs === true });
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
  };
}
