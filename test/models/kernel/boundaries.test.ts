// Boundaries of the kernel model: the 6.x gc worker's 60 s maximum interval and 300 s
// per-entry clamp, and the 8-bucket limit of 4.8+ early drop. Times derived in the comments.
import test from 'ava';
import { ms, s } from '../../../sim/index.js';
import { TCPF } from '../../../models/kernel/trackers.js';
import { gcRunTimes, kernelRig, tcp, udp } from '../../helpers/kernel.js';

/** A TCP flow taken to ESTABLISHED (timeout 432000 s) at `at`. */
function established(send: (at: number, m: object) => void, tuple: number, at: number): void {
  send(at, tcp(tuple, TCPF.SYN));
  send(at + 1, tcp(tuple ^ 1, TCPF.SYN | TCPF.ACK));
  send(at + 2, tcp(tuple, TCPF.ACK));
}

test('gc 6.0: long TCP timeouts count as 300 s each and the interval stops at its 60 s maximum', (t) => {
  const { runs } = gcRunTimes(
    'linux-6.18',
    () => {},
    (send) => {
      for (let i = 0; i < 200; i++) established(send, 1000 + 2 * i, ms(10));
    },
    s(130),
  );
  // HZ 250. First run one second after boot: jiffy 250, which the 4.8 wheel (level 1, 8-jiffy
  // granularity) runs at 256 = 1.024 s. The running mean starts at 60 s weighted as 100 entries;
  // the 200 established entries add 300 s each (432000 s clamped), so the mean (≈ 220 s) is
  // clamped to the 60 s maximum: 15000 jiffies from jiffy 256 is 15256, on wheel level 3
  // (512-jiffy granularity) → 15360 = 61.44 s; then 15360 + 15000 = 30360 → 30720 = 122.88 s.
  t.deepEqual(runs, [ms(1024), ms(61440), ms(122880)]);
});

/**
 * The kernel's running mean of remaining timeouts (gc_worker, 6.0+), written out as the oracle:
 * it starts at 60 s weighted as 100 entries and moves by trunc((x − mean) / count), x clamped
 * to [1 s, 300 s]. Jiffies at HZ 250.
 */
function gcMean(xs: readonly number[]): number {
  let mean = 15000;
  let count = 100;
  for (const x of xs) mean += Math.trunc((Math.min(Math.max(x, 250), 75000) - mean) / ++count);
  return mean;
}

/** When a gc run at jiffy 256 (1.024 s) with that mean schedules the next: the 60 s cap, then the 4.8 wheel. */
function nextRunJ(meanJ: number): number {
  const expires = 256 + Math.min(Math.max(meanJ, 250), 15000);
  const delta = expires - 256;
  const gran = delta >= 32256 ? 4096 : delta >= 4032 ? 512 : delta >= 504 ? 64 : delta >= 63 ? 8 : 1;
  return (Math.floor(expires / gran) + 1) * gran;
}

test('gc 6.0: the 300 s per-entry clamp keeps one long TCP timeout from stretching the interval', (t) => {
  const secondRunGap = (withTcp: boolean): number => {
    const { runs } = gcRunTimes(
      'linux-6.18',
      (d) => void (d.timeouts = { ...d.timeouts, udpS: 2 }),
      (send) => {
        for (let i = 0; i < 2000; i++) send(0, udp(100_000 + 2 * i));
        if (withTcp) established(send, 10, 0);
      },
      s(20),
    );
    return runs[1]! - runs[0]!;
  };
  const jiffy = ms(4);
  // At the first run (1.024 s) the 2000 UDP entries have 0.976 s left: each counts as the 1 s
  // minimum, 250 jiffies. The integer mean stops falling at 1619 jiffies; 256 + 1619 = 1875 sits
  // on wheel level 2 (64-jiffy granularity) → 1920 = 7.68 s, 6.656 s after the first run.
  const udpOnly = Array<number>(2000).fill(250);
  t.is(gcMean(udpOnly), 1619);
  t.is(secondRunGap(false), (nextRunJ(1619) - 256) * jiffy);
  // One ESTABLISHED entry has 432000 s = 1.08e8 jiffies left and counts as 300 s. Where it lands
  // in the scan depends on the hash: the second run lies between the earliest and the latest the
  // oracle gives over every position — and far below the 60 s maximum an unclamped entry reaches.
  const withAt = (pos: number): number => nextRunJ(gcMean([...udpOnly.slice(0, pos), 1.08e8, ...udpOnly.slice(pos)]));
  const ends = Array.from({ length: 2001 }, (_, pos) => withAt(pos));
  const gap = secondRunGap(true);
  t.true(gap >= (Math.min(...ends) - 256) * jiffy && gap <= (Math.max(...ends) - 256) * jiffy, `${gap / 1e6} ms`);
  const unclamped = (pos: number): number => {
    let mean = 15000;
    let count = 100;
    [...udpOnly.slice(0, pos), 1.08e8, ...udpOnly.slice(pos)].forEach((x) => {
      mean += Math.trunc((Math.max(x, 250) - mean) / ++count);
    });
    return nextRunJ(mean);
  };
  t.true(unclamped(2000) - 256 >= 15000, 'without the clamp the interval would hit its 60 s maximum');
});

/** Tuples whose nearer bucket (of their two nodes) is exactly `distance` buckets after `start`. */
function tupleAt(bucketOf: (x: number) => number, start: number, distance: number, buckets: number): number {
  const d = (b: number): number => (b - start + buckets) % buckets;
  for (let x = 2; ; x += 2) if (Math.min(d(bucketOf(x)), d(bucketOf(x ^ 1))) === distance) return x;
}

for (const [distance, dropped] of [
  [7, true],
  [8, false],
] as const) {
  test(`early drop 4.8+ scans 8 buckets: an unassured entry ${distance} buckets on is ${dropped ? '' : 'not '}dropped`, (t) => {
    const r = kernelRig('linux-6.18', (d) => {
      d.buckets = 64;
      d.max = 1;
    });
    const table = r.k.view.table;
    const fresh = 1_000_001 * 2;
    const start = table.bucketOf(fresh);
    // The victim: one unreplied UDP flow (never ASSURED), the new flow's table full behind it.
    // Buckets start … start + 7 are scanned (NF_CT_EVICTION_RANGE = 8).
    const victim = tupleAt((x) => table.bucketOf(x), start, distance, 64);
    r.at(0, udp(victim));
    r.at(ms(1), udp(fresh));
    r.sim.run({ until: ms(2) });
    t.is(r.k.view.stats.early_drop, dropped ? 1 : 0);
    t.is(r.k.view.stats.drop, dropped ? 0 : 1);
    t.is(r.k.view.find(fresh) >= 0, dropped);
    t.is(r.k.view.find(victim) >= 0, !dropped);
  });
}
