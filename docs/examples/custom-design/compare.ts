// Compare my design (design.ts) with Linux 6.18 on the built-in `flush` study: the same quick
// sweep, once per design, each into a standard results folder. Run it with
// `node --import tsx compare.ts [out-dir]`; it prints both answers.
import { join } from 'node:path';
import { EXPERIMENTS, runExperiment, type Registry } from 'nfct-sim';
import { siblingModule } from 'nfct-sim/sim';
import { DESIGN } from './design.js';

const registry: Registry = {
  experiments: EXPERIMENTS,
  worker: { module: siblingModule(import.meta.url, './design'), exportName: 'runTask' },
};
const outDir = process.argv[2] ?? 'compare-out';
for (const era of ['E4', DESIGN]) {
  const lines = await runExperiment(registry, 'flush', {
    seed: 1,
    runs: 2,
    jobs: 2,
    out: join(outDir, era),
    quick: true,
    sets: [
      ['preset', 'linux-6.18'],
      ['kernel.era', era],
    ],
    resume: false,
    force: true,
  });
  console.log(`== ${era}\n${lines.join('\n')}`);
}
