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
import { parseScenario, type Scenario } from '../models/scenario.js';
import { demo } from './demo.js';
import { EXPERIMENTS, REGISTRY } from './registry.js';
import { mergeRuns, planRun, runPlan } from './lib/runner.js';
import { checkWritable } from './lib/output.js';
import { runSuite, writeReport } from './suite.js';
import { SCENARIO_NAMES, namedScenario } from '../models/scenarios.js';
import { fixtureScenario, traceScenario } from './fixture.js';
import { SCENARIOS, runScenario, type LiveOptions } from './live/scenarios.js';
import type { LiveScenario } from './live/dir.js';
import { CONNTRACK, kernelRelease, requireLive } from './live/host.js';
import { TWIN_PRESET } from './live/twin.js';
import { compareDirs, formatComparison, markdownComparison, writeComparison } from './live/compare.js';
import { validate, validationBase } from './live/validate.js';

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

/** A scenario JSON file, read and parsed as JSON (the runner or parseScenario checks it). */
function readConfig(path: string): unknown {
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
  return json;
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
      const out = resolve(o.out ?? join('results', name));
      const sets = o.preset ? ([['preset', o.preset], ...o.set] as [string, unknown][]) : o.set;
      if (o.preset) preset(o.preset);
      const shard = o.shard ? parseShard(o.shard) : undefined;
      const config = o.config ? readConfig(o.config) : undefined;
      const plan = planRun(REGISTRY, name, { quick: o.quick, sets, ...(config ? { config } : {}) }); // every error before anything is written
      checkWritable(out);
      const bar = progress(o.quiet, name);
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
      console.log((await mergeRuns(REGISTRY, dirs, resolve(o.out))).join('\n'));
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

  const scenarioArg = (v: string): Scenario =>
    parseScenario(v.endsWith('.json') ? readConfig(v) : namedScenario(v).scenario);
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
    .description(
      'run a validation scenario on the host kernel (own network namespace, loopback only) or, with --simulate, its simulated twin; both write the same folder format for `compare`',
    )
    .argument(
      '<scenario>',
      Object.entries(SCENARIOS)
        .map(([k, d]) => `${k}: ${d.describe}`)
        .join('; '),
    )
    .option('--simulate', 'run the simulated twin (linux-6.18 preset, calibrated) instead of the host kernel', false)
    .option('--repeats <n>', 'repeats', intOption('--repeats', 1), 3)
    .option('--out <dir>', 'output folder (default results/live-<scenario> or results/sim-<scenario>)')
    .option('--buffers <list>', 'capacity: SO_RCVBUF requests', '2048,4096,8192,65536,212992')
    .option(
      '--flows <n>',
      'capacity: new flows per measurement (default 500); expiry: flows in the burst (default 1000)',
      intOption('--flows', 1),
    )
    .option(
      '--entries <n>',
      'flush: entries in the table when it is flushed (exhaustion fills the table to --max)',
      intOption('--entries', 1),
      2000,
    )
    .option('--buffer <n>', 'flush, exhaustion: SO_RCVBUF request in bytes', intOption('--buffer', 1), 2048)
    .option('--force', 'flush, exhaustion: SO_RCVBUFFORCE instead of SO_RCVBUF', false)
    .option('--unreliable', 'flush: a listener without NETLINK_BROADCAST_ERROR', false)
    .option(
      '--delay-us <n>',
      'flush, exhaustion: busy-waited processing time per event in the listener (default 0; exhaustion 10000: a slow listener)',
      intOption('--delay-us', 0),
    )
    .option('--timeout-s <n>', 'expiry: nf_conntrack_udp_timeout for the burst', intOption('--timeout-s', 1), 5)
    .option(
      '--offset-s <n>',
      'expiry: seconds between the gc run that removes the probe and the burst',
      intOption('--offset-s', 0),
      1,
    )
    .option(
      '--max <n>',
      'exhaustion: nf_conntrack_max during the run (a global sysctl, restored)',
      intOption('--max', 64),
      2000,
    )
    .option(
      '--fill-rate-hz <n>',
      'flush, expiry, exhaustion: new flows per second while the table is filled (0: as fast as possible)',
      intOption('--fill-rate-hz', 0),
      0,
    )
    .option('--rate-hz <n>', 'exhaustion: new flows per second after the flush', intOption('--rate-hz', 1), 50)
    .option(
      '--duration-s <n>',
      'exhaustion: how long new flows are sent after the flush',
      intOption('--duration-s', 1),
      10,
    )
    .action(async (scenario: string, o: LiveOptions & { simulate: boolean; out?: string }) => {
      if (!(scenario in SCENARIOS))
        throw new ConfigError('live', scenario, `must be one of ${Object.keys(SCENARIOS).join(', ')}`);
      const source = o.simulate ? 'sim' : 'live';
      const out = resolve(o.out ?? `results/${source}-${scenario}`);
      // Refuse before anything is created when the host cannot run it.
      if (source === 'live') requireLive(scenario, scenario === 'capacity' || scenario === 'expiry' ? [] : [CONNTRACK]);
      checkWritable(out);
      const rows = await runScenario(scenario as LiveScenario, o, source, out, () =>
        source === 'live' ? kernelRelease() : TWIN_PRESET,
      );
      console.log(
        rows
          .map((r) =>
            Object.entries(r)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          )
          .join('\n'),
      );
      console.log(`written ${out}`);
    });
  program
    .command('validate')
    .description(
      'the validation set of docs/validation.md on the host kernel: every scenario live, its twin, the comparison (about 45 minutes; --quick about 5)',
    )
    .option('--quick', 'only the cases that take seconds (no 20,000-entry one-event flushes, no expiry)', false)
    .option('--repeats <n>', 'repeats of each live case', intOption('--repeats', 1), 3)
    .option('--out <dir>', 'output folder', 'results/validation')
    .action(async (o: { quick: boolean; repeats: number; out: string }) => {
      requireLive('validate', [CONNTRACK]);
      const out = resolve(o.out);
      checkWritable(out);
      const base = validationBase(o.repeats);
      const r = await validate({ base, quick: o.quick, out, log: (l) => console.log(l) });
      console.log(
        r.outside.length
          ? `${r.outside.length} of ${r.figures} compared figures outside the targets: ${r.outside.join('; ')} (docs/validation.md explains the known ones)`
          : `all ${r.figures} compared figures within the targets`,
      );
      console.log(`written ${out}`);
    });
  program
    .command('compare')
    .description('live and simulated figures of one scenario side by side, with relative errors (table, CSV, plot)')
    .argument('<live-dir>', 'a folder written by `nfct-sim live <scenario>`')
    .argument('<sim-dir>', 'a folder written by `nfct-sim live <scenario> --simulate` (or another live run)')
    .option('--out <dir>', 'where comparison.csv and comparison.svg go (default <live-dir>)')
    .option('--markdown', 'print the table as Markdown', false)
    .action(async (liveDir: string, simDir: string, o: { out?: string; markdown: boolean }) => {
      const out = resolve(o.out ?? liveDir);
      checkWritable(out);
      const c = compareDirs(resolve(liveDir), resolve(simDir));
      await writeComparison(out, c);
      console.log(o.markdown ? markdownComparison(c) : formatComparison(c));
    });
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
