// Hand-traced scenarios: two flows, one slow reliable listener, one flush. Every time below is
// derived in the comments and asserted exactly.
import test from 'ava';
import { Stream, ms, s, us } from '../../../sim/index.js';
import { jiffiesToNs } from '../../../models/kernel/jiffies.js';
import { ENOBUFS } from '../../../models/kernel/events.js';
import type { ListenerConfig } from '../../../models/listeners/config.js';
import { conntrackE, msgs, raw, reader, world } from '../../helpers/world.js';
import { METRIC } from '../../../models/names.js';

const udp = (tuple: number) => ({ kind: 'packet' as const, tuple, proto: 'udp' as const });

function scenario(presetName: string, others: ListenerConfig[] = []) {
  // The listener: NETLINK_BROADCAST_ERROR, SO_RCVBUF(1) (so the kernel minimum), woken 50 us
  // after data arrives, 100 ms per message; `others` listen beside it.
  const w = world(presetName, [raw({ rcvbufBytes: 1, reader: reader(100_000, 50) }), ...others]);
  const attempts: [number, string, number, boolean][] = [];
  w.family.tap = (ev, r) => attempts.push([w.sim.now, ev.type, ev.tuple, r !== ENOBUFS]);
  w.at(0, udp(10)); // flow A
  w.at(ms(1), udp(20)); // flow B
  w.at(ms(50), { kind: 'flush', portid: 9 });
  // The flush visits buckets in order; an entry is met at the first of its two nodes.
  const tb = w.kernel.view.table;
  const first = (x: number): number => Math.min(tb.bucketOf(x), tb.bucketOf(x ^ 1));
  const [X, Y] = first(10) <= first(20) ? [10, 20] : [20, 10];
  return { w, attempts, X, Y };
}

test('hand-traced E1 (2.6.31, HZ=250): flush into a full reliable listener, then random retries', (t) => {
  const { w, attempts, X, Y } = scenario('linux-2.6.31');
  // rcvbuf = max(2*1, SOCK_MIN_RCVBUF 256) = 256; variant A admits while rmem <= 256, so one
  // event (truesize 616) fits.
  //   0        NEW A queued; reader wakes at 0.05 ms, takes it, busy until 100.05 ms.
  //   1 ms     NEW B queued (rmem 616).
  //   50 ms    flush: X attempt #1 refused (rmem 616 > 256: CONGESTED, ENOBUFS pending),
  //            attempt #2 refused (congested), parked: retry at jiffy 12 + d1 (jiffies(50 ms) = 12);
  //            then Y the same way with d2. d1, d2 are the kernel stream's first two draws
  //            of random32() % (15 * HZ).
  const st = new Stream({ seed: 1, run: 0 }, 'kernel/conntrack');
  const d1 = st.intBelow(3750);
  const d2 = st.intBelow(3750);
  const tx = jiffiesToNs(12 + d1, 250);
  const ty = jiffiesToNs(12 + d2, 250);
  //   100.05 ms reader: recv → ENOBUFS, recv → NEW B (queue empty: CONGESTED cleared).
  //   tx, ty   retries succeed (queue empty); the reader logs each 50 us later.
  w.sim.run({ until: s(20) });
  t.deepEqual(attempts, [
    [0, 'new', 10, true],
    [ms(1), 'new', 20, true],
    [ms(50), 'destroy', X, false],
    [ms(50), 'destroy', X, false],
    [ms(50), 'destroy', Y, false],
    [ms(50), 'destroy', Y, false],
    ...(
      [
        [tx, 'destroy', X, true],
        [ty, 'destroy', Y, true],
      ] as [number, string, number, boolean][]
    ).sort((a, b) => a[0] - b[0]),
  ]);
  const log = w.listeners[0]!.log.map((l) => [l.t, l.kind === 'msg' ? `${l.ev.type} ${l.ev.tuple}` : l.kind]);
  t.deepEqual(log, [
    [us(50), 'new 10'],
    [ms(100) + us(50), 'enobufs'],
    [ms(100) + us(50), 'new 20'],
    ...(
      [
        [tx + us(50), `destroy ${X}`],
        [ty + us(50), `destroy ${Y}`],
      ] as [number, string][]
    ).sort((a, b) => a[0] - b[0]),
  ]);
  t.is(w.kernel.view.table.count, 0);
  t.deepEqual([d1, d2], [2073, 2302]); // pinned: a change of stream derivation moves this trace
});

test('hand-traced E4 (6.18, HZ=250): flush into a full reliable listener, worker 1 s later, LIFO, 16 ms retry', (t) => {
  const { w, attempts, X, Y } = scenario('linux-6.18');
  // rcvbuf = max(2, 2304) = 2304; variant B (charge then check), truesize 1280: one event fits.
  //   0        NEW A queued, read at 0.05 ms; reader busy until 100.05 ms.
  //   1 ms     NEW B queued.
  //   50 ms    flush: X refused (CONGESTED), parked at the head, work scheduled for jiffy
  //            12 + HZ = 262; Y refused (congested), parked at the head: list Y, X.
  //            The 4.8+ timer wheel puts a 250-jiffy timer on level 1 (granularity 8): it runs
  //            at jiffy (floor(262 / 8) + 1) * 8 = 264, 1.056 s.
  //   100.05   reader: ENOBUFS, NEW B; queue empty, CONGESTED cleared; busy until 200.05 ms.
  //   1.056 s  worker: Y delivered; the shipped time check returns RESTART: re-run at once.
  //   1.056 s  worker: X refused (Y still queued: the reader wakes 50 us later) → CONGESTED,
  //            retry after msecs_to_jiffies(10) = 3 jiffies, a level-0 timer: runs at
  //            264 + 3 + 1 = jiffy 268 = 1.072 s (16 ms, as measured on 6.18.44).
  //   1.056050 reader takes Y (queue empty, CONGESTED cleared), busy until 1.156050.
  //   1.072 s  worker: X delivered; RESTART; empty run; done.
  //   1.156050 reader takes X.
  w.sim.run({ until: s(3) });
  t.deepEqual(attempts, [
    [0, 'new', 10, true],
    [ms(1), 'new', 20, true],
    [ms(50), 'destroy', X, false],
    [ms(50), 'destroy', Y, false],
    [ms(1056), 'destroy', Y, true],
    [ms(1056), 'destroy', X, false],
    [ms(1072), 'destroy', X, true],
  ]);
  t.deepEqual(
    msgs(w.listeners[0]!.log).map((m) => [m.t, m.type, m.tuple]),
    [
      [us(50), 'new', 10],
      [ms(100) + us(50), 'new', 20],
      [ms(1056) + us(50), 'destroy', Y],
      [ms(1156) + us(50), 'destroy', X],
    ],
  );
  t.is(w.sim.recorder.total(METRIC.ecacheWorkRuns), 4);
  t.is(w.kernel.view.table.count, 0);
});

test('hand-traced E4 with a conntrack -E beside the slow reliable listener: it receives every retry as a duplicate', (t) => {
  const { w, X, Y } = scenario('linux-6.18', [conntrackE({ reader: reader(20, 50) })]);
  w.sim.run({ until: s(3) });
  // conntrack -E (rmem_default, 50 us wake-up, 20 us per event) accepts every attempt:
  //   50 ms    X and Y (refused by the reliable listener) are queued here; read at 50.05 and 50.07 ms.
  //   1.056 s  Y redelivered (duplicate), then X attempted and refused by R but queued here
  //            (duplicate); read at 1.05605 and 1.05607 s.
  //   1.072 s  X delivered (a third duplicate), read at 1.07205 s.
  t.deepEqual(
    msgs(w.listeners[1]!.log).map((m) => [m.t, m.type, m.tuple]),
    [
      [us(50), 'new', 10],
      [ms(1) + us(50), 'new', 20],
      [ms(50) + us(50), 'destroy', X],
      [ms(50) + us(70), 'destroy', Y],
      [ms(1056) + us(50), 'destroy', Y],
      [ms(1056) + us(70), 'destroy', X],
      [ms(1072) + us(50), 'destroy', X],
    ],
  );
  t.is(w.listeners[1]!.stats.duplicates, 3);
  t.is(w.listeners[0]!.stats.duplicates, 0);
});
