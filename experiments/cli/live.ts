// The live runner's commands: live (one scenario on the host kernel or its simulated twin),
// validate (the whole validation set) and compare. The options of `live` come from the
// scenario table (experiments/live/scenarios.ts), where each scenario declares its own.
import type { Command } from 'commander';
import { Option } from 'commander';
import { resolve } from 'node:path';
import { ConfigError } from '../../sim/index.js';
import { checkWritable } from '../lib/output.js';
import type { LiveScenario } from '../live/dir.js';
import { CONNTRACK, kernelRelease, requireLive } from '../live/host.js';
import { TWIN_PRESET } from '../live/twin.js';
import { compareDirs, formatComparison, markdownComparison, writeComparison } from '../live/compare.js';
import { validate } from '../live/validate.js';
import { SCENARIOS, runScenario, scenarioParams, type LiveOption } from '../live/scenarios.js';
import { intOption } from './options.js';

/** Every flag of every scenario once, saying which scenarios take it, with what meaning and default. */
function liveOptions(): Option[] {
  const byFlag = new Map<string, { opt: LiveOption; uses: { name: string; opt: LiveOption }[] }>();
  for (const [name, def] of Object.entries(SCENARIOS)) {
    for (const opt of Object.values(def.options)) {
      const e = byFlag.get(opt.flag) ?? { opt, uses: [] };
      e.uses.push({ name, opt });
      byFlag.set(opt.flag, e);
    }
  }
  const dflt = (o: LiveOption): string =>
    typeof o.default === 'boolean' ? '' : `, default ${JSON.stringify(o.default)}`;
  return [...byFlag.values()].map(({ opt, uses }) => {
    const sameHelp = uses.every((u) => u.opt.help === opt.help);
    const help = sameHelp
      ? `${opt.help} [${uses.map((u) => `${u.name}${dflt(u.opt)}`).join('; ')}]`
      : uses.map((u) => `${u.name}: ${u.opt.help}${dflt(u.opt)}`).join('; ');
    const o = new Option(opt.flag, help);
    if (typeof opt.default === 'number') o.argParser(intOption(opt.flag.split(' ')[0]!, opt.min ?? 0));
    return o;
  });
}

export function addLiveCommands(program: Command): void {
  const live = program
    .command('live')
    .description(
      'run a validation scenario on the host kernel (own network namespace, loopback only) or, with --simulate, its simulated twin; both write the same folder format for `compare`. Each option lists the scenarios that take it with their defaults.',
    )
    .argument(
      '<scenario>',
      Object.entries(SCENARIOS)
        .map(([k, d]) => `${k}: ${d.describe}`)
        .join('; '),
    )
    .option('--simulate', 'run the simulated twin (linux-6.18 preset, calibrated) instead of the host kernel', false)
    .option('--out <dir>', 'output folder (default results/live-<scenario> or results/sim-<scenario>)')
    .option('--replace', 'replace what an earlier run wrote into --out (--force is SO_RCVBUFFORCE here)', false);
  for (const o of liveOptions()) live.addOption(o);
  live.action(async (scenario: string, o: Record<string, unknown>, cmd: Command) => {
    if (!(scenario in SCENARIOS))
      throw new ConfigError('live', scenario, `must be one of ${Object.keys(SCENARIOS).join(', ')}`);
    // Only what was typed: the scenario's own defaults fill the rest.
    const given = Object.fromEntries(
      Object.entries(o).filter(
        ([k]) => k !== 'simulate' && k !== 'out' && k !== 'replace' && cmd.getOptionValueSource(k) === 'cli',
      ),
    );
    scenarioParams(scenario as LiveScenario, given); // every option checked before anything is created
    const source = o.simulate ? 'sim' : 'live';
    const outArg = (o.out as string | undefined) ?? `results/${source}-${scenario}`;
    // Refuse before anything is created when the host cannot run it.
    if (source === 'live') requireLive(scenario, scenario === 'capacity' || scenario === 'expiry' ? [] : [CONNTRACK]);
    checkWritable(outArg);
    const out = resolve(outArg);
    const rows = await runScenario(
      scenario as LiveScenario,
      given,
      source,
      out,
      () => (source === 'live' ? kernelRelease() : TWIN_PRESET),
      { force: o.replace === true },
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
      'the validation set of docs/validation.md on the host kernel: every scenario live, its twin, the comparison (about 45 minutes; --quick about 2)',
    )
    .option('--quick', 'only the cases that take seconds (no 20,000-entry one-event flushes, no expiry)', false)
    .option('--repeats <n>', 'repeats of each live case', intOption('--repeats', 1), 3)
    .option('--out <dir>', 'output folder', 'results/validation')
    .action(async (o: { quick: boolean; repeats: number; out: string }) => {
      requireLive('validate', [CONNTRACK]);
      checkWritable(o.out);
      const out = resolve(o.out);
      const r = await validate({ repeats: o.repeats, quick: o.quick, out, log: (l) => console.log(l) });
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
      const c = compareDirs(resolve(liveDir), resolve(simDir));
      checkWritable(o.out ?? liveDir);
      const out = resolve(o.out ?? liveDir);
      await writeComparison(out, c);
      console.log(o.markdown ? markdownComparison(c) : formatComparison(c));
    });
}
