// `nfct-sim validate`: the whole validation set of docs/validation.md in one command — each
// scenario live, its simulated twin, and their comparison — with one summary at the end.
import { join } from 'node:path';
import type { Row } from '../lib/experiment.js';
import { toCsv, writeAtomic } from '../lib/output.js';
import { compareDirs, formatComparison, writeComparison } from './compare.js';
import type { LiveScenario } from './dir.js';
import { CONNTRACK, kernelRelease, requireLive } from './host.js';
import { runScenario } from './scenarios.js';
import { TWIN_PRESET } from './twin.js';

/** One case of the validation set: a folder name, a scenario and what differs from the defaults. */
export interface ValidationCase {
  name: string;
  scenario: LiveScenario;
  /** Options of the case; the scenario's defaults for the rest. */
  options: Readonly<Record<string, number | boolean | string>>;
}

/** The cases of docs/validation.md; `quick` keeps the ones that take seconds, not minutes. */
export function validationSet(quick: boolean): ValidationCase[] {
  const all: (ValidationCase & { minutes: number })[] = [
    { name: 'capacity', scenario: 'capacity', options: {}, minutes: 0.2 },
    { name: 'flush-2000-1024f', scenario: 'flush', options: { entries: 2000, buffer: 1024, force: true }, minutes: 2 },
    {
      name: 'flush-20000-1024f',
      scenario: 'flush',
      options: { entries: 20000, buffer: 1024, force: true },
      minutes: 17,
    },
    { name: 'flush-20000-2048', scenario: 'flush', options: { entries: 20000, buffer: 2048 }, minutes: 6 },
    {
      name: 'flush-20000-106496f',
      scenario: 'flush',
      options: { entries: 20000, buffer: 106496, force: true },
      minutes: 0.3,
    },
    { name: 'flush-20000-212992', scenario: 'flush', options: { entries: 20000, buffer: 212992 }, minutes: 0.3 },
    {
      name: 'flush-2000-unreliable',
      scenario: 'flush',
      options: { entries: 2000, buffer: 106496, unreliable: true, delayUs: 1000 },
      minutes: 0.2,
    },
    { name: 'expiry-5', scenario: 'expiry', options: { flows: 1000, timeoutS: 5, offsetS: 1 }, minutes: 7 },
    { name: 'expiry-90', scenario: 'expiry', options: { flows: 1000, timeoutS: 90, offsetS: 1 }, minutes: 8 },
    {
      name: 'exhaustion',
      scenario: 'exhaustion',
      options: { max: 2000, delayUs: 10000, rateHz: 50, durationS: 10 },
      minutes: 1,
    },
  ];
  return all
    .filter((c) => !quick || c.minutes <= 1)
    .map((c) => ({ name: c.name, scenario: c.scenario, options: c.options }));
}

/** Runs every case live and simulated, compares them, and writes summary.csv into `out`. */
export async function validate(o: {
  repeats: number;
  quick: boolean;
  out: string;
  log: (line: string) => void;
}): Promise<{ figures: number; outside: string[] }> {
  requireLive('validate', [CONNTRACK]);
  const summary: Row[] = [];
  const outside: string[] = [];
  for (const c of validationSet(o.quick)) {
    const opts = { repeats: o.repeats, ...c.options };
    const liveDir = join(o.out, c.name, 'live');
    const simDir = join(o.out, c.name, 'sim');
    o.log(`${c.name}: live…`);
    await runScenario(c.scenario, opts, 'live', liveDir, kernelRelease);
    await runScenario(c.scenario, { ...opts, repeats: 1 }, 'sim', simDir, () => TWIN_PRESET);
    const cmp = compareDirs(liveDir, simDir);
    await writeComparison(join(o.out, c.name), cmp);
    o.log(formatComparison(cmp));
    for (const f of cmp.figures) {
      summary.push({
        case: c.name,
        figure: f.figure,
        kind: f.kind,
        live_median: f.liveMedian,
        sim: f.simMedian,
        rel_error: f.relError,
        within_target: f.kind === 'observed' ? '' : f.ok ? 1 : 0,
      });
      if (!f.ok) outside.push(`${c.name} ${f.figure}`);
    }
  }
  writeAtomic(join(o.out, 'summary.csv'), toCsv(summary, Object.keys(summary[0]!)));
  return { figures: summary.filter((r) => r.kind !== 'observed').length, outside };
}
