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

/**
 * A reference for the jobs line: how a fixed allocation-heavy loop (objects kept in a
 * million-entry array, as the kernel model keeps entries) scales from one process to two on this
 * machine at this moment; 2 × alone / together. Pure arithmetic scales 2.0x here and this loop
 * 1.25-1.8x within one hour, as other tenants come and go, so a jobs ratio means something only
 * next to it.
 */
export async function memoryReference(
  spawnOne: () => Promise<number>,
): Promise<{ alone: number; together: number; scaling: number }> {
  const alone = await spawnOne();
  const both = await Promise.all([spawnOne(), spawnOne()]);
  const together = Math.max(...both);
  return { alone, together, scaling: (2 * alone) / together };
}

/** The loop of {@link memoryReference}: seconds for `n` small objects, a million kept at a time. */
export function allocLoop(n: number): number {
  const t0 = performance.now();
  let keep: { a: number; b: number[] }[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    keep.push({ a: i, b: [i] });
    if (keep.length > 1_000_000) {
      sum += keep[i % 1000]!.a;
      keep = [];
    }
  }
  if (sum < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return (performance.now() - t0) / 1000;
}
