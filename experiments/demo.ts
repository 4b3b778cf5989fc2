// The built-in demo: M/M/1/K replications through the engine, compared with the closed form.
// It shows the engine's contract end to end (streams, warm-up cut, replications on worker
// threads, confidence intervals) and is what `npm start` runs until the netfilter suite lands.
import { confidenceInterval, planTasks, siblingModule, sweep, type RunnerRef } from '../sim/index.js';
import { runTasks } from '../sim/replicate.js';
import { mm1kTheory, type Mm1kResult } from '../models/queueing/mm1k.js';

export interface DemoOptions {
  readonly seed: number;
  readonly runs: number;
  readonly jobs: number;
}

const runner: RunnerRef = {
  module: siblingModule(import.meta.url, '../models/queueing/mm1k'),
  exportName: 'runMm1k',
};

export async function demo(opts: DemoOptions): Promise<string> {
  const base = { arrivalRateHz: 900, serviceRateHz: 1000, capacity: 10, warmupS: 2, durationS: 30 };
  const points = sweep(base, [{ path: 'arrivalRateHz', values: [500, 900, 1000, 1500] }]);
  const results = await runTasks<typeof base, Mm1kResult>(planTasks(points, opts.runs), runner, {
    seed: opts.seed,
    jobs: opts.jobs,
  });
  const lines = [
    `M/M/1/K demo (mu = 1000/s, K = 10, ${opts.runs} replications of 30 s after a 2 s warm-up, seed ${opts.seed})`,
    'rho    blocking: sim (95% CI)         theory     in system: sim (95% CI)     theory   fingerprint(run 0)',
  ];
  points.forEach((p, i) => {
    const mine = results.filter((r) => r.point === i).map((r) => r.result);
    const th = mm1kTheory(p);
    const b = confidenceInterval(mine.map((r) => r.blocking));
    const l = confidenceInterval(mine.map((r) => r.meanInSystem));
    lines.push(
      [
        (p.arrivalRateHz / p.serviceRateHz).toFixed(2).padEnd(6),
        `${b.mean.toFixed(5)} ± ${b.halfWidth.toFixed(5)}`.padEnd(28),
        th.blocking.toFixed(5).padEnd(10),
        `${l.mean.toFixed(3)} ± ${l.halfWidth.toFixed(3)}`.padEnd(27),
        th.meanInSystem.toFixed(3).padEnd(8),
        mine[0]!.fingerprint,
      ].join(' '),
    );
  });
  return lines.join('\n');
}
