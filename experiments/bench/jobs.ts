// `npm run bench -- jobs`: the same 8-task sweep with --jobs 1 and --jobs 2 in one process, the
// wall-time ratio, and a byte comparison of the two results (determinism whatever the jobs).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runExperiment } from '../lib/runner.js';
import { REGISTRY } from '../registry.js';

export interface JobsBench {
  /** (point, run) tasks of the sweep: rows of its results.csv. */
  readonly tasks: number;
  readonly seconds: Record<1 | 2, number>;
  readonly identical: boolean;
}

/** `run <experiment> [--quick] --runs 8` with each jobs value, `rounds` times (alternating which goes first). */
export async function benchJobs(experiment: string, rounds: number, quick: boolean): Promise<JobsBench> {
  const seconds: Record<1 | 2, number[]> = { 1: [], 2: [] };
  const csv: Record<1 | 2, string> = { 1: '', 2: '' };
  for (let r = 0; r < rounds; r++) {
    for (const jobs of (r % 2 === 0 ? [1, 2] : [2, 1]) as (1 | 2)[]) {
      const out = mkdtempSync(join(tmpdir(), 'nfct-bench-jobs-'));
      const t0 = performance.now();
      await runExperiment(REGISTRY, experiment, { seed: 1, runs: 8, jobs, out, quick, sets: [], resume: false });
      seconds[jobs].push((performance.now() - t0) / 1000);
      csv[jobs] = readFileSync(join(out, 'results.csv'), 'utf8');
      rmSync(out, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const tasks = csv[1].trim().split('\n').length - 1;
  return { tasks, seconds: { 1: median(seconds[1]), 2: median(seconds[2]) }, identical: csv[1] === csv[2] };
}
