// The commands that run one named scenario or scenario file: trace (the event log and its
// fingerprint) and fixture (what each listener receives; docs/fixtures.md).
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { parseScenario, type Scenario } from '../../models/scenario.js';
import { SCENARIO_NAMES, namedScenario } from '../../models/scenarios.js';
import { checkWritable } from '../lib/output.js';
import { FIXTURE_FORMATS, fixtureScenario, traceScenario, type FixtureFormat } from '../fixture.js';
import { intOption, readConfig } from './options.js';

/** One command over a scenario: its name, what it does, its default folder and what it prints. */
function scenarioCommand(
  program: Command,
  name: string,
  description: string,
  defaultOut: string,
  run: (sc: Scenario, seed: number, out: string, format: FixtureFormat) => string,
  withFormat = false,
): void {
  const cmd = program
    .command(name)
    .description(description)
    .argument('<scenario>', `a named scenario (${SCENARIO_NAMES.join(', ')}) or a scenario JSON file`)
    .option('--seed <n>', 'master seed', intOption('--seed', 0), 1)
    .option('--out <dir>', 'output folder', defaultOut);
  if (withFormat)
    cmd.addOption(
      new Option('--format <format>', 'jsonl: one file; pcap or conntrack: one file per listener')
        .choices(FIXTURE_FORMATS)
        .default('jsonl'),
    );
  cmd.action((arg: string, o: { seed: number; out: string; format?: FixtureFormat }) => {
    const sc = parseScenario(arg.endsWith('.json') ? readConfig(arg) : namedScenario(arg).scenario);
    checkWritable(o.out);
    console.log(run(sc, o.seed, resolve(o.out), o.format ?? 'jsonl'));
  });
}

export function addScenarioCommands(program: Command): void {
  scenarioCommand(
    program,
    'trace',
    'run a scenario with a JSON Lines event trace; prints its fingerprint',
    'results/trace',
    (sc, seed, out) => {
      const r = traceScenario(sc, seed, out);
      return `fingerprint ${r.fingerprint} (${r.events} events) → ${r.path}`;
    },
  );
  scenarioCommand(
    program,
    'fixture',
    'what each listener receives, message by message (JSON Lines, pcap or conntrack -E text; docs/fixtures.md)',
    'results/fixture',
    (sc, seed, out, format) => {
      const r = fixtureScenario(sc, seed, out, format);
      const what = format === 'jsonl' ? 'lines' : format === 'pcap' ? 'records' : 'lines';
      return `${r.lines} ${what} → ${r.files.join(', ')} (fingerprint ${r.fingerprint})`;
    },
    true,
  );
}
