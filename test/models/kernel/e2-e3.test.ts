// Modelling checklist of conntrack-core.md §14, statements 24–35 (E2 and E3).
import test from 'ava';
import { ms, s } from '../../../sim/index.js';
import { ST } from '../../../models/kernel/table.js';
import { TCPF } from '../../../models/kernel/trackers.js';
import { gcRunTimes, kernelRig, tcp, udp, type KernelRig } from '../../helpers/kernel.js';
import { METRIC } from '../../../models/names.js';

function established(r: KernelRig, tuple: number, at: number): void {
  r.at(at, tcp(tuple, TCPF.SYN));
  r.at(at + ms(1), tcp(tuple ^ 1, TCPF.SYN | TCPF.ACK));
  r.at(at + ms(2), tcp(tuple, TCPF.ACK));
}

const destroyTimes = (r: KernelRig, ok?: boolean): number[] =>
  r.sink.log.filter((l) => l.type === 'destroy' && (ok === undefined || l.ok === ok)).map((l) => l.t);

test('core#24 E2 has no retry-timeout sysctl: the first failure schedules the worker 1 s later', (t) => {
  const runs = [15, 1].map((retry) => {
    const r = kernelRig('linux-3.17', (d) => {
      d.retryTimeoutS = retry; // ignored in E2
    });
    r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(1.2);
    r.at(0, udp(10));
    r.at(s(0.5), { kind: 'flush', portid: 1 });
    r.sim.run({ until: s(5) });
    return destroyTimes(r);
  });
  t.deepEqual(runs[0], [s(0.5), s(1.5)]); // failed at 0.5 s, worker at 0.5 s + HZ
  t.deepEqual(runs[1], runs[0]);
});

test('core#25 E2 retries every HZ/10 while congested; a successful DESTROY elsewhere runs the worker at once', (t) => {
  const r = kernelRig('linux-3.17');
  r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(2.05);
  r.at(0, udp(10));
  r.at(s(0.5), { kind: 'flush', portid: 1 });
  r.sim.run({ until: s(5) });
  t.deepEqual(destroyTimes(r), [0.5, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1].map(s));
  const k = kernelRig('linux-3.17');
  k.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(0.7);
  k.at(0, udp(10));
  k.at(ms(1), udp(20));
  k.at(s(0.5), { kind: 'delete', tuple: 10, portid: 0 }); // fails, parks
  k.at(s(0.8), { kind: 'delete', tuple: 20, portid: 0 }); // succeeds: kicks the worker
  k.sim.run({ until: s(5) });
  t.deepEqual(
    k.sink.log.filter((l) => l.type === 'destroy').map((l) => [l.tuple, l.t, l.ok]),
    [
      [10, s(0.5), false],
      [20, s(0.8), true],
      [10, s(0.8), true],
    ],
  );
});

test('core#26 E2 worker: per-CPU lists LIFO in CPU order, at most 16 per CPU per pass, whole pass stops at the first failure', (t) => {
  const r = kernelRig('linux-3.17', (d) => {
    d.cpus = 2;
  });
  r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(40);
  const tuples = Array.from({ length: 40 }, (_, i) => 1000 + 2 * i);
  tuples.forEach((x, i) => r.at(ms(i), udp(x)));
  r.sim.run({ until: s(35) }); // all expired around 30 s on their own CPU and failed
  const tb = r.k.view.table;
  const lists = r.k.view.parkedSlots().map((l) => l.map((slot) => tb.origTuple[slot]!));
  t.is(lists[0]!.length + lists[1]!.length, 40);
  t.true(lists[0]!.length > 16 && lists[1]!.length > 0);
  r.sim.run({ until: s(41) });
  const ok = r.sink.log.filter((l) => l.type === 'destroy' && l.ok);
  t.is(ok.length, 40);
  // All at one instant, in this order: CPU0's 16 newest, CPU1's 16 newest, then the rest.
  t.is(new Set(ok.map((o) => o.t)).size, 1);
  const expected: number[] = [];
  const [c0, c1] = [[...lists[0]!], [...lists[1]!]];
  while (c0.length || c1.length) expected.push(...c0.splice(0, 16), ...c1.splice(0, 16));
  t.deepEqual(
    ok.map((o) => o.tuple),
    expected,
  );
  // A failure on CPU0 ends the pass: CPU1 is not visited.
  const f = kernelRig('linux-3.17', (d) => {
    d.cpus = 2;
  });
  let accepted = 0;
  f.sink.refuse = (ev, now) => ev.type === 'destroy' && (now < s(40) || ++accepted > 3);
  tuples.forEach((x, i) => f.at(ms(i), udp(x)));
  f.sim.run({ until: s(40) + ms(1) });
  const firstPass = f.sink.log.filter((l) => l.type === 'destroy' && l.t >= s(40));
  const cpuOf = (tuple: number): number =>
    f.k.view.table.cpu[
      f.k.view
        .parkedSlots()
        .flat()
        .find((sl) => f.k.view.table.origTuple[sl] === tuple) ?? 0
    ]!;
  t.is(firstPass.length, 4); // 3 delivered, then the failure
  t.true(firstPass.every((l) => cpuOf(l.tuple) === 0 || l.ok));
});

test('core#27 E2 unlinks a deleted entry from the hash at the first attempt, whatever the outcome', (t) => {
  const r = kernelRig('linux-3.17');
  r.sink.refuse = (ev) => ev.type === 'destroy' && ev.tuple === 10;
  r.at(0, udp(10));
  r.at(0, udp(20));
  r.at(ms(5), { kind: 'flush', portid: 0 });
  r.sim.run({ until: ms(6) });
  t.is(r.k.view.hashedCount(), 0);
  t.is(r.k.view.parkedCount(), 1);
  t.is(r.k.view.table.count, 1);
});

test('core#28 gc eras: nothing happens at expiry; a lookup, a dump or a gc pass detects it and the DESTROY carries that time', (t) => {
  const r = kernelRig('linux-6.18');
  r.at(0, udp(10));
  r.at(0, udp(20));
  r.at(s(31), udp(10)); // same tuple after expiry: DESTROY(old) then NEW(new)
  r.at(s(35), { kind: 'dump' });
  r.sim.run({ until: s(40) });
  t.deepEqual(
    r.sink.log.filter((l) => l.t > 0).map((l) => [l.t, l.type, l.tuple]),
    [
      [s(31), 'destroy', 10],
      [s(31), 'new', 10],
      [s(35), 'destroy', 20],
    ],
  );
  // Left alone, the gc worker finds it: its next run after the 1 s start is ~60 s later.
  const g = kernelRig('linux-6.18');
  g.at(0, udp(10));
  g.sim.run({ until: s(120) });
  const d = destroyTimes(g);
  t.is(d.length, 1);
  t.true(d[0]! > s(55) && d[0]! < s(62), `${d[0]}`);
});

test('core#29 E3/E4 claim DYING before the attempt; a second deletion of the same entry does nothing', (t) => {
  for (const name of ['linux-4.9', 'linux-6.18', 'linux-3.17']) {
    const r = kernelRig(name);
    r.sink.refuse = (ev) => ev.type === 'destroy';
    r.at(0, udp(10));
    r.at(ms(1), { kind: 'flush', portid: 0 });
    r.at(ms(2), { kind: 'flush', portid: 0 });
    r.at(ms(3), { kind: 'delete', tuple: 10, portid: 0 });
    r.sim.run({ until: ms(4) });
    const slot = r.k.view.parkedSlots().flat()[0]!;
    const claimed = (r.k.view.table.status[slot]! & ST.DYING) !== 0;
    t.is(claimed, name !== 'linux-3.17', name);
    t.is(destroyTimes(r).length, 1, name);
  }
});

test('core#30 E3 redelivers DESTROY_FAIL entries in batches of 16 per CPU per pass (32 later), retrying every 100 ms', (t) => {
  for (const batch of [16, 32]) {
    const r = kernelRig('linux-4.9', (d) => {
      d.workBatch = batch;
    });
    r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(1.65);
    for (let i = 0; i < 40; i++) r.at(ms(i), udp(1000 + 2 * i));
    r.at(s(0.5), { kind: 'flush', portid: 0 });
    r.sim.run({ until: s(3) });
    const fails = destroyTimes(r, false).filter((x) => x > s(0.5));
    // The 4.8+ timer wheel: 250 jiffies on level 1 → jiffy 376 (1.504 s); HZ/10 = 25 jiffies
    // on level 0 → 26 jiffies (104 ms) between retries.
    t.deepEqual(fails, [1504, 1608].map(ms));
    const ok = destroyTimes(r, true);
    t.is(ok.length, 40);
    t.true(ok.every((x) => x === ms(1712)));
    t.is(r.sim.recorder.total(METRIC.ecacheWorkRuns), 2 + Math.ceil(40 / batch) + (40 % batch === 0 ? 1 : 0));
  }
});

test('core#31 gc 4.10–5.13 scans buckets/128 per run; the interval grows by max(HZ/128,1) up to HZ/8 and resets on > 50 % expired', (t) => {
  const { runs } = gcRunTimes(
    'linux-4.9',
    (d) => {
      d.buckets = 128; // one bucket per run
    },
    (send) => {
      for (let i = 0; i < 64; i++) send(0, { kind: 'packet', tuple: 1000 + 2 * i, proto: 'udp' });
    },
    s(45),
  );
  const j = (x: number): number => Math.round(x / ms(4));
  t.is(runs[0], ms(1024)); // HZ on timer-wheel level 1: jiffy 256
  const gaps = runs.slice(1).map((x, i) => j(x - runs[i]!));
  // HZ/8 = 31 jiffies at HZ=250, plus the level-0 jiffy of the 4.8+ timer wheel.
  t.true(gaps.slice(0, 100).every((g) => g === 32));
  // After 30 s the table expires: a run that finds > 50 % expired resets the interval to 1 jiffy,
  // and it then grows by one jiffy per run without expiries.
  const afterExpiry = gaps.slice(runs.findIndex((x) => x > s(30)));
  t.true(afterExpiry.includes(2));
  const k = afterExpiry.indexOf(2);
  const tail = afterExpiry.slice(k, k + 40);
  for (let i = 1; i < tail.length; i++)
    t.true(tail[i] === 2 || tail[i] === Math.min(tail[i - 1]! + 1, 32), `gap ${i}: ${tail[i - 1]} → ${tail[i]}`);
});

test('core#32 gc 5.14–5.17 scans the whole table per cycle in 10 ms slices, then pauses 120 s', (t) => {
  const { runs, sink } = gcRunTimes(
    'linux-4.9',
    (d) => {
      d.gc = 'gc-5.14';
      d.buckets = 1024;
      d.gcCostNs = 20_000; // 2000 nodes x 20 us = 40 ms: the scan needs several 10 ms slices
    },
    (send) => {
      for (let i = 0; i < 1000; i++) send(0, { kind: 'packet', tuple: 1000 + 2 * i, proto: 'udp' });
    },
    s(300),
  );
  const cycles = [...new Set(runs)];
  // 120 s on timer-wheel level 3 (granularity 512 jiffies): jiffies 256, 30720, 60928.
  t.deepEqual(
    cycles,
    [256, 30720, 60928].map((j) => j * ms(4)),
  );
  t.true(runs.filter((x) => x === ms(1024)).length >= 4); // slices re-queued with delay 0
  t.true(sink.log.filter((l) => l.type === 'destroy').every((l) => l.t === 30720 * ms(4))); // expired at 30 s, found at 122.88 s
});

test('core#33 from 4.12 any packet reaching confirm re-sends missed events', (t) => {
  const r = kernelRig('linux-5.19');
  r.sink.refuse = (_ev, now) => now < ms(5);
  r.at(0, udp(10));
  r.at(ms(10), udp(10)); // changes nothing, still re-sends the missed NEW (as a NEW message)
  r.sim.run({ until: ms(20) });
  t.deepEqual(
    r.sink.log.map((l) => [l.t, l.type, l.ok]),
    [
      [0, 'new', false],
      [ms(10), 'new', true],
    ],
  );
});

test('core#34 early drop 4.8+: every eligible entry of a bucket is deleted; success needs one deletion that returned true', (t) => {
  const r = kernelRig('linux-6.18', (d) => {
    d.max = 3;
    d.buckets = 1;
  });
  for (const [i, x] of [10, 20, 30].entries()) r.at(ms(i), udp(x));
  r.at(ms(10), udp(40));
  r.sim.run({ until: ms(11) });
  t.is(r.k.view.stats.early_drop, 3);
  t.is(r.k.view.table.count, 1);
  t.not(r.k.view.find(40), -1);
  // Expired entries met are gc'd and do not count as drops.
  const e = kernelRig('linux-6.18', (d) => {
    d.max = 1;
    d.buckets = 1;
  });
  e.at(0, udp(10));
  e.at(s(40), udp(20));
  e.sim.run({ until: s(41) });
  t.is(e.k.view.stats.early_drop, 0);
  t.not(e.k.view.find(20), -1);
});

test('core#35 gc early-drop assist kills non-ASSURED and (4.12+) closing TCP entries while count >= 95 % of max', (t) => {
  for (const [name, killed] of [
    ['linux-6.18', 6],
    ['linux-4.9', 0],
  ] as const) {
    const r = kernelRig(name, (d) => {
      d.max = 100;
      d.buckets = 128;
      d.gc = 'gc-6.0'; // same gc for both: only the assist rule differs
    });
    for (let i = 0; i < 100; i++) established(r, 1000 + 2 * i, s(2) + ms(10 * i));
    for (let i = 0; i < 30; i++) {
      const x = 1000 + 2 * i;
      r.at(s(4) + ms(i), tcp(x, TCPF.FIN));
      r.at(s(4) + ms(i) + 100, tcp(x ^ 1, TCPF.FIN | TCPF.ACK));
      r.at(s(4) + ms(i) + 200, tcp(x, TCPF.ACK)); // TIME_WAIT, still ASSURED
    }
    r.at(s(5), udp(5001)); // early drop fails: everything is ASSURED → gc flag
    r.sim.run({ until: s(70) });
    t.is(r.k.view.stats.drop, 1, name);
    t.is(r.k.view.table.count, 100 - killed, name);
    t.is(r.sim.recorder.total(METRIC.gcEarlyDrops), killed, name);
  }
});
