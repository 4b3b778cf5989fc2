// The folder a live scenario (or its simulated twin) writes: scenario.json says what was run and
// where (live kernel release, or the simulator's preset and calibration), results.csv has one row
// per repeat in the same schema for both, and optional series files hold the raw observations.
// `nfct-sim compare` reads two such folders.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../../sim/index.js';
import { columnsOf, toCsv, writeAtomic } from '../lib/output.js';
import { digestOf, requireComplete, writeManifest } from '../lib/folder.js';
import type { Row } from '../lib/experiment.js';
import type { GuestInfo } from './guest/env.js';

export const LIVE_SCENARIOS = [
  'capacity',
  'flush',
  'expiry',
  'exhaustion',
  'conntrackd',
  'conntrack-e',
  'sync',
  'delete-cost',
] as const;
export type LiveScenario = (typeof LIVE_SCENARIOS)[number];

/** scenario.json. */
export interface RunInfo {
  scenario: LiveScenario;
  source: 'live' | 'sim';
  /** The scenario's parameters (repeats excluded: they may differ between live and sim). */
  params: Record<string, number | boolean | string | number[]>;
  /** Live: the kernel release; sim: the preset. */
  system: string;
  /** Sim: the calibrated values used (see calibration.ts). */
  calibration?: Record<string, number>;
  /** Sim: the named calibration when it is not the host's ('tcg-guest'). */
  calibrationSet?: string;
  /** Live: load averages (1, 5, 15 min) when the measurement started and ended, and the CPUs. */
  load?: { start: number[]; end: number[]; cpus: number };
  /** Live: the machine's CPU time over the run by kind (/proc/stat, in USER_HZ ticks); steal is time the hypervisor took. */
  cpuTicks?: Record<string, number>;
  /** Live in a guest (`--guest`): what ran it (docs/guest.md). */
  guest?: GuestInfo;
}

/** A run folder's contents. */
export interface RunDir {
  info: RunInfo;
  results: Row[];
}

/** Writes scenario.json, results.csv and each series as `<name>.csv`, each file atomically. */
export function writeRunDir(out: string, info: RunInfo, results: Row[], series: Record<string, Row[]> = {}): void {
  for (const [name, rows] of Object.entries(series))
    if (rows.length) writeAtomic(join(out, `${name}.csv`), toCsv(rows, columnsOf(rows)));
  writeAtomic(join(out, 'results.csv'), toCsv(results, columnsOf(results)));
  writeAtomic(join(out, 'scenario.json'), `${JSON.stringify(info, null, 2)}\n`);
  writeManifest(out, 'live', digestOf(info));
}

/** Reads a run folder, with one clear error when it is not one. */
export function readRunDir(dir: string): RunDir {
  const infoPath = join(dir, 'scenario.json');
  const csvPath = join(dir, 'results.csv');
  if (!existsSync(infoPath) || !existsSync(csvPath))
    throw new ConfigError(
      'dir',
      dir,
      'must be a folder written by `nfct-sim live <scenario>` (with or without --simulate): scenario.json and results.csv',
    );
  let info: RunInfo;
  try {
    info = JSON.parse(readFileSync(infoPath, 'utf8')) as RunInfo;
  } catch (e) {
    throw new ConfigError(infoPath, 'contents', `must be JSON (${(e as Error).message})`);
  }
  if (!(LIVE_SCENARIOS as readonly string[]).includes(info.scenario) || !['live', 'sim'].includes(info.source))
    throw new ConfigError(
      `${infoPath}: scenario`,
      String(info.scenario),
      `must be one of ${LIVE_SCENARIOS.join(', ')} with source live or sim`,
    );
  requireComplete('dir', dir, ['live']);
  const rows = parse(readFileSync(csvPath, 'utf8'), { columns: true }) as Record<string, string>[];
  const results = rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v !== '' && Number.isFinite(Number(v)) ? Number(v) : v])),
  ) as Row[];
  return { info, results };
}
