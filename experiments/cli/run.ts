// The commands that run experiments and read their folders: list, presets, run, merge, suite,
// report, demo.
import type { Command } from 'commander';
import { Option } from 'commander';
import { join, resolve } from 'node:path';
import { ConfigError, parseShard } from '../../sim/index.js';
import { PRESET_NAMES, preset } from '../../models/presets.js';
import { demo } from '../demo.js';
import { EXPERIMENTS, REGISTRY } from '../registry.js';
import { mergeRuns, planRun, runPlan } from '../lib/runner.js';
import { checkWritable } from '../lib/output.js';
import { runSuite, writeReport } from '../suite.js';
import { DEFAULT_JOBS, MAX_JOBS, MAX_RUNS, intOption, progress, readConfig, setOption } from './options.js';

interface RunOpts {
  seed: number;
  runs?: number;
  jobs: number;
  shard?: string;
  out?: string;
  preset?: string;
  set: [string, unknown][];
  config?: string;
  quick: boolean;
  resume: boolean;
  force: boolean;
  quiet: boolean;
}

export function addRunCommands(program: Command): void {
  program
    .command('list')
    .description('list the experiments and the kernel presets')
    .action(() => {
      console.log('experiments:');
      for (const e of Object.values(EXPERIMENTS)) console.log(`  ${e.name.padEnd(12)} ${e.question}`);
      console.log('presets:');
      for (const n of PRESET_NAMES) console.log(`  ${n.padEnd(17)} ${preset(n).description}`);
    });

  program
    .command('presets')
    .description('print the presets, or the fields in which two differ')
    .option('--diff <presets...>', 'two preset names')
    .action((o: { diff?: string[] }) => {
      if (!o.diff) {
        for (const n of PRESET_NAMES) console.log(`${n}\n${JSON.stringify(preset(n), null, 2)}\n`);
        return;
      }
      if (o.diff.length !== 2) throw new ConfigError('--diff', o.diff.join(' '), 'takes exactly two preset names');
      const [a, b] = o.diff.map((n) => preset(n));
      const flat = (x: unknown, prefix = ''): Record<string, unknown> =>
        x !== null && typeof x === 'object' && !Array.isArray(x)
          ? Object.assign({}, ...Object.entries(x).map(([k, v]) => flat(v, prefix ? `${prefix}.${k}` : k)))
          : { [prefix]: x };
      const fa = flat({ kernel: a!.kernel, netlink: a!.netlink });
      const fb = flat({ kernel: b!.kernel, netlink: b!.netlink });
      console.log(`field`.padEnd(36) + o.diff[0]!.padEnd(22) + o.diff[1]);
      for (const k of Object.keys(fa))
        if (JSON.stringify(fa[k]) !== JSON.stringify(fb[k]))
          console.log(k.padEnd(36) + JSON.stringify(fa[k]).padEnd(22) + JSON.stringify(fb[k]));
    });

  program
    .command('run')
    .description('run one experiment; writes params.json, results.csv, summary.csv, plots and summary.md')
    .argument('<experiment>', `one of ${Object.keys(EXPERIMENTS).join(', ')}`)
    .option('--seed <n>', 'master seed', intOption('--seed', 0), 1)
    .option('--runs <n>', 'replications per parameter point', intOption('--runs', 1, MAX_RUNS))
    .option('--jobs <n>', 'worker processes', intOption('--jobs', 1, MAX_JOBS), DEFAULT_JOBS)
    .option('--shard <k/n>', 'run only the k-th of n slices of the (point, run) list')
    .option('--out <dir>', 'output folder (default results/<experiment>)')
    .option('--preset <name>', 'kernel preset (same as --set preset=<name>)')
    .option('--set <path=value>', 'override a config field (repeatable)', setOption, [])
    .option('--config <file>', 'scenario JSON file replacing the experiment base')
    .option('--quick', 'the small variant', false)
    .option('--resume', 'complete an interrupted run in the same --out', false)
    .option(
      '--force',
      'replace what an earlier run wrote into --out (a folder holding files is refused otherwise)',
      false,
    )
    .option('--quiet', 'no progress output', false)
    .action(async (name: string, o: RunOpts) => {
      const outArg = o.out ?? join('results', name);
      const sets = o.preset ? ([['preset', o.preset], ...o.set] as [string, unknown][]) : o.set;
      if (o.preset) preset(o.preset);
      const shard = o.shard ? parseShard(o.shard) : undefined;
      const config = o.config ? readConfig(o.config) : undefined;
      // Every error before anything is written.
      const plan = planRun(REGISTRY, name, { quick: o.quick, sets, ...(config ? { config } : {}) });
      checkWritable(outArg);
      const out = resolve(outArg);
      const bar = progress(
        o.quiet,
        name,
        `(${plan.points.length} points) on ${o.jobs} thread${o.jobs === 1 ? '' : 's'} into ${out}`,
      );
      const lines = await runPlan(REGISTRY, plan, {
        seed: o.seed,
        ...(o.runs !== undefined ? { runs: o.runs } : {}),
        jobs: o.jobs,
        out,
        quick: o.quick,
        sets,
        ...(config ? { config } : {}),
        ...(shard ? { shard } : {}),
        resume: o.resume,
        force: o.force,
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.stop();
      console.log(lines.join('\n'));
      if (!o.quiet) console.error(`written to ${out}`);
    });

  program
    .command('merge')
    .description('merge shard folders of one run into a result identical to a single-process run')
    .argument('<dirs...>', 'folders written by run --shard k/n')
    .requiredOption('--out <dir>', 'output folder')
    .option('--force', 'replace what an earlier run wrote into --out', false)
    .action(async (dirs: string[], o: { out: string; force: boolean }) => {
      checkWritable(o.out);
      console.log(
        (
          await mergeRuns(
            REGISTRY,
            dirs.map((d) => resolve(d)),
            resolve(o.out),
            { force: o.force },
          )
        ).join('\n'),
      );
    });

  program
    .command('suite')
    .description('the main job: quick variants of the headline experiments into results/, with results/index.html')
    .option('--seed <n>', 'master seed', intOption('--seed', 0), 1)
    .option('--jobs <n>', 'worker processes', intOption('--jobs', 1, MAX_JOBS), DEFAULT_JOBS)
    .option('--out <dir>', 'output folder', 'results')
    .option('--quiet', 'no progress output', false)
    .action(async (o: { seed: number; jobs: number; out: string; quiet: boolean }) => {
      checkWritable(o.out);
      console.log(await runSuite({ ...o, out: resolve(o.out), progress: (label) => progress(o.quiet, label) }));
    });

  program
    .command('report')
    .description('a static HTML page with every plot and table of a results folder')
    .argument('<dir>', 'a folder written by run or suite')
    .action((dir: string) => {
      console.log(`written ${writeReport(resolve(dir))}`);
    });

  program
    .command('demo')
    .description('engine demo: M/M/1/K replications against the closed form')
    .addOption(new Option('--seed <n>', 'master seed').argParser(intOption('--seed', 0)).default(1))
    .option('--runs <n>', 'replications per point', intOption('--runs', 2, MAX_RUNS), 8)
    .option('--jobs <n>', 'worker processes', intOption('--jobs', 1, MAX_JOBS), Math.min(2, DEFAULT_JOBS))
    .action(async (o: { seed: number; runs: number; jobs: number }) => {
      console.log(await demo(o));
    });
}
