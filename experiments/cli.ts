// The nfct-sim command line.
// Exit codes: 0 success; 1 internal error (a bug: the stack is printed); 2 bad input (one line
// naming the field or argument and what is allowed; nothing written).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { ConfigError, parseShard } from '../sim/index.js';
import { PRESET_NAMES, preset } from '../models/presets.js';
import { validateScenario, type ScenarioConfig } from '../models/scenario.js';
import { demo } from './demo.js';
import { EXPERIMENTS } from './registry.js';
import { experiment, mergeRuns, planPoints, runExperiment } from './lib/runner.js';
import { checkWritable } from './lib/output.js';
import { runSuite, writeReport } from './suite.js';
import { SCENARIO_NAMES, namedScenario } from '../models/scenarios.js';
import { fixtureScenario, traceScenario } from './fixture.js';
import { liveCapacity, liveFlush } from './live/live.js';

function intOption(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

/** `--set path=value`: the value is JSON if it parses (numbers, booleans, objects), else a string. */
function setOption(v: string, prev: [string, unknown][] = []): [string, unknown][] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('--set takes path=value, e.g. --set kernel.hz=1000');
  const raw = v.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  return [...prev, [v.slice(0, eq), value]];
}

function readConfig(path: string): ScenarioConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('config', path, `must be a readable JSON file (${(e as NodeJS.ErrnoException).code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('config', path, `must be valid JSON (${(e as Error).message})`);
  }
  return validateScenario(json);
}

/** Progress on stderr: a bar on a terminal, a line every 10 % otherwise, nothing with --quiet. */
function progress(quiet: boolean, label: string): { update(done: number, total: number): void; stop(): void } {
  if (quiet) return { update() {}, stop() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: process.stderr, format: `${label} [{bar}] {value}/{total} runs` },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastTenth = -1;
  return {
    update(done, total) {
      const tenth = Math.floor((done * 10) / total);
      if (tenth !== lastTenth) process.stderr.write(`${label}: ${done}/${total} runs\n`);
      lastTenth = tenth;
    },
    stop() {},
  };
}

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
  quiet: boolean;
}

export function buildCli(): Command {
  const program = new Command('nfct-sim')
    .description('Deterministic simulator of Linux conntrack event delivery')
    .exitOverride();
  const defaultJobs = Math.max(1, availableParallelism());

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
    .option('--runs <n>', 'replications per parameter point', intOption('--runs', 1))
    .option('--jobs <n>', 'worker threads', intOption('--jobs', 1), defaultJobs)
    .option('--shard <k/n>', 'run only the k-th of n slices of the (point, run) list')
    .option('--out <dir>', 'output folder (default results/<experiment>)')
    .option('--preset <name>', 'kernel preset (same as --set preset=<name>)')
    .option('--set <path=value>', 'override a config field (repeatable)', setOption, [])
    .option('--config <file>', 'scenario JSON file replacing the experiment base')
    .option('--quick', 'the small variant', false)
    .option('--resume', 'complete an interrupted run in the same --out', false)
    .option('--quiet', 'no progress output', false)
    .action(async (name: string, o: RunOpts) => {
      const exp = experiment(name);
      const out = resolve(o.out ?? join('results', name));
      const sets = o.preset ? ([['preset', o.preset], ...o.set] as [string, unknown][]) : o.set;
      if (o.preset) preset(o.preset);
      const shard = o.shard ? parseShard(o.shard) : undefined;
      const config = o.config ? readConfig(o.config) : undefined;
      planPoints(exp, { quick: o.quick, sets, ...(config ? { config } : {}) }); // every error before anything is written
      checkWritable(out);
      const bar = progress(o.quiet, name);
      const lines = await runExperiment(name, {
        seed: o.seed,
        ...(o.runs !== undefined ? { runs: o.runs } : {}),
        jobs: o.jobs,
        out,
        quick: o.quick,
        sets,
        ...(config ? { config } : {}),
        ...(shard ? { shard } : {}),
        resume: o.resume,
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
    .action(async (dirs: string[], o: { out: string }) => {
      checkWritable(o.out);
      console.log((await mergeRuns(dirs, resolve(o.out))).join('\n'));
    });

  program
    .command('suite')
    .description('the main job: quick variants of the headline experiments into results/, with results/index.html')
    .option('--seed <n>', 'master seed', intOption('--seed', 0), 1)
    .option('--jobs <n>', 'worker threads', intOption('--jobs', 1), defaultJobs)
    .option('--out <dir>', 'output folder', 'results')
    .option('--quiet', 'no progress output', false)
    .action(async (o: { seed: number; jobs: number; out: string; quiet: boolean }) => {
      checkWritable(o.out);
      console.log(await runSuite({ ...o, out: resolve(o.out), progress: (label) => progress(o.quiet, label) }));
    });

  const scenarioArg = (v: string): ScenarioConfig => (v.endsWith('.json') ? readConfig(v) : namedScenario(v).scenario);
  program
    .command('trace')
    .description('run a scenario with a JSON Lines event trace; prints its fingerprint')
    .argument('<scenario>', `a named scenario (${SCENARIO_NAMES.join(', ')}) or a scenario JSON file`)
    .option('--seed <n>', 'master seed', intOption('--seed', 0), 1)
    .option('--out <dir>', 'output folder', 'results/trace')
    .action((name: string, o: { seed: number; out: string }) => {
      const sc = scenarioArg(name);
      checkWritable(o.out);
      const r = traceScenario(sc, o.seed, resolve(o.out));
      console.log(`fingerprint ${r.fingerprint} (${r.events} events) → ${r.path}`);
    });

  program
    .command('fixture')
    .description('what each listener receives, message by message (JSON Lines; schema in docs/fixtures.md)')
    .argument('<scenario>', `a named scenario (${SCENARIO_NAMES.join(', ')}) or a scenario JSON file`)
    .option('--seed <n>', 'master seed', intOption('--seed', 0), 1)
    .option('--out <dir>', 'output folder', 'results/fixture')
    .action((name: string, o: { seed: number; out: string }) => {
      const sc = scenarioArg(name);
      checkWritable(o.out);
      const r = fixtureScenario(sc, o.seed, resolve(o.out));
      console.log(`${r.lines} lines → ${r.path} (fingerprint ${r.fingerprint})`);
    });

  program
    .command('report')
    .description('a static HTML page with every plot and table of a results folder')
    .argument('<dir>', 'a folder written by run or suite')
    .action((dir: string) => {
      console.log(`written ${writeReport(resolve(dir))}`);
    });

  program
    .command('live')
    .description('measure on the host kernel, in a network namespace of its own, and compare with the simulator')
    .argument(
      '<scenario>',
      'capacity (events held by a listener that does not read, per SO_RCVBUF) or flush (a reliable flush)',
    )
    .option('--buffers <list>', 'capacity: SO_RCVBUF requests', '2048,4096,8192,65536,212992')
    .option('--entries <n>', 'flush: number of entries', intOption('--entries', 1), 2000)
    .option(
      '--buffer <n>',
      'flush: SO_RCVBUFFORCE request (conntrackd halves NetlinkBufferSize)',
      intOption('--buffer', 1),
      1024,
    )
    .option('--unreliable', 'flush: a listener without NETLINK_BROADCAST_ERROR', false)
    .option('--delay-us <n>', 'flush: extra processing time per event in the listener', intOption('--delay-us', 0), 0)
    .option('--repeats <n>', 'repeats', intOption('--repeats', 1), 3)
    .option('--out <dir>', 'output folder (default results/live-<scenario>)')
    .action(
      async (
        scenario: string,
        o: {
          buffers: string;
          entries: number;
          buffer: number;
          repeats: number;
          out?: string;
          unreliable: boolean;
          delayUs: number;
        },
      ) => {
        if (scenario !== 'capacity' && scenario !== 'flush')
          throw new ConfigError('live', scenario, 'must be one of capacity, flush');
        const out = resolve(o.out ?? `results/live-${scenario}`);
        if (scenario === 'flush') {
          checkWritable(out);
          console.log(
            (
              await liveFlush({
                entries: o.entries,
                request: o.buffer,
                repeats: o.repeats,
                out,
                unreliable: o.unreliable,
                delayUs: o.delayUs,
              })
            ).join('\n'),
          );
          return;
        }
        const buffers = o.buffers.split(',').map((x) => Number(x));
        if (buffers.some((b) => !Number.isSafeInteger(b) || b < 1))
          throw new ConfigError('--buffers', o.buffers, 'must be a comma-separated list of positive integers');
        checkWritable(out);
        console.log((await liveCapacity({ buffers, repeats: o.repeats, out })).join('\n'));
      },
    );
  program
    .command('demo')
    .description('engine demo: M/M/1/K replications against the closed form')
    .addOption(new Option('--seed <n>', 'master seed').argParser(intOption('--seed', 0)).default(1))
    .option('--runs <n>', 'replications per point', intOption('--runs', 2), 8)
    .option('--jobs <n>', 'worker threads', intOption('--jobs', 1), Math.min(2, defaultJobs))
    .action(async (o: { seed: number; runs: number; jobs: number }) => {
      console.log(await demo(o));
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      console.error(`nfct-sim: ${e.message}`);
      return 2;
    }
    console.error(`nfct-sim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `nfct-sim list | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}
