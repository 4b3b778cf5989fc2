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

test('buffer-size: in the steady state a bigger buffer never loses more events (same seed, common random numbers)', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'nfct-exp-'));
  await runExperiment(REGISTRY, 'buffer-size', {
    seed: 1,
    runs: 2,
    jobs: 2,
    out,
    quick: true,
    sets: [
      ['listeners.0.eventsReliable', false],
      ['listeners.0.reader.costUs.us', 100],
    ],
    resume: false,
  });
  const s = csv(join(out, 'summary.csv'));
  const loss = s.map((r) => Number(r.loss_fraction_mean));
  t.is(loss.length, 3);
  t.true(loss[0]! > 0.01, `the smallest buffer loses events: ${loss}`);
  for (let i = 1; i < loss.length; i++) t.true(loss[i]! <= loss[i - 1]! + 1e-9, `${loss}`);
  t.true(
    s.every((r) => Number(r.destroys_in_window_min) >= 100),
    'DESTROYs flowed during the load',
  );
});

test('seed-stress: inside the steady state of its window, 4 expiries per tick pile up in a 7-event buffer; spread over the tick they do not', async (t) => {
  const out = tmp();
  const lines = await runExperiment(REGISTRY, 'seed-stress', {
    seed: 1,
    runs: 2,
    jobs: 2,
    out,
    quick: true,
    sets: [
      ['kernel.hz', 250],
      ['workloads.0.rateHz', 1000],
      ['workloads.0.stopS', 45],
      ['actions.0.atS', 45],
      ['durationS', 75],
    ],
    resume: false,
  });
  const s = csv(join(out, 'summary.csv'));
  t.true(
    s.every((r) => r.observed === '1'),
    'expiries happened in the window',
  );
  const none = s.find((r) => r.tick_spread === 'none')!;
  const spread = s.find((r) => r.tick_spread === 'uniform-4000')!;
  t.true(Number(none.expired_in_window_min) > 100 * 10, 'about 1000 expiries per second for 10 s');
  t.true(Math.abs(Number(none.expiries_per_tick_mean) - 4) < 0.5);
  t.true(Number(none.parked_peak_steady_min) >= 10, `peak ${none.parked_peak_steady_min}`);
  t.true(Number(spread.parked_peak_steady_max) < 10, `peak ${spread.parked_peak_steady_max}`);
  t.true(lines.some((l) => l.includes('pile up from 1000 flows/s')));
});

test('seed-stress: a flush before any entry can expire is reported as not observed, not as an answer', async (t) => {
  const out = tmp();
  const lines = await tiny('seed-stress', out);
  const s = csv(join(out, 'summary.csv'));
  t.true(s.every((r) => r.observed === '0' && (r.not_observed ?? '').includes('expiries in the steady state')));
  t.true(lines.some((l) => l.includes('NOT OBSERVED')));
  t.false(
    lines.some((l) => l.includes('stay very few')),
    'no conclusion drawn from vacuous points',
  );
});

test('flush: the buffer is given in events as well as bytes, and deterministic points say so instead of ± 0', async (t) => {
  const out = tmp();
  const lines = await tiny('flush', out);
  const s = csv(join(out, 'summary.csv'));
  const at = (preset: string, buffer: string) => s.find((r) => r.preset === preset && r.buffer_bytes === buffer)!;
  t.is(at('linux-2.6.31', '2048').buffer_events_mean, '4'); // rcvbuf 2048, truesize 616, variant A
  t.is(at('linux-6.18', '2048').buffer_events_mean, '1'); // 2304 minimum, truesize 1280, variant B
  t.is(at('linux-6.18', '2048').drain_s_ci95, '', 'no interval where the runs agree');
  t.true(lines.some((l) => l.includes('linux-6.18') && l.includes('identical in all 2 runs')));
  t.false(lines.some((l) => l.includes('± 0.0 ')));
});

for (const name of Object.keys(EXPERIMENTS)) {
  test(`${name}: its quick variant produces what it reports on at every point (sanity check holds)`, async (t) => {
    const out = tmp();
    const lines = await runExperiment(REGISTRY, name, {
      seed: 1,
      runs: 2,
      jobs: 2,
      out,
      quick: true,
      sets: [],
      resume: false,
    });
    const s = csv(join(out, 'summary.csv'));
    t.true(s.length > 0);
    t.deepEqual(
      s.filter((r) => r.observed !== '1').map((r) => r.not_observed),
      [],
    );
    t.false(lines.some((l) => l.includes('NOT OBSERVED')));
  });

  test(`${name}: a run too short for anything to happen is reported as not observed at every point`, async (t) => {
    const out = tmp();
    const lines = await runExperiment(REGISTRY, name, {
      seed: 1,
      runs: 1,
      jobs: 1,
      out,
      quick: true,
      sets: [['durationS', 0.001]],
      resume: false,
    });
    const s = csv(join(out, 'summary.csv'));
    t.true(EXPERIMENTS[name]!.sanity !== undefined, 'every study declares its sanity check');
    t.true(s.every((r) => r.observed === '0'));
    t.is(lines.filter((l) => l.includes('NOT OBSERVED')).length, s.length);
  });
}
