// docs/scaling-out.md's Slurm job array, run for real on a single-node Slurm this machine
// starts (scripts/slurm-array.sh): the merged shards must be byte-identical to one process.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tool } from '../../experiments/live/host.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/slurm-array.sh', import.meta.url));
const missing = ['slurmctld', 'slurmd', 'sbatch', 'munged'].find((b) => tool(b) === undefined);
const why =
  process.getuid?.() !== 0 ? 'needs root' : missing ? `needs ${missing} (apt-get install slurm-wlm munge)` : undefined;

(why ? test.skip : test)('a Slurm job array of shards merges to the single-process bytes', (t) => {
  t.timeout(5 * 60_000);
  const r = spawnSync('bash', [SCRIPT, mkdtempSync(join(tmpdir(), 'nfct-slurm-'))], { encoding: 'utf8' });
  t.is(r.status, 0, r.stdout + r.stderr);
  for (const f of ['results.csv', 'summary.csv', 'series.csv', 'summary.md'])
    t.regex(r.stdout, new RegExp(`identical: ${f}`));
  t.regex(r.stdout, /array finished in \d+ s/);
  t.log(r.stdout.match(/array finished in \d+ s/)![0]);
});
if (why) test('slurm array skipped', (t) => t.pass(`skipped: ${why}`));
