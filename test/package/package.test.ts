// The library as users get it: `npm pack`, installed into an empty project, imported only
// through its exports map, with the examples of docs/examples/ run there and their outputs
// checked against the same runs made from the sources in this repository.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { fileURLToPath } from 'node:url';
import { simulate } from '../../api/index.js';
import { DEFAULT_CONNTRACKD, DEFAULT_READER } from '../../models/listeners/config.js';
import { DEFAULT_WORKLOAD } from '../../models/workloads/flows.js';
import { runExperiment } from '../../experiments/lib/runner.js';
import { REGISTRY } from '../../experiments/registry.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Without the npm_* variables of an enclosing `npm test`, which would point npm at this repository.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
const sh = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });

/** The packed tarball installed into a fresh project with the examples copied in; built once. */
const project = (() => {
  let dir: string | undefined;
  return (): string => {
    if (dir) return dir;
    const tmp = mkdtempSync(join(tmpdir(), 'nfct-pkg-'));
    const packed = sh('npm', ['pack', '--silent', '--pack-destination', tmp], ROOT).trim().split('\n').pop()!;
    dir = join(tmp, 'project');
    cpSync(join(ROOT, 'docs/examples'), dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, packed)], dir);
    return dir;
  };
})();

test.serial(
  'the tarball ships compiled JS and declarations for both entry points, and nothing else is importable',
  (t) => {
    const dir = project();
    const pkg = join(dir, 'node_modules/nfct-sim');
    for (const f of ['dist/api/index.js', 'dist/api/index.d.ts', 'dist/sim/index.js', 'dist/sim/index.d.ts'])
      t.notThrows(() => readFileSync(join(pkg, f)), f);
    const probe = (spec: string): string =>
      sh(
        'node',
        [
          '-e',
          `import(${JSON.stringify(spec)}).then(m => console.log(Object.keys(m).join(' ')), e => console.log(e.code))`,
        ],
        dir,
      ).trim();
    const api = probe('nfct-sim').split(' ');
    for (const name of [
      'simulate',
      'parseScenario',
      'buildScenario',
      'runExperiment',
      'EXPERIMENTS',
      'registerEra',
      'toCsv',
      'Machine',
    ])
      t.true(api.includes(name), name);
    t.false(api.includes('Simulation'), 'the engine is its own entry point');
    const engine = probe('nfct-sim/sim').split(' ');
    for (const name of ['Simulation', 'Stream', 'confidenceInterval', 'siblingModule'])
      t.true(engine.includes(name), name);
    t.is(probe('nfct-sim/models/scenario.js'), 'ERR_PACKAGE_PATH_NOT_EXPORTED');
    t.is(probe('nfct-sim/dist/models/kernel/core.js'), 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  },
);

test.serial('buffer-sweep.mjs from the tarball gives the rows the sources give, fingerprints included', (t) => {
  const dir = project();
  sh('node', ['buffer-sweep.mjs', 'sweep.csv'], dir);
  const rows = parse(readFileSync(join(dir, 'sweep.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  t.is(rows.length, 15);
  // The same first and last runs from source: compiled and source code are the same model.
  for (const r of [rows[0]!, rows[14]!]) {
    const size = Number(r.buffer_bytes);
    const s = simulate(
      {
        preset: 'linux-6.18',
        kernel: {},
        netlink: {},
        listeners: [
          {
            ...DEFAULT_CONNTRACKD,
            netlinkBufferSize: size,
            maxGrowth: size,
            overrunResyncS: 0,
            reader: { ...DEFAULT_READER, costUs: { kind: 'exponential', meanUs: 45 } },
          },
        ],
        workloads: [{ ...DEFAULT_WORKLOAD, rateHz: 20_000, stopS: 0.5, replyProb: 0 }],
        actions: [],
        durationS: 1,
        sampleMs: 0,
      },
      { seed: 7, run: Number(r.run) },
    );
    t.is(r.fingerprint, s.fingerprint);
    t.is(Number(r.socket_drops), s.listeners[0]!.socketDrops);
  }
  // The study's point: a 16 KiB buffer loses events at this rate, 256 KiB (grown to 512 KiB) none.
  const lost = (size: number): number[] =>
    rows.filter((r) => Number(r.buffer_bytes) === size).map((r) => Number(r.lost_pct));
  t.true(lost(16384).every((x) => x > 1));
  t.deepEqual(lost(262144), [0, 0, 0, 0, 0]);
});

test.serial('engine-only.mjs uses only nfct-sim/sim and finds the M/M/1 wait within its own interval', (t) => {
  const out = sh('node', ['engine-only.mjs'], project());
  const m = /mean wait ([\d.]+) µs ± ([\d.]+)/.exec(out);
  t.truthy(m, out);
  const [mean, half] = [Number(m![1]), Number(m![2])];
  // 95 % t interval of ten replications; twice its half-width makes a miss a ~1-in-1000 event.
  t.true(Math.abs(mean - 320) <= 2 * half, out);
});

test.serial('custom-design/ type-checks against the shipped declarations and runs its comparison', async (t) => {
  const dir = project();
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        typeRoots: [join(ROOT, 'node_modules/@types')],
        types: ['node'],
      },
      include: ['custom-design'],
    }),
  );
  t.notThrows(() => sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir));
  const out = sh('node', ['--import', 'tsx', 'custom-design/compare.ts', 'cmp'], dir);
  t.regex(out, /== E4\n/);
  t.regex(out, /== E4-fixed-100ms\n/);
  for (const era of ['E4', 'E4-fixed-100ms']) {
    const m = JSON.parse(readFileSync(join(dir, 'cmp', era, 'manifest.json'), 'utf8')) as { status: string };
    t.is(m.status, 'complete');
  }
  // The E4 half is the built-in study run through the installed package: same CSV as from source.
  const ref = mkdtempSync(join(tmpdir(), 'nfct-pkg-ref-'));
  await runExperiment(REGISTRY, 'flush', {
    seed: 1,
    runs: 2,
    jobs: 2,
    out: ref,
    quick: true,
    sets: [
      ['preset', 'linux-6.18'],
      ['kernel.era', 'E4'],
    ],
    resume: false,
    force: true,
  });
  for (const f of ['results.csv', 'summary.csv', 'summary.md'])
    t.is(readFileSync(join(dir, 'cmp', 'E4', f), 'utf8'), readFileSync(join(ref, f), 'utf8'), f);
  t.true(readdirSync(join(dir, 'cmp', 'E4-fixed-100ms')).includes('results.csv'));
});
