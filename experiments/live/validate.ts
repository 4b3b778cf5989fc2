// `nfct-sim validate`: the whole validation set of docs/validation.md in one command — each
// scenario live, its simulated twin, and their comparison — with one summary at the end.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../sim/index.js';
import type { Row } from '../lib/experiment.js';
import { toCsv, writeAtomic } from '../lib/output.js';
import { compareDirs, compareResults, formatComparison, writeComparison, type ComparedFigure } from './compare.js';
import { readRunDir, type RunInfo } from './dir.js';
import type { LiveScenario } from './dir.js';
import { CONNTRACK, kernelRelease, requireLive } from './host.js';
import { runScenario } from './scenarios.js';
import { presetForRelease } from './twin.js';

/** One case of the validation set: a folder name, a scenario and what differs from the defaults. */
export interface ValidationCase {
  name: string;
  scenario: LiveScenario;
  /** Options of the case; the scenario's defaults for the rest. */
  options: Readonly<Record<string, number | boolean | string>>;
  /** Its twin runs on the machine model (issue #13's cases); `validate --machine` turns it on for all. */
  machine?: boolean;
}

/**
 * The cases of docs/validation.md; `quick` keeps the ones that take seconds, not minutes, and
 * `names` (when given) only those cases, each of which must exist.
 */
export function validationSet(quick: boolean, names?: readonly string[]): ValidationCase[] {
  const all: (ValidationCase & { minutes: number })[] = [
    { name: 'capacity', scenario: 'capacity', options: {}, minutes: 0.2 },
    // Requests above net.core.rmem_max, which SO_RCVBUF clamps to it: 212992 on 6.1, 4 MiB on 6.18.
    {
      name: 'capacity-above-rmem-max',
      scenario: 'capacity',
      options: { buffers: '425984,1048576', flows: 2000 },
      minutes: 0.2,
    },
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
    // The real listener programs (docs/validation.md#the-real-programs). Calibration cases first:
    // the twins' reading speeds come from them (calibration.ts), the rest are predicted.
    {
      name: 'conntrackd-calibration',
      scenario: 'conntrackd',
      options: { buffer: 67108864, growth: 1, flows: 30000 },
      minutes: 0.3,
    },
    { name: 'conntrack-e-calibration', scenario: 'conntrack-e', options: { flows: 10000 }, minutes: 0.2 },
    // Named after the first comparison (docs/validation.md): conntrackd's cost per DESTROY read
    // back to back, and the redelivery worker's speed behind a fast reliable reader.
    {
      name: 'conntrackd-flush-calibration',
      scenario: 'conntrackd',
      options: { buffer: 67108864, growth: 1, flows: 30000, flush: true },
      minutes: 0.3,
    },
    {
      name: 'conntrackd-reliable-flush-16384',
      scenario: 'conntrackd',
      options: { buffer: 16384, growth: 4, flows: 30000, reliable: true, flush: true },
      minutes: 0.3,
    },
    ...[2048, 65536, 262144].map((buffer) => ({
      name: `conntrackd-${buffer}`,
      scenario: 'conntrackd' as const,
      options: { buffer, growth: 4, flows: 30000 },
      minutes: 0.3,
    })),
    // One event of room drains in 16-250 s per repeat (up to the runner's 300 s window).
    ...[2048, 65536].map((buffer) => ({
      name: `conntrackd-reliable-flush-${buffer}`,
      scenario: 'conntrackd' as const,
      options: { buffer, growth: 4, flows: 30000, reliable: true, flush: true },
      minutes: buffer === 2048 ? 8 : 0.3,
    })),
    { name: 'conntrack-e-30000', scenario: 'conntrack-e', options: { flows: 30000 }, minutes: 0.2 },
    {
      name: 'conntrack-e-30000-b1m',
      scenario: 'conntrack-e',
      options: { flows: 30000, bufferSize: 1048576 },
      minutes: 0.2,
    },
    {
      name: 'conntrack-e-paced',
      scenario: 'conntrack-e',
      options: { flows: 30000, fillRateHz: 10000 },
      minutes: 0.2,
    },
    ...(['notrack', 'ftfw'] as const).map((mode) => ({
      name: `sync-${mode}-10`,
      scenario: 'sync' as const,
      options: { mode, lossPct: 10 },
      minutes: 0.3,
    })),
    // The machine model's cases (issue #13, docs/validation.md#the-machine). Calibration first:
    // the sender's CPU per flow with one listener subscribed.
    {
      name: 'machine-calibration',
      scenario: 'flush',
      options: { entries: 30000, buffer: 212992, unreliable: true },
      minutes: 0.2,
      machine: true,
    },
    // Named after the second measurement (docs/validation.md#the-machine): the runner's cost per
    // wake-up, from flows paced so that every line wakes it.
    {
      name: 'machine-calibration-paced',
      scenario: 'flush',
      options: { entries: 3000, buffer: 212992, unreliable: true, fillRateHz: 1000 },
      minutes: 0.2,
      machine: true,
    },
    // Named after the third: how that cost grows with the time the runner slept (200 us here).
    {
      name: 'machine-calibration-paced-5000',
      scenario: 'flush',
      options: { entries: 5000, buffer: 212992, unreliable: true, fillRateHz: 5000 },
      minutes: 0.2,
      machine: true,
    },
    // Predictions: unreliable flushes of flows created as fast as the sender goes, …
    ...[8192, 106496].flatMap((buffer) =>
      [50, 200].map((delayUs) => ({
        name: `machine-unreliable-${buffer}-${delayUs}us`,
        scenario: 'flush' as const,
        options: { entries: 30000, buffer, unreliable: true, delayUs },
        minutes: 0.2,
        machine: true,
      })),
    ),
    // … reliable ones (BROADCAST_ERROR + NO_ENOBUFS) into large buffers, …
    ...[106496, 262144].map((buffer) => ({
      name: `machine-reliable-${buffer}`,
      scenario: 'flush' as const,
      options: { entries: 30000, buffer, netlinkNoEnobufs: true, delayUs: 50 },
      minutes: 0.3,
      machine: true,
    })),
    // … table exhaustion with an overfill phase: fill to max 3000, 40 % more, flush into a slow
    // reliable listener, refill at 50/s while the flushed entries are parked, …
    {
      name: 'machine-exhaustion-overfill',
      scenario: 'exhaustion',
      options: { max: 3000, delayUs: 10000, rateHz: 50, durationS: 10, overfillPct: 40 },
      minutes: 1,
      machine: true,
    },
    // conntrack -D on the machine (docs/validation.md#conntrack--d): calibration with 200 entries
    // in the table (what a command and its walk of the buckets cost), …
    {
      name: 'delete-cost-calibration',
      scenario: 'delete-cost',
      options: {},
      minutes: 0.2,
      machine: true,
    },
    // … 20000 entries to walk past (predicted from the first model and missed by 4.6x; then
    // its calibration of the cost per entry dumped), …
    {
      name: 'delete-cost-20000',
      scenario: 'delete-cost',
      options: { entries: 20000 },
      minutes: 0.3,
      machine: true,
    },
    // … and predicted from the second model: 40000 entries (the most the port range takes).
    {
      name: 'delete-cost-40000',
      scenario: 'delete-cost',
      options: { entries: 40000 },
      minutes: 1,
      machine: true,
    },
    // … and NEWs lost while flows are created at fixed rates (0: as fast as possible).
    ...[10000, 30000, 0].map((fillRateHz) => ({
      name: `machine-news-${fillRateHz || 'max'}`,
      scenario: 'flush' as const,
      options: { entries: 30000, buffer: 16384, unreliable: true, delayUs: 20, fillRateHz },
      minutes: 0.2,
      machine: true,
    })),
  ];
  for (const n of names ?? [])
    if (!all.some((c) => c.name === n))
      throw new ConfigError('--cases', n, `must be one of ${all.map((c) => c.name).join(', ')}`);
  return all
    .filter((c) => (!quick || c.minutes <= 1) && (names === undefined || names.includes(c.name)))
    .map((c) => ({ name: c.name, scenario: c.scenario, options: c.options, ...(c.machine ? { machine: true } : {}) }));
}

/**
 * Runs every case live and simulated on `preset`, compares them, and writes summary.csv into
 * `out`. `measure`: 'here' measures on this kernel; 'only' measures and stops (what a guest does
 * for the host); 'done' takes the live folders `<out>/<case>/live` a guest already wrote.
 */
export async function validate(o: {
  repeats: number;
  quick: boolean;
  out: string;
  log: (line: string) => void;
  preset?: string;
  measure?: 'here' | 'only' | 'done';
  cases?: readonly string[];
  calibration?: string;
  /** Every twin on the machine model (the machine cases have it anyway). */
  machine?: boolean;
}): Promise<{ figures: number; outside: string[] }> {
  const measure = o.measure ?? 'here';
  if (measure !== 'done') requireLive('validate', [CONNTRACK]);
  const summary: Row[] = [];
  const outside: string[] = [];
  for (const c of validationSet(o.quick, o.cases)) {
    const opts = { repeats: o.repeats, ...c.options };
    const liveDir = join(o.out, c.name, 'live');
    const simDir = join(o.out, c.name, 'sim');
    if (measure !== 'done') {
      o.log(`${c.name}: live…`);
      await runScenario(c.scenario, opts, 'live', liveDir, kernelRelease);
      if (measure === 'only') continue;
    }
    const preset = o.preset ?? presetForRelease(readRunDir(liveDir).info.system);
    await runScenario(c.scenario, { ...opts, repeats: 1 }, 'sim', simDir, () => preset, {
      calibration: o.calibration,
      machine: (o.machine ?? false) || (c.machine ?? false),
    });
    const cmp = compareDirs(liveDir, simDir);
    await writeComparison(join(o.out, c.name), cmp);
    o.log(formatComparison(cmp));
    summary.push(...summaryRows(c.name, cmp.figures));
    for (const f of cmp.figures) if (!f.ok) outside.push(`${c.name} ${f.figure}`);
  }
  if (summary.length) writeAtomic(join(o.out, 'summary.csv'), toCsv(summary, Object.keys(summary[0]!)));
  return { figures: summary.filter((r) => r.kind !== 'observed').length, outside };
}

function summaryRows(name: string, figures: readonly ComparedFigure[]): Row[] {
  return figures.map((f) => ({
    case: name,
    figure: f.figure,
    kind: f.kind,
    live_median: f.liveMedian,
    sim: f.simMedian,
    rel_error: f.relError,
    within_target: f.kind === 'observed' ? '' : f.ok ? 1 : 0,
  }));
}

/**
 * `validate --predict`: the twins of every case on `preset`, before any measurement, into
 * `<out>/<case>/sim`, and predictions.csv: each figure the comparison will judge, its predicted
 * median, and whether it is judged in an emulated (TCG) guest or only observed there.
 */
export async function predict(o: {
  quick: boolean;
  preset: string;
  out: string;
  log: (line: string) => void;
  cases?: readonly string[];
  machine?: boolean;
}): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of validationSet(o.quick, o.cases)) {
    const simDir = join(o.out, c.name, 'sim');
    o.log(`${c.name}: predicting on ${o.preset}…`);
    await runScenario(c.scenario, { repeats: 1, ...c.options }, 'sim', simDir, () => o.preset, {
      machine: (o.machine ?? false) || (c.machine ?? false),
    });
    const sim = readRunDir(simDir);
    const tcg = { params: sim.info.params, guest: { accel: 'tcg' } as RunInfo['guest'] };
    // Figures of the prediction alone: the comparison's case split and medians, taken on itself.
    const host = compareResults(c.scenario, sim.results, sim.results);
    const guest = compareResults(c.scenario, sim.results, sim.results, tcg);
    host.forEach((f, i) =>
      rows.push({
        case: c.name,
        point: f.case,
        figure: f.figure,
        kind: f.kind,
        kind_in_tcg_guest: guest[i]!.kind,
        predicted: f.simMedian,
      }),
    );
  }
  writeAtomic(join(o.out, 'predictions.csv'), toCsv(rows, Object.keys(rows[0]!)));
  return rows;
}

/** `validate --from`: each case's live folder of an earlier validation, copied into `out` (checked complete). */
export function copyLiveFolders(from: string, out: string, cases: readonly ValidationCase[]): void {
  if (from === out) return;
  for (const c of cases) readRunDir(join(from, c.name, 'live')); // all there before anything is copied
  for (const c of cases) cpSync(join(from, c.name, 'live'), join(out, c.name, 'live'), { recursive: true });
}
