// The live runner's crash-recovery rules on their own, with a state directory of the test's (the
// kill -9 test of a real run is in live.test.ts, serial with the other live tests).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
