import test from 'ava';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulation } from '../../sim/index.js';
import { Fingerprint, JsonlTrace, fnv1a } from '../../sim/trace.js';
import { mm1kStation, runMm1k } from '../../models/queueing/mm1k.js';

test('fingerprint is OMNeT++ rotate-xor over 32-bit ingredients', (t) => {
  const f = new Fingerprint();
  f.add(1); // 0 rotl 1 ^ 1 = 1
  f.add(2); // 1 rotl 1 ^ 2 = 0
  f.add(0x80000000); // 0 ^ 0x80000000
  f.add(0); // rotl wraps the top bit to bit 0
  t.is(f.hex, '00000001');
  t.is(fnv1a(''), 0x811c9dc5);
  t.is(fnv1a('a'), 0xe40c292c);
});

test('reference scenario fingerprints are pinned (a change means the trajectory moved)', (t) => {
  const cfg = { arrivalRateHz: 900, serviceRateHz: 1000, capacity: 10, warmupS: 0, durationS: 5 };
  const r = runMm1k(cfg, { seed: 1, run: 0 });
  t.snapshot({ events: r.events, arrivals: r.arrivals, blocked: r.blocked, fingerprint: r.fingerprint });
  t.is(runMm1k(cfg, { seed: 1, run: 0 }).fingerprint, r.fingerprint);
  t.not(runMm1k(cfg, { seed: 2, run: 0 }).fingerprint, r.fingerprint);
});

test('JSON Lines trace is written atomically on close', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nfct-trace-'));
  const path = join(dir, 'trace.jsonl');
  const trace = new JsonlTrace(path);
  const sim = new Simulation({ seed: 1, run: 0, trace });
  sim.spawn('q', mm1kStation({ arrivalRateHz: 1000, serviceRateHz: 1000, capacity: 2 }));
  sim.run({ until: 10_000_000 });
  t.false(existsSync(path));
  trace.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  t.is(lines.length, sim.eventCount);
  const first = JSON.parse(lines[0]!) as { t: number; from: string; to: string; msg: { kind: string } };
  t.is(first.to, 'q');
  t.is(first.msg.kind, 'arrive');
  t.false(existsSync(`${path}.tmp`));
});
