// Option parsers and helpers shared by the commands of the nfct-sim command line.
import { InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { ConfigError } from '../../sim/index.js';

/** Worker processes when --jobs is not given: every core. */
export const DEFAULT_JOBS = Math.max(1, availableParallelism());

/** A parser for an integer option of at least `min` (and at most `max`). */
export function intOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}`);
    return n;
  };
}

/** Replications of one point at most: a verdict needs 8, a sweep of 10,000 is already hours. */
export const MAX_RUNS = 10_000;
/** Worker processes at most (this machine has 2 cores; more processes only cost memory). */
export const MAX_JOBS = 64;

/** `--set path=value`: the value is JSON if it parses (numbers, booleans, objects), else a string. */
export function setOption(v: string, prev: [string, unknown][] = []): [string, unknown][] {
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
export function readConfig(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('config', path, `must be a readable JSON file (${(e as NodeJS.ErrnoException).code})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError('config', path, `must be valid JSON (${(e as Error).message})`);
  }
}

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** "1m05s" / "12s": a duration for progress lines. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Progress on stderr with an ETA: a bar on a terminal, a line every 10 % otherwise, nothing
 * with --quiet. The first update says what is starting (tasks and threads). Wall-clock time is
 * read here, in the CLI, never inside a simulation.
 */
export function progress(quiet: boolean, label: string, what = ''): Progress {
  if (quiet) return { update() {}, stop() {} };
  const t0 = Date.now();
  const eta = (done: number, total: number): string =>
    done === 0 ? '?' : formatEta((((Date.now() - t0) / 1000) * (total - done)) / done);
  const start = (total: number): void =>
    void process.stderr.write(`${label}: ${total} runs${what ? ` ${what}` : ''}\n`);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {value}/{total} runs · ETA {eta_formatted} · {duration_formatted} elapsed`,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          start(total);
          bar.start(total, 0);
        }
        started = true;
        bar.update(done);
      },
      stop: () => started && bar.stop(),
    };
  }
  let lastTenth = -1;
  return {
    update(done, total) {
      if (lastTenth < 0) start(total);
      const tenth = Math.floor((done * 10) / total);
      if (tenth !== lastTenth) process.stderr.write(`${label}: ${done}/${total} runs, ETA ${eta(done, total)}\n`);
      lastTenth = tenth;
    },
    stop() {},
  };
}
