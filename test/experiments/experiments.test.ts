// Every experiment in a tiny configuration: outputs, determinism, the claims of its summary,
// and a golden fingerprint of its trajectory.
import test from 'ava';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runExperiment } from '../../experiments/lib/runner.js';
import { EXPERIMENTS, REGISTRY } from '../../experiments/registry.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'nfct-exp-'));

// Shrinks each experiment to a second or two of work.
const TINY: Record<string, [string, unknown][]> = {
  'seed-stress': [
    ['workloads.0.stopS', 1],
    ['actions.0.atS', 1],
    ['durationS', 20],
  ],
  flush: [
    ['workloads.0.flows', 200],
    ['workloads.0.rateHz', 400],
    ['durationS', 20],
  ],
  'retry-delay': [
    ['workloads.0.flows', 200],
    ['workloads.0.rateHz', 400],
    ['durationS', 40],
  ],
  reorder: [
    ['workloads.0.stopS', 5],
    ['durationS', 20],
  ],
  'table-full': [
    ['workloads.0.stopS', 60],
    ['durationS', 70],
  ],
  eras: [
    ['workloads.0.stopS', 4],
    ['actions.0.atS', 2],
    ['durationS', 20],
  ],
  'buffer-size': [
    ['workloads.0.stopS', 2],
    ['durationS', 40],
  ],
  failover: [
    ['workloads.0.stopS', 5],
    ['actions.0.atS', 5],
    ['durationS', 5.5],
  ],
};

async function tiny(name: string, out: string, jobs = 1): Promise<string[]> {
  return runExperiment(REGISTRY, name, { seed: 1, runs: 2, jobs, out, quick: true, sets: TINY[name]!, resume: false });
}

const csv = (path: string): Record<string, string>[] =>
  parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];

for (const name of Object.keys(EXPERIMENTS)) {
  test(`${name}: writes its outputs, is byte-identical on a second run, and its trajectory is pinned`, async (t) => {
    t.truthy(TINY[name], 'every experiment has a tiny configuration here');
    const a = tmp();
    const b = tmp();
    await tiny(name, a);
    await tiny(name, b, 2);
    for (const f of ['params.json', 'results.csv', 'summary.csv', 'summary.md']) t.true(existsSync(join(a, f)), f);
    for (const f of readdirSync(a).filter(
      (x) => x.endsWith('.csv') || x.endsWith('.svg') || x.endsWith('.vl.json') || x === 'summary.md',
    )) {
      t.is(
        readFileSync(join(b, f), 'utf8'),
        readFileSync(join(a, f), 'utf8'),
        `${f} differs between --jobs 1 and --jobs 2`,
      );
    }
    t.false(readdirSync(a).some((f) => f.endsWith('.tmp')));
    const rows = csv(join(a, 'results.csv'));
    const params = JSON.parse(readFileSync(join(a, 'params.json'), 'utf8')) as { points: unknown[]; runs: number };
    t.is(rows.length, params.points.length * params.runs);
    t.true(rows.every((r) => /^[0-9a-f]{8}$/.test(r.fingerprint!)));
    t.true(readFileSync(join(a, 'summary.md'), 'utf8').includes('**Answer.**'));
    t.snapshot(
      rows.map((r) => `${r.run} ${r.fingerprint} ${r.events}`),
      'fingerprints',
    );
  });
}

test('retry-delay: E1 per-attempt delays pass the KS test against U[0, 15 s); the fixed timer resends in bursts', async (t) => {
  const out = tmp();
  await runExperiment(REGISTRY, 'retry-delay', {
    seed: 1,
    runs: 1,
    jobs: 1,
    out,
    quick: true,
    sets: [
      ['preset', 'linux-2.6.31'],
      ['workloads.0.flows', 1000],
      ['workloads.0.rateHz', 1000],
      ['durationS', 60],
    ],
    resume: false,
  });
  const rows = csv(join(out, 'results.csv'));
  const jitter = rows.find((r) => r.jitter === 'true')!;
  const fixed = rows.find((r) => r.jitter === 'false')!;
  t.true(Number(jitter.gaps) > 300);
  t.true(Number(jitter.ks_d) < Number(jitter.ks_crit_01), `D ${jitter.ks_d} vs ${jitter.ks_crit_01}`);
  t.is(Number(fixed.gap_p50_s), 15);
  t.true(Number(fixed.peak_resends_per_100ms) > 10 * Number(jitter.peak_resends_per_100ms));
});

test('reorder: tuple-only keys (1.4.7) wrongly delete live entries; tuple+ID keys (1.4.6) never do', async (t) => {
  const out = tmp();
  await tiny('reorder', out);
  const rows = csv(join(out, 'results.csv'));
  t.true(rows.every((r) => Number(r.wrong_deletes_146) === 0));
  t.true(rows.some((r) => Number(r.wrong_deletes_147) > 0));
  t.true(rows.every((r) => Number(r.wrong_deletes_147) <= Number(r.successor_new_first)));
});

test('failover: without link loss FT-FW and NOTRACK commit the same; with loss NOTRACK loses replication messages', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'nfct-exp-'));
  await tiny('failover', out);
  const rows = csv(join(out, 'results.csv'));
  const key = (r: Record<string, string>): string => `${r.reliable}/${r.run}`;
  const at = (mode: string, loss: string) =>
    new Map(rows.filter((r) => r.mode === mode && r.link_loss === loss).map((r) => [key(r), r]));
  for (const [k, r] of at('notrack', '0')) {
    t.is(r.ghosts, at('ftfw', '0').get(k)!.ghosts);
    t.is(r.missing, at('ftfw', '0').get(k)!.missing);
  }
  t.true([...at('notrack', '0.05').values()].every((r) => Number(r.link_lost) > 0));
});

test('buffer-size: a bigger buffer never loses more events (same seed, common random numbers)', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'nfct-exp-'));
  await tiny('buffer-size', out);
  const s = csv(join(out, 'summary.csv')).filter((r) => r.reliable === 'false');
  const loss = s.map((r) => Number(r.loss_fraction_mean));
  for (let i = 1; i < loss.length; i++) t.true(loss[i]! <= loss[i - 1]! + 1e-9, `${loss}`);
});
