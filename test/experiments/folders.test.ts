// Results folders: one run per folder, nothing mixed, a manifest that says a folder is complete.
// The kill/resume matrix of #17: a fresh folder, a used one, another seed, a kill before and
// during the final writes, a real SIGKILL of a running process.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../sim/index.js';
import { runExperiment, type RunOptions } from '../../experiments/lib/runner.js';
import { REGISTRY } from '../../experiments/registry.js';
import { requireComplete, type Manifest } from '../../experiments/lib/folder.js';
import { writeReport } from '../../experiments/suite.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'nfct-folder-'));
const SMALL: [string, unknown][] = [
  ['workloads.0.flows', 100],
  ['workloads.0.rateHz', 400],
  ['durationS', 15],
];
const run = (out: string, o: Partial<RunOptions> = {}): Promise<string[]> =>
  runExperiment(REGISTRY, 'flush', { seed: 1, runs: 2, jobs: 1, out, quick: true, sets: SMALL, resume: false, ...o });

/** Every file of a folder with its contents (the manifest's own line aside), for comparisons. */
function contents(dir: string, skip: RegExp = /^$/): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string): void => {
    for (const n of readdirSync(join(dir, sub))) {
      const p = join(sub, n);
      if (statSync(join(dir, p)).isDirectory()) walk(p);
      else if (!skip.test(p)) out[p] = readFileSync(join(dir, p), 'utf8').replace(/"commit": ".*"/, '');
    }
  };
  walk('');
  return out;
}

const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

test('a finished folder has a manifest listing every file with its size and sha256, written last', async (t) => {
  const out = tmp();
  await run(out);
  const m = manifest(out);
  t.is(m.status, 'complete');
  t.is(m.kind, 'run');
  const params = JSON.parse(readFileSync(join(out, 'params.json'), 'utf8')) as { digest: string };
  t.is(m.digest, params.digest);
  const listed = m.files.map((f) => f.path).sort();
  t.deepEqual(listed, Object.keys(contents(out, /^manifest\.json$/)).sort());
  for (const f of m.files) {
    const bytes = readFileSync(join(out, f.path));
    t.is(bytes.length, f.bytes, f.path);
    t.is(createHash('sha256').update(bytes).digest('hex'), f.sha256, f.path);
  }
  // Every task file carries the run's digest.
  for (const f of readdirSync(join(out, 'tasks')))
    t.is((JSON.parse(readFileSync(join(out, 'tasks', f), 'utf8')) as { digest: string }).digest, m.digest);
  t.notThrows(() => requireComplete('report', out, ['run']));
});

test('a used folder is refused without --resume or --force, and nothing in it changes', async (t) => {
  const out = tmp();
  await run(out);
  const before = contents(out);
  await t.throwsAsync(run(out), { instanceOf: ConfigError, message: /^out = ".*": is not empty \(\d+ files/ });
  await t.throwsAsync(run(out, { seed: 2 }), { instanceOf: ConfigError, message: /is not empty/ });
  t.deepEqual(contents(out), before);
});

test('--force removes what the earlier run wrote, and only that, then runs as into a fresh folder', async (t) => {
  const fresh = tmp();
  await run(fresh, { seed: 2 });
  const out = tmp();
  await run(out); // seed 1: other results, its own plots and 4 task files
  writeFileSync(join(out, 'notes.txt'), 'mine');
  writeFileSync(join(out, 'tasks', '999.json'), '{}'); // a stale task of nobody's run
  await run(out, { seed: 2, force: true });
  const after = contents(out, /^notes\.txt$/);
  t.deepEqual(after, contents(fresh), 'identical to a run into a fresh folder');
  t.is(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine', 'a file nfct-sim did not write is kept');
  t.false(existsSync(join(out, 'tasks', '999.json')));
});

test('--resume with another seed refuses the folder and leaves it as it was', async (t) => {
  const out = tmp();
  await run(out);
  rmSync(join(out, 'manifest.json')); // an interrupted run
  rmSync(join(out, 'summary.csv'));
  const before = contents(out);
  await t.throwsAsync(run(out, { seed: 2, resume: true }), {
    instanceOf: ConfigError,
    message: /^resume = ".*": holds another run \(\d+ task files of digest [0-9a-f]{12}, this run is [0-9a-f]{12}\)/,
  });
  t.deepEqual(contents(out), before);
});

test('a kill during the final writes leaves a folder that report refuses and --resume completes', async (t) => {
  const whole = tmp();
  await run(whole);
  const out = tmp();
  cpSync(whole, out, { recursive: true });
  // Killed after results.csv, before summary.csv and the manifest.
  rmSync(join(out, 'manifest.json'));
  rmSync(join(out, 'summary.csv'));
  t.throws(() => writeReport(out), {
    instanceOf: ConfigError,
    message: /is not a complete nfct-sim folder: no manifest\.json/,
  });
  await run(out, { resume: true });
  t.deepEqual(contents(out), contents(whole));
  t.notThrows(() => writeReport(out));
});

test('a kill before any output: --resume runs only the missing tasks and gives the same folder', async (t) => {
  const whole = tmp();
  await run(whole);
  const out = tmp();
  cpSync(whole, out, { recursive: true });
  for (const f of readdirSync(out)) if (f !== 'tasks' && f !== 'params.json') rmSync(join(out, f));
  for (const f of readdirSync(join(out, 'tasks')).slice(0, 2)) rmSync(join(out, 'tasks', f));
  await run(out, { resume: true });
  t.deepEqual(contents(out), contents(whole));
});

test('a task file of another run inside the folder makes --resume refuse', async (t) => {
  const out = tmp();
  await run(out);
  rmSync(join(out, 'manifest.json'));
  const other = tmp();
  await run(other, { seed: 2 });
  cpSync(join(other, 'tasks', '0.json'), join(out, 'tasks', '0.json'));
  await t.throwsAsync(run(out, { resume: true }), {
    instanceOf: ConfigError,
    message: /holds another run \(1 task files/,
  });
});

test('a folder whose files changed after the manifest is refused as altered', async (t) => {
  const out = tmp();
  await run(out);
  const original = readFileSync(join(out, 'summary.csv'));
  writeFileSync(join(out, 'summary.csv'), 'tampered\n');
  t.throws(() => requireComplete('report', out, ['run']), {
    instanceOf: ConfigError,
    message: /is altered: summary\.csv/,
  });
  writeFileSync(join(out, 'summary.csv'), original);
  t.notThrows(() => requireComplete('report', out, ['run']));
  rmSync(join(out, 'summary.md'));
  t.throws(() => requireComplete('report', out, ['run']), {
    instanceOf: ConfigError,
    message: /is incomplete: summary\.md is listed in manifest\.json but missing/,
  });
});

test('SIGKILL of a running nfct-sim run at random points: --resume always gives the same folder', async (t) => {
  const cli = new URL('../../experiments/cli.ts', import.meta.url).pathname;
  const args = ['run', 'flush', '--quick', '--runs', '4', '--jobs', '1', '--quiet'];
  const sets = SMALL.flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`]);
  const exec = (out: string, extra: string[] = [], killAfterMs?: number): Promise<number | null> =>
    new Promise((done) => {
      const p = spawn(process.execPath, ['--import', 'tsx', cli, ...args, ...sets, '--out', out, ...extra], {
        stdio: 'ignore',
      });
      if (killAfterMs !== undefined) setTimeout(() => p.kill('SIGKILL'), killAfterMs);
      p.on('exit', (code) => done(code));
    });
  const whole = tmp();
  t.is(await exec(whole), 0);
  for (const ms of [900, 1500, 2100]) {
    const out = tmp();
    await exec(out, [], ms);
    const complete = existsSync(join(out, 'manifest.json'));
    t.is(await exec(out, complete ? ['--force'] : ['--resume']), 0, `after a kill at ${ms} ms`);
    t.deepEqual(contents(out), contents(whole), `after a kill at ${ms} ms`);
  }
});
