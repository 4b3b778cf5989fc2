// Run by recovery.test.ts with NFCT_SIM_STATE_DIR set: the recovery rules on files of its own.
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_DIR, recoverStale, saveState, startTime } from '../../../experiments/live/recovery.js';

const fake = mkdtempSync(join(tmpdir(), 'nfct-sysctl-'));
const a = join(fake, 'a');
const b = join(fake, 'b');
writeFileSync(a, '99\n'); // still what the dead runner wrote: restored
writeFileSync(b, '7\n'); // changed by someone since: left alone
// A dead owner: pid 1's start time never matches this fake one.
saveState({
  pid: 1,
  started: 'not-a-start-time',
  netns: 'nfctsim-test-none',
  sysctls: [
    { path: a, old: '10\n', wrote: '99\n' },
    { path: b, old: '20\n', wrote: '99\n' },
  ],
  helpers: [{ pid: process.pid, started: 'another-start-time' }],
});
// A live owner: this very process.
saveState({
  pid: process.pid,
  started: startTime(process.pid)!,
  netns: 'nfctsim-live',
  sysctls: [{ path: a, old: '1\n', wrote: '10\n' }],
  helpers: [],
});
const done = recoverStale('/bin/false');
const ok =
  readFileSync(a, 'utf8') === '10\n' &&
  readFileSync(b, 'utf8') === '7\n' &&
  !existsSync(join(STATE_DIR, '1.json')) &&
  existsSync(join(STATE_DIR, `${process.pid}.json`)) &&
  done.length === 1 && // one sysctl restored; no helper killed (its start time differs); no namespace
  recoverStale('/bin/false').length === 0; // the live owner's state stays untouched
console.log(ok ? 'ok' : `failed: ${JSON.stringify(done)}`);
