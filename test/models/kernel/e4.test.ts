// Modelling checklist of conntrack-core.md §14, statements 36–47 (E4, timeouts, TCP).
import test from 'ava';
import { ms, s } from '../../../sim/index.js';
import { BITS_E1 } from '../../../models/kernel/events.js';
import { ST } from '../../../models/kernel/table.js';
import { TCPF } from '../../../models/kernel/trackers.js';
import { kernelRig, tcp, udp, type KernelRig } from '../../helpers/kernel.js';
import { METRIC } from '../../../models/names.js';

const destroys = (r: KernelRig, ok?: boolean) =>
  r.sink.log.filter((l) => l.type === 'destroy' && (ok === undefined || l.ok === ok));

test('core#36 nf_conntrack_events=2: only entries created while a listener was subscribed emit events, DESTROY included', (t) => {
  const r = kernelRig('linux-6.18');
  r.sink.groups.clear();
  for (let i = 0; i < 5; i++) r.at(ms(i), udp(100 + 2 * i));
  r.sim.run({ until: ms(10) });
  r.sink.groups = new Set([1, 2, 3]);
  for (let i = 0; i < 5; i++) r.at(ms(20 + i), udp(200 + 2 * i));
  r.at(ms(50), { kind: 'flush', portid: 0 });
  r.sim.run({ until: ms(60) });
  t.deepEqual(
    destroys(r)
      .map((d) => d.tuple)
      .sort(),
    [200, 202, 204, 206, 208],
  );
  t.is(r.k.view.table.count, 0);
});

test('core#37 E4 parks a failed DESTROY at the head of one list; first retry HZ later, or at once when another DESTROY succeeds', (t) => {
  const r = kernelRig('linux-6.18', (d) => {
    d.cpus = 4;
  });
  r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(1.2);
  for (let i = 0; i < 3; i++) r.at(ms(i), udp(10 + 2 * i));
  r.at(s(0.5), { kind: 'flush', portid: 0 });
  r.sim.run({ until: s(0.6) });
  const tb = r.k.view.table;
  const failOrder = destroys(r, false).map((d) => d.tuple);
  t.is(failOrder.length, 3);
  t.deepEqual(
    r.k.view.parkedSlots().map((l) => l.map((x) => tb.origTuple[x])),
    [failOrder.reverse()], // one list, newest failure first
  );
  r.sim.run({ until: s(3) });
  // Flush at jiffy 125; the 250-jiffy work timer sits on wheel level 1: jiffy 376 = 1.504 s.
  t.is(destroys(r, true)[0]!.t, ms(1504));
  const k = kernelRig('linux-6.18');
  k.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(0.7);
  k.at(0, udp(10));
  k.at(0, udp(20));
  k.at(s(0.5), { kind: 'delete', tuple: 10, portid: 0 });
  k.at(s(0.8), { kind: 'delete', tuple: 20, portid: 0 });
  k.sim.run({ until: s(2) });
  t.deepEqual(
    destroys(k).map((d) => [d.tuple, d.t, d.ok]),
    [
      [10, s(0.5), false],
      [20, s(0.8), true],
      [10, s(0.8), true],
    ],
  );
});

test('core#38 E4 worker retries newest first and, on the first failure, re-runs after msecs_to_jiffies(10)', (t) => {
  // First run: HZ after the flush, rounded up by the 4.8+ timer wheel (level 1 or 2); retries:
  // msecs_to_jiffies(10) plus the level-0 jiffy → 16 ms at HZ=250, 20 ms at 100, 11 ms at 1000.
  for (const [hz, firstMs, stepMs] of [
    [250, 1504, 16],
    [100, 1520, 20],
    [1000, 1536, 11],
  ] as const) {
    const r = kernelRig('linux-6.18', (d) => {
      d.hz = hz;
    });
    r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(1.6);
    for (let i = 0; i < 3; i++) r.at(ms(i), udp(10 + 2 * i));
    r.at(s(0.5), { kind: 'flush', portid: 0 });
    r.sim.run({ until: s(2) });
    const flushOrder = destroys(r, false)
      .filter((d) => d.t === s(0.5))
      .map((d) => d.tuple);
    const fails = destroys(r, false)
      .filter((d) => d.t > s(0.5))
      .map((d) => d.t);
    t.is(fails[0], ms(firstMs), `HZ=${hz}`);
    t.is(destroys(r, true).length, 3);
    // Only the head (the last to fail) is tried while congested; every retry is one step later.
    t.true(
      destroys(r, false)
        .filter((d) => d.t > s(0.5))
        .every((d) => d.tuple === flushOrder[2]),
    );
    t.true(
      fails.every((x, i) => i === 0 || x - fails[i - 1]! === ms(stepMs)),
      `HZ=${hz}: ${fails.map((x) => x / 1e6)}`,
    );
    t.deepEqual(
      destroys(r, true).map((d) => d.tuple),
      flushOrder.reverse(),
    );
  }
});

test('core#39 shipped E4 redelivers one entry per worker run; the fixed worker drains until failure', (t) => {
  const runs = (name: string): number => {
    const r = kernelRig(name);
    r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(0.6);
    for (let i = 0; i < 100; i++) r.at(ms(i), udp(1000 + 2 * i));
    r.at(s(0.5), { kind: 'flush', portid: 0 });
    r.sim.run({ until: s(5) });
    t.is(destroys(r, true).length, 100);
    t.true(destroys(r, true).every((d) => d.t === ms(1504)));
    return r.sim.recorder.total(METRIC.ecacheWorkRuns);
  };
  t.is(runs('linux-6.18'), 101); // one dispatch per entry plus the empty last run (7670 for 7669)
  t.is(runs('linux-6.18-fixed'), 1);
});

test('core#39 with a worker cost, the fixed E4 worker stops each run after its 10 ms budget', (t) => {
  const r = kernelRig('linux-6.18-fixed', (d) => {
    d.workerCostNs = 1_000_000; // 1 ms per redelivery: ~10-13 per run at HZ=250
  });
  r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(0.6);
  for (let i = 0; i < 100; i++) r.at(ms(i), udp(1000 + 2 * i));
  r.at(s(0.5), { kind: 'flush', portid: 0 });
  r.sim.run({ until: s(5) });
  const n = r.sim.recorder.total(METRIC.ecacheWorkRuns);
  t.true(n > 5 && n < 12, `${n} runs`);
});

test('core#41 entries on the E4 dying list count toward nf_conntrack_max and are listed by conntrack -L dying', (t) => {
  const r = kernelRig('linux-6.18', (d) => {
    d.max = 5;
  });
  r.sink.refuse = (ev) => ev.type === 'destroy';
  for (let i = 0; i < 5; i++) r.at(ms(i), tcp(100 + 2 * i, TCPF.SYN));
  r.at(ms(10), { kind: 'flush', portid: 0 });
  for (let i = 0; i < 5; i++) r.at(ms(20 + i), udp(300 + 2 * i));
  r.sim.run({ until: ms(30) });
  t.is(r.k.view.parkedSlots()[0]!.length, 5);
  t.is(r.k.view.table.count, 5);
  t.is(r.k.view.hashedCount(), 0);
  t.is(r.k.view.stats.drop, 5);
});

test('core#42 under event congestion early drop moves every non-ASSURED entry to the dying list and still reports table full', (t) => {
  // The live experiment of docs/kernel-facts.md#early-drop: max 200, 512 buckets, a full BROADCAST_ERROR listener.
  const r = kernelRig('linux-6.18', (d) => {
    d.max = 200;
    d.buckets = 512;
  });
  let accepted = 0;
  r.sink.refuse = (ev) => ev.type === 'destroy' && ++accepted > 1; // one DESTROY fits, then full
  for (let i = 0; i < 200; i++) r.at(ms(i), udp(10_000 + 2 * i));
  for (let round = 0; round < 4; round++)
    for (let i = 0; i < 200; i++) r.at(s(1 + round) + i * 1000, udp(20_000 + 2 * i));
  r.sim.run({ until: s(5) });
  const stats = r.k.view.stats;
  t.is(r.sink.delivered('destroy').length, 1);
  t.is(r.k.view.table.count, 200); // nothing freed but the first victim
  t.is(r.k.view.hashedCount(), 0); // the hash is empty of live entries
  t.is(r.k.view.parkedCount(), 200);
  t.is(stats.drop, 4 * 200 - 1);
});

test('core#43 gc 6.0: waits the clamped mean remaining timeout (100 pseudo-entries at 60 s) minus the scan time', (t) => {
  const r = kernelRig('linux-6.18');
  r.at(s(0.5), udp(10)); // expires at 30.5 s
  r.sim.run({ until: s(100) });
  // First run HZ after start, on wheel level 1: jiffy 256 (1.024 s). Remaining 29.476 s =
  // 7369 jiffies for both nodes of the entry. Integer running mean from 15000 jiffies with
  // n = 100: +(7369-15000)/101 → -75, then (7369-14925)/102 → -74: next = 14851 jiffies, i.e.
  // jiffy 15107, which level 3 (granularity 512) rounds up to 15360 = 61.44 s.
  const d = destroys(r);
  t.is(d.length, 1);
  t.is(d[0]!.t, 15360 * ms(4));
  // At most 64000/HZ (+1) evictions per run, then a re-queue one jiffy later.
  const g = kernelRig('linux-6.18');
  for (let i = 0; i < 1000; i++) g.at(s(0.5), udp(100_000 + 2 * i));
  g.sim.run({ until: s(100) });
  const byTime = new Map<number, number>();
  for (const x of destroys(g)) byTime.set(x.t, (byTime.get(x.t) ?? 0) + 1);
  const sizes = [...byTime.values()];
  t.deepEqual(sizes, [257, 257, 257, 229]);
  const times = [...byTime.keys()];
  t.true(times.slice(1).every((x, i) => x - times[i]! === ms(8))); // 1 jiffy, + the level-0 jiffy
});

test('core#44 CTA_ID: siphash of (object, netns, original tuple) repeats only for the same tuple; addresses repeat for any tuple', (t) => {
  const ids = (name: string): number[] => {
    const r = kernelRig(name);
    r.at(0, udp(10));
    r.at(ms(1), { kind: 'delete', tuple: 10, portid: 0 });
    r.at(ms(2), udp(10)); // recycled object, same tuple
    r.at(ms(3), { kind: 'delete', tuple: 10, portid: 0 });
    r.at(ms(4), udp(20)); // recycled object, other tuple
    r.sim.run({ until: ms(5) });
    return r.sink.log.filter((l) => l.type === 'new').map((l) => l.id);
  };
  const sip = ids('linux-6.18');
  t.is(sip[0], sip[1]);
  t.not(sip[2], sip[0]);
  const addr = ids('linux-4.9');
  t.is(addr[0], addr[1]);
  t.is(addr[2], addr[0]);
});

test('core#45 UDP timeouts: 30/180 s up to 4.20, 30/120 s from 5.0; the reply itself refreshes with the unreplied timeout', (t) => {
  const old = kernelRig('linux-3.12');
  old.at(0, udp(10));
  old.at(s(1), udp(11)); // reply: still 30 s → would expire at 31 s
  old.sim.run({ until: s(30.5) });
  t.is(destroys(old).length, 0);
  old.at(s(30.5), udp(10)); // stream: 180 s
  old.sim.run({ until: s(300) });
  t.deepEqual(
    destroys(old).map((d) => d.t),
    [s(210.5)],
  );
  const r = kernelRig('linux-6.18');
  r.at(0, udp(10));
  r.at(s(1), udp(11));
  r.at(s(3), udp(10)); // ≥ 2 s after creation: stream 120 s → expires 123 s
  r.at(s(122.9), { kind: 'dump' });
  r.at(s(123), { kind: 'dump' });
  r.sim.run({ until: s(124) });
  t.deepEqual(
    destroys(r).map((d) => d.t),
    [s(123)],
  );
});

test('core#46 UDP ASSURED: first post-reply packet up to ~5.15; from ~5.16 only at least 2 s after creation', (t) => {
  const assuredAt = (name: string, at: number[]): number[] => {
    const r = kernelRig(name);
    r.at(0, udp(10));
    r.at(ms(500), udp(11));
    at.forEach((x) => r.at(x, udp(10)));
    r.sim.run({ until: s(4) });
    return r.sink.log.filter((l) => l.events & BITS_E1.ASSURED).map((l) => l.t);
  };
  t.deepEqual(assuredAt('linux-3.12', [s(1), s(2.5)]), [s(1)]);
  t.deepEqual(assuredAt('linux-6.18', [s(1), s(2.5)]), [s(2.5)]);
});

test('core#47 TCP: RST before any reply deletes at once; a SYN on TIME_WAIT yields DESTROY(old) then NEW(new) on that packet', (t) => {
  const r = kernelRig('linux-6.18');
  r.at(0, tcp(10, TCPF.SYN));
  r.at(ms(5), tcp(10, TCPF.RST));
  r.sim.run({ until: ms(6) });
  t.deepEqual(
    destroys(r).map((d) => d.t),
    [ms(5)],
  );
  t.is(r.k.view.table.count, 0);
  const w = kernelRig('linux-3.12');
  const x = 20;
  w.at(0, tcp(x, TCPF.SYN));
  w.at(ms(1), tcp(x ^ 1, TCPF.SYN | TCPF.ACK));
  w.at(ms(2), tcp(x, TCPF.ACK));
  w.at(ms(3), tcp(x, TCPF.FIN));
  w.at(ms(4), tcp(x ^ 1, TCPF.FIN | TCPF.ACK));
  w.at(ms(5), tcp(x, TCPF.ACK)); // TIME_WAIT
  w.at(s(1), tcp(x, TCPF.SYN));
  w.sim.run({ until: s(2) });
  t.deepEqual(
    w.sink.log.map((l) => [l.t, l.type]),
    [
      [0, 'new'],
      [ms(1), 'update'],
      [ms(2), 'update'],
      [ms(3), 'update'],
      [ms(4), 'update'],
      [ms(5), 'update'],
      [s(1), 'destroy'],
      [s(1), 'new'],
    ],
  );
  const slot = w.k.view.find(x);
  t.is(w.k.view.table.status[slot]! & ST.ASSURED, 0);
});

test('E4 worker runs take workerCostNs per redelivery: a restarted run starts when the previous one is over', (t) => {
  const redeliveryTimes = (costNs: number) => {
    const r = kernelRig('linux-6.18', (d) => {
      d.workerCostNs = costNs;
    });
    r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(1);
    for (let i = 0; i < 4; i++) r.at(ms(i), udp(10 + 2 * i));
    r.at(s(0.5), { kind: 'flush', portid: 0 });
    r.sim.run({ until: s(3) });
    return destroys(r, true).map((d) => d.t);
  };
  // The shipped time check restarts after every success: one redelivery per run.
  const free = redeliveryTimes(0);
  t.is(new Set(free).size, 1, 'runs that take no time all happen at the same instant');
  const timed = redeliveryTimes(5000);
  t.deepEqual(
    timed.map((x) => x - timed[0]!),
    [0, 5000, 10000, 15000],
  );
});
