// The live runner's commands: live (one scenario on the host kernel or its simulated twin),
// validate (the whole validation set) and compare. The options of `live` come from the
// scenario table (experiments/live/scenarios.ts), where each scenario declares its own.
import type { Command } from 'commander';
import { Option } from 'commander';
import { resolve } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { ConfigError } from '../../sim/index.js';
import { checkWritable } from '../lib/output.js';
import type { LiveScenario } from '../live/dir.js';
import { CONNTRACK, kernelRelease, requireLive } from '../live/host.js';
import { TWIN_PRESET } from '../live/twin.js';
import { compareDirs, formatComparison, markdownComparison, writeComparison } from '../live/compare.js';
import { copyLiveFolders, predict, validate, validationSet } from '../live/validate.js';
import { calibrationSet } from '../live/calibration.js';
import { runCommandInGuest } from '../live/guest/command.js';
import { claimFolder } from '../lib/folder.js';
import { preset } from '../../models/presets.js';
import { SCENARIOS, optionFlag, runScenario, scenarioParams, type LiveOption } from '../live/scenarios.js';
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

/** Options of `live` itself (the rest belong to the scenario). */
const OWN_FLAGS = new Set(['simulate', 'out', 'replace', 'preset', 'guest', 'calibration', 'machine']);

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
    .option('--simulate', 'run the simulated twin (calibrated) instead of the host kernel', false)
    .option('--preset <name>', `the twin's kernel preset (with --simulate)`, TWIN_PRESET)
    .option('--calibration <name>', `the twin's calibrated speeds: host, or tcg-guest (docs/validation.md)`, 'host')
    .option(
      '--machine',
      "the twin's sender, listener and conntrack -F share 2 CPUs (the machine model; with --simulate)",
      false,
    )
    .option(
      '--guest <kernel>',
      'run it in a QEMU guest booted on another kernel: "debian" (this Debian release\'s kernel), a package linux-image-<release>, or a vmlinuz-<release> path (docs/guest.md)',
    )
    .option('--out <dir>', 'output folder (default results/live-<scenario> or results/sim-<scenario>)')
    .option('--replace', 'replace what an earlier run wrote into --out (--force is SO_RCVBUFFORCE here)', false);
  for (const o of liveOptions()) live.addOption(o);
  live.action(async (scenario: string, o: Record<string, unknown>, cmd: Command) => {
    if (!(scenario in SCENARIOS))
      throw new ConfigError('live', scenario, `must be one of ${Object.keys(SCENARIOS).join(', ')}`);
    // Only what was typed: the scenario's own defaults fill the rest.
    const given = Object.fromEntries(
      Object.entries(o).filter(([k]) => !OWN_FLAGS.has(k) && cmd.getOptionValueSource(k) === 'cli'),
    );
    scenarioParams(scenario as LiveScenario, given); // every option checked before anything is created
    const source = o.simulate ? 'sim' : 'live';
    const outArg = (o.out as string | undefined) ?? `results/${source}-${scenario}`;
    const presetName = o.preset as string;
    preset(presetName); // refused here, naming the presets, before anything runs
    calibrationSet(o.calibration as string);
    if (o.guest !== undefined && o.simulate) throw new ConfigError('--guest', o.guest, 'cannot go with --simulate');
    if (o.machine === true && !o.simulate)
      throw new ConfigError('--machine', true, 'goes with --simulate (a twin option)');
    // Refuse before anything is created when the host cannot run it.
    if (source === 'live' && o.guest === undefined)
      requireLive(scenario, scenario === 'capacity' || scenario === 'expiry' ? [] : [CONNTRACK]);
    checkWritable(outArg);
    const out = resolve(outArg);
    if (o.guest !== undefined) {
      claimFolder(out, '', { resume: false, force: o.replace === true, forceFlag: '--replace' });
      const args = [
        'live',
        scenario,
        ...Object.entries(given).flatMap(([k, v]) => (v === true ? [optionFlag(k)] : [optionFlag(k), String(v)])),
      ];
      const rc = await runCommandInGuest(o.guest as string, args, out, (l) => console.log(l));
      if (rc === 0) console.log(`written ${out}`);
      process.exitCode = rc;
      return;
    }
    const rows = await runScenario(
      scenario as LiveScenario,
      given,
      source,
      out,
      () => (source === 'live' ? kernelRelease() : presetName),
      { force: o.replace === true, calibration: o.calibration as string, machine: o.machine === true },
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
      'the validation set of docs/validation.md on the host kernel (or, with --guest, a guest kernel): every scenario live, its twin, the comparison (about an hour; --quick about 5 minutes)',
    )
    .option('--quick', 'only the cases that take seconds (no 20,000-entry one-event flushes, no expiry)', false)
    .option('--repeats <n>', 'repeats of each live case', intOption('--repeats', 1), 3)
    .option('--out <dir>', 'output folder', 'results/validation')
    .option('--preset <name>', "the twins' kernel preset (default: the one of the measured kernel, docs/validation.md)")
    .option(
      '--guest <kernel>',
      'measure in a QEMU guest booted on this kernel (as for live --guest); the twins run here',
    )
    .option(
      '--predict',
      'only the twins of every case on --preset, before any measurement: <out>/predictions.csv',
      false,
    )
    .option('--live-only', 'only the measurements (what a guest does for the host)', false)
    .option('--cases <list>', 'only these cases, comma-separated (names as in docs/validation.md)')
    .option('--calibration <name>', "the twins' calibrated speeds: host, or tcg-guest")
    .option('--from <dir>', 'compare the live folders an earlier validate wrote there (nothing is measured)')
    .option('--machine', "every twin on the machine model (the machine-* cases' twins are on it anyway)", false)
    .action(
      async (o: {
        quick: boolean;
        repeats: number;
        out: string;
        preset?: string;
        guest?: string;
        predict: boolean;
        liveOnly: boolean;
        cases?: string;
        calibration?: string;
        from?: string;
        machine: boolean;
      }) => {
        if (o.calibration !== undefined) calibrationSet(o.calibration);
        const cases = o.cases?.split(',').map((c) => c.trim());
        validationSet(o.quick, cases); // unknown names refused before anything runs
        if (o.preset !== undefined) preset(o.preset);
        const log = (l: string): void => console.log(l);
        checkWritable(o.out);
        const out = resolve(o.out);
        if (o.predict) {
          if (o.preset === undefined)
            throw new ConfigError('--predict', true, 'needs --preset (the kernel the prediction is for)');
          const rows = await predict({ quick: o.quick, preset: o.preset, out, log, cases, machine: o.machine });
          console.log(`${rows.length} predicted figures on ${o.preset}; written ${out}`);
          return;
        }
        let measure: 'here' | 'only' | 'done' = o.liveOnly ? 'only' : 'here';
        if (o.from !== undefined) {
          if (o.guest !== undefined || o.liveOnly)
            throw new ConfigError('--from', o.from, 'cannot go with --guest or --live-only (it measures nothing)');
          copyLiveFolders(resolve(o.from), out, validationSet(o.quick, cases));
          measure = 'done';
        } else if (o.guest !== undefined) {
          if (existsSync(out) && readdirSync(out).length > 0)
            throw new ConfigError(
              '--out',
              o.out,
              'must be an empty or new folder (a guest validation writes a whole set)',
            );
          const args = ['validate', '--live-only', '--repeats', String(o.repeats), ...(o.quick ? ['--quick'] : [])];
          if (o.cases !== undefined) args.push('--cases', o.cases);
          const rc = await runCommandInGuest(o.guest, args, out, log);
          if (rc !== 0) {
            process.exitCode = rc;
            return;
          }
          measure = 'done';
        } else requireLive('validate', [CONNTRACK]);
        const r = await validate({
          repeats: o.repeats,
          quick: o.quick,
          out,
          log,
          preset: o.preset,
          measure,
          cases,
          calibration: o.calibration,
          machine: o.machine,
        });
        if (measure === 'only') {
          console.log(`written ${out}`);
          return;
        }
        console.log(
          r.outside.length
            ? `${r.outside.length} of ${r.figures} compared figures outside the targets: ${r.outside.join('; ')} (docs/validation.md explains the known ones)`
            : `all ${r.figures} compared figures within the targets`,
        );
        console.log(`written ${out}`);
      },
    );

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
