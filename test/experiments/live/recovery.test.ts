// The live runner under SIGKILL: kill -9 at ten points of a short live exhaustion run; after
// each, the recovery every start runs leaves the host's sysctls, namespaces and processes as
// they were. Also the recovery rules on their own, with a state directory of the test's.
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveUnavailable, tool } from '../../../experiments/live/host.js';
import { STATE_DIR, recoverStale } from '../../../experiments/live/recovery.js';

const MAX = '/proc/sys/net/netfilter/nf_conntrack_max';
const netns = (): string[] =>
  execFileSync(tool('ip')!, ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('nfctsim-'));
const helpers = (): string[] =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('listener.py') || l.includes('live exhaustion'));

const why = liveUnavailable([['conntrack', 'conntrack']]);
(why === undefined ? test.serial : test.skip)(
  `kill -9 at ten points of a live exhaustion run: the next start restores nf_conntrack_max, deletes the namespace, ends the helpers${why ? ` (skipped: this machine ${why})` : ''}`,
  async (t) => {
    t.timeout(10 * 60_000);
    const cli = new URL('../../../experiments/cli.ts', import.meta.url).pathname;
    const before = { max: readFileSync(MAX, 'utf8'), netns: netns(), helpers: helpers().length };
    // Fixed points from the start to the end of the run (the fill, the flush, the refill).
    for (const ms of [150, 400, 700, 1000, 1500, 2000, 2600, 3300, 4200, 5500]) {
      const out = mkdtempSync(join(tmpdir(), 'nfct-kill-'));
      const p = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          cli,
          'live',
          'exhaustion',
          '--max',
          '300',
          '--duration-s',
          '3',
          '--rate-hz',
          '50',
          '--delay-us',
          '10000',
          '--repeats',
          '1',
          '--out',
          out,
        ],
        { stdio: 'ignore', cwd: new URL('../../..', import.meta.url).pathname },
      );
      await new Promise((r) => setTimeout(r, ms));
      p.kill('SIGKILL');
      await new Promise((r) => p.on('exit', r));
      const recovered = recoverStale(tool('ip')!);
      t.is(
        readFileSync(MAX, 'utf8'),
        before.max,
        `nf_conntrack_max after a kill at ${ms} ms (${recovered.join('; ')})`,
      );
      t.deepEqual(netns(), before.netns, `namespaces after a kill at ${ms} ms`);
      // A helper that was starting when its parent died may need a moment to be reaped.
      for (let i = 0; i < 20 && helpers().length !== before.helpers; i++) await new Promise((r) => setTimeout(r, 100));
      t.is(helpers().length, before.helpers, `helpers after a kill at ${ms} ms: ${helpers().join(' | ')}`);
      t.false(existsSync(join(STATE_DIR, `${p.pid}.json`)), 'the state file is gone');
    }
  },
);

test('recovery restores only a sysctl that still holds the dead runner’s value, and leaves live runners alone', (t) => {
  // The state directory is read when the module loads: the rules run in a child process with a
  // directory of this test's (recovery-child.ts), on fake sysctl files.
  const stateDir = mkdtempSync(join(tmpdir(), 'nfct-state-'));
  const child = new URL('./recovery-child.ts', import.meta.url).pathname;
  const r = execFileSync(process.execPath, ['--import', 'tsx', child], {
    encoding: 'utf8',
    env: { ...process.env, NFCT_SIM_STATE_DIR: stateDir },
  });
  t.is(r.trim(), 'ok');
});
