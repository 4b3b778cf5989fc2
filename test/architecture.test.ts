// The layout docs/architecture.md describes, held as tests: no import cycle (type imports
// included), the engine never imports the models, no model file over 500 lines, a small engine
// facade, and no era named outside the era registry and the presets.
import test from 'ava';
import madge from 'madge';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = join(dir, n);
    return statSync(join(ROOT, p)).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no import cycle in api, sim, models and experiments, type imports included', async (t) => {
  const graph = await madge(
    ['api', 'sim', 'models', 'experiments'].map((d) => join(ROOT, d)),
    {
      baseDir: ROOT,
      fileExtensions: ['ts'],
      tsConfig: join(ROOT, 'tsconfig.json'),
      detectiveOptions: { ts: { skipTypeImports: false }, es6: { skipTypeImports: false } },
    },
  );
  t.deepEqual(graph.circular(), []);
  // The graph is real: the kernel core reaches its strategies.
  t.true((graph.obj()['models/kernel/core.ts'] ?? []).includes('models/kernel/eras.ts'));
});

test('sim/ never imports models/ or experiments/', (t) => {
  for (const f of files('sim')) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    t.notRegex(src, /from '\.\.\/(models|experiments)\//, f);
  }
});

test('the public API (api/) is a leaf: nothing inside the project imports it', (t) => {
  for (const f of [...files('sim'), ...files('models'), ...files('experiments')]) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    t.notRegex(src, /from '(\.\.\/)+api\//, f);
  }
});

test('no file of models/ is over 500 lines', (t) => {
  const long = files('models')
    .map((f) => [f, readFileSync(join(ROOT, f), 'utf8').split('\n').length] as const)
    .filter(([, n]) => n > 500);
  t.deepEqual(long, []);
});

test('the engine facade has at most 30 runtime exports', async (t) => {
  const facade = await import('../sim/index.js');
  const n = Object.keys(facade).length;
  t.true(n > 10 && n <= 30, `${n} runtime exports`);
});

test('no era is named outside the era registry and the presets', (t) => {
  const allowed = new Set(['models/kernel/eras.ts', 'models/presets.ts', 'models/kernel/config.ts']);
  for (const f of files('models')) {
    if (allowed.has(relative('.', f))) continue;
    const src = readFileSync(join(ROOT, f), 'utf8');
    t.notRegex(src, /era\s*[!=]==|'E[0-4]'/, f);
  }
});
