// The live runner: comparison logic on recorded live data, and a short live smoke test where
// the machine allows it (root, iproute2, nftables, python3, nf_conntrack).
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  compareCapacity,
  liveCapacity,
  liveUnavailable,
  relError,
  simulatedCapacity,
} from '../experiments/live/live.js';

test('recorded live capacities (6.18.44, three repeats) agree exactly with the simulator', (t) => {
  const rows = parse(readFileSync(new URL('./fixtures/live-capacity-6.18.44.csv', import.meta.url), 'utf8'), {
    columns: true,
  }) as Record<string, string>[];
  t.is(rows.length, 15);
  const cmp = compareCapacity(rows);
  for (const r of cmp) {
    t.is(r.held_rel_error, 0, `SO_RCVBUF ${r.requested_bytes}`);
    t.is(r.rcvbuf_rel_error, 0);
  }
  t.deepEqual(
    [...new Set(cmp.map((r) => `${r.requested_bytes}:${r.sim_held_events}`))],
    ['2048:3', '4096:6', '8192:12', '65536:102', '212992:332'],
  );
});

test('relative error and the simulated capacity of other eras', (t) => {
  t.is(relError(10, 11), 0.1);
  t.is(relError(0, 0), 0);
  t.is(relError(0, 1), Infinity);
  t.deepEqual(simulatedCapacity(2048, 'linux-5.19'), { rcvbuf: 4096, held: 4 }); // variant A: one more
});

const why = liveUnavailable();
(why === undefined ? test : test.skip)(
  `live smoke test: capacity on the host kernel for two buffers${why ? ` (skipped: this machine ${why})` : ''}`,
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'nfct-live-'));
    await liveCapacity({ buffers: [2048, 8192], repeats: 1, out, flows: 100 });
    const rows = parse(readFileSync(join(out, 'comparison.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    t.deepEqual(
      rows.map((r) => [r.requested_bytes, r.held_events, r.sim_held_events]),
      [
        ['2048', '3', '3'],
        ['8192', '12', '12'],
      ],
    );
  },
);
