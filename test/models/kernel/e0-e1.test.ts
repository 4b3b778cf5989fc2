// Modelling checklist of conntrack-core.md §14, statements 13–23 (E0 and E1).
import test from 'ava';
import { ms, s } from '../../../sim/index.js';
import { jiffiesToNs } from '../../../models/kernel/jiffies.js';
import { BITS_E0 } from '../../../models/kernel/events.js';
import { ST } from '../../../models/kernel/table.js';
import { TCPF } from '../../../models/kernel/trackers.js';
import { kernelRig, tcp, udp, type KernelRig } from '../../helpers/kernel.js';

function established(r: KernelRig, tuple: number, at: number): void {
  r.at(at, tcp(tuple, TCPF.SYN));
  r.at(at + ms(1), tcp(tuple ^ 1, TCPF.SYN | TCPF.ACK));
  r.at(at + ms(2), tcp(tuple, TCPF.ACK));
}

test('core#13 E0 ignores delivery errors: nothing is retried and a full listener just loses events', (t) => {
  const r = kernelRig('linux-2.6.30');
  r.sink.refuse = () => true;
  for (let i = 0; i < 5; i++) r.at(ms(i), udp(10 + 2 * i));
  r.at(ms(10), { kind: 'flush', portid: 4 });
  r.sim.run({ until: s(60) });
  t.is(r.sink.log.filter((l) => l.type === 'new').length, 5);
  t.is(r.sink.log.filter((l) => l.type === 'destroy').length, 5); // one attempt each, all refused
  t.is(r.k.view.table.count, 0);
  t.is(r.k.view.parkedCount(), 0);
});

test('core#14 E0 sends DESTROY when the last reference goes, not at timer expiry while an skb holds the entry', (t) => {
  const r = kernelRig('linux-2.6.30');
  r.at(0, udp(10, { holdNs: s(40) })); // e.g. stuck in a qdisc
  r.sim.run({ until: s(35) });
  t.is(r.sink.log.filter((l) => l.type === 'destroy').length, 0);
  t.is(r.k.view.hashedCount(), 0); // timer fired at 30 s: unlinked already
  t.is(r.k.view.table.count, 1);
  r.sim.run({ until: s(50) });
  t.deepEqual(
    r.sink.log.filter((l) => l.type === 'destroy').map((l) => l.t),
    [s(40)],
  );
  // E1 reports at expiry, whatever holds the entry.
  const r1 = kernelRig('linux-2.6.31');
  r1.at(0, udp(10, { holdNs: s(40) }));
  r1.sim.run({ until: s(50) });
  t.deepEqual(
    r1.sink.log.filter((l) => l.type === 'destroy').map((l) => l.t),
    [jiffiesToNs(30 * 250, 250)],
  );
});

test('core#15 E0 keeps one pending conntrack per CPU: caching for another flushes the previous one first', (t) => {
  const r = kernelRig('linux-2.6.30'); // one CPU
  r.at(0, udp(10)); // A: NEW delivered at its confirm
  r.at(ms(5), udp(11, { reachesConfirm: false })); // A's reply caches STATUS, dropped before confirm
  r.at(ms(9), udp(20)); // B: caching B's NEW first delivers A's pending UPDATE
  r.sim.run({ until: ms(10) });
  t.deepEqual(
    r.sink.log.map((l) => [l.t, l.type, l.tuple]),
    [
      [0, 'new', 10],
      [ms(9), 'update', 10],
      [ms(9), 'new', 20],
    ],
  );
});

test('core#16 E0 sends only NEW/RELATED, DESTROY, STATUS and PROTOINFO: a refresh alone sends nothing', (t) => {
  const r = kernelRig('linux-2.6.30');
  r.at(0, udp(10));
  r.at(s(2), udp(10)); // refresh only: IPCT_REFRESH is cached and ignored
  r.sim.run({ until: s(3) });
  t.is(r.sink.log.length, 1);
  t.is(r.sink.log[0]!.events & BITS_E0.NEW, BITS_E0.NEW);
});

test('core#17 E1 retries a failed DESTROY after U{0 … 15·HZ−1} jiffies, a fresh draw each time, without limit', (t) => {
  const r = kernelRig('linux-2.6.31');
  const N = 400;
  const until = s(600);
  r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < until;
  for (let i = 0; i < N; i++) r.at(ms(i), udp(1000 + 2 * i));
  r.at(s(1), { kind: 'delete', tuple: 1000, portid: 0 });
  for (let i = 1; i < N; i++) r.at(s(1), { kind: 'delete', tuple: 1000 + 2 * i, portid: 0 });
  r.sim.run({ until: s(700) });
  // Gaps between consecutive attempts of one entry, in jiffies (attempts run on ticks).
  const bySerial = new Map<number, number[]>();
  for (const l of r.sink.log)
    if (l.type === 'destroy') bySerial.set(l.serial, [...(bySerial.get(l.serial) ?? []), l.t]);
  const gaps: number[] = [];
  const pairs: [number, number][] = [];
  for (const times of bySerial.values()) {
    const g = times.slice(1).map((x, i) => Math.round((x - times[i]!) / ms(4)));
    gaps.push(...g);
    for (let i = 1; i < g.length; i++) pairs.push([g[i - 1]!, g[i]!]);
  }
  const R = 15 * 250;
  t.true(gaps.length > 25_000, `${gaps.length} gaps`);
  t.true(Math.min(...gaps) >= 1 && Math.max(...gaps) <= R - 1);
  // Chi-square goodness of fit to the uniform law on 1..R-1 (a draw of 0 fires at the next tick,
  // i.e. a gap of 1), 15 equal bins; 36.12 is the 0.999 quantile of chi2(14).
  const bins = new Array<number>(15).fill(0);
  for (const g of gaps) bins[Math.min(14, Math.floor(((g === 1 ? 0 : g) * 15) / R))]!++;
  const e = gaps.length / 15;
  const chi2 = bins.reduce((a, o) => a + (o - e) ** 2 / e, 0);
  t.true(chi2 < 36.12, `chi2 ${chi2.toFixed(1)}`);
  // Independence of consecutive draws: lag-1 correlation within 4 standard errors of 0.
  const mx = pairs.reduce((a, p) => a + p[0], 0) / pairs.length;
  const my = pairs.reduce((a, p) => a + p[1], 0) / pairs.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  t.true(Math.abs(sxy / Math.sqrt(sxx * syy)) < 4 / Math.sqrt(pairs.length));
  // No attempt limit: every entry got through once the listener recovered, after ~40 attempts.
  t.is(r.sink.delivered('destroy').length, N);
  t.is(r.k.view.table.count, 0);
});

test('core#18 E1 sets DYING only after the DESTROY was delivered; parked entries are not DYING', (t) => {
  const r = kernelRig('linux-2.6.31');
  r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(20);
  r.at(0, udp(10));
  r.at(ms(1), udp(12));
  r.at(s(1), { kind: 'flush', portid: 9 });
  r.sim.run({ until: s(2) });
  const parked = r.k.view.parkedSlots().flat();
  t.is(parked.length, 2);
  for (const slot of parked) t.is(r.k.view.table.status[slot]! & ST.DYING, 0);
  r.sim.run({ until: s(60) });
  t.is(r.k.view.table.count, 0);
});

test('core#19 flush makes two immediate attempts up to 3.11 (the second with the stored portid), one from 3.12', (t) => {
  for (const [name, attempts] of [
    ['linux-2.6.31', 2],
    ['linux-3.12', 1],
  ] as const) {
    const r = kernelRig(name);
    r.sink.refuse = (ev) => ev.type === 'destroy';
    r.at(0, udp(10));
    r.at(s(1), { kind: 'flush', portid: 4242 });
    r.sim.run({ until: s(1) + 1 });
    const d = r.sink.log.filter((l) => l.type === 'destroy');
    t.is(d.length, attempts, name);
    for (const x of d) {
      t.is(x.t, s(1));
      t.is(x.portid, 4242);
    }
    t.is(r.k.view.parkedCount(), 1);
  }
});

test('core#20 E1–early E3: a packet that caches no new event does not re-send missed events (≥ 4.12 it does)', (t) => {
  for (const [name, resent] of [
    ['linux-2.6.31', false],
    ['linux-3.17', false],
    ['linux-4.9', false],
    ['linux-6.18', true],
  ] as const) {
    const r = kernelRig(name);
    r.sink.refuse = (_ev, now) => now < ms(5);
    r.at(0, udp(10)); // NEW fails
    r.at(ms(10), udp(10)); // same direction again: caches nothing
    r.sim.run({ until: ms(20) });
    t.is(r.sink.delivered('new').length, resent ? 1 : 0, name);
  }
});

test('core#21 early drop ≤ 3.14 evicts the oldest non-ASSURED entry of the chain; 2.6.31 admits even if its DESTROY failed, 3.12 does not', (t) => {
  for (const [name, admitted] of [
    ['linux-2.6.31', true],
    ['linux-3.12', false],
  ] as const) {
    const r = kernelRig(name, (d) => {
      d.max = 3;
      d.buckets = 1;
    });
    r.sink.refuse = (ev) => ev.type === 'destroy';
    r.at(0, udp(10)); // oldest
    r.at(ms(1), udp(20));
    r.at(ms(2), udp(30));
    r.at(ms(3), udp(40));
    r.sim.run({ until: ms(4) });
    t.is(r.k.view.find(10), -1, name); // the victim left the hash
    t.not(r.k.view.find(20), -1);
    t.is(r.k.view.parkedCount(), 1);
    t.is(r.k.view.find(40) !== -1, admitted, name);
    t.is(r.k.view.table.count, admitted ? 4 : 3, name); // 2.6.31: count exceeds max
    t.is(r.k.view.stats.early_drop, admitted ? 1 : 0);
  }
});

test('core#21 early drop ≤ 3.14 stops after 8 hash nodes even if a later bucket has a candidate', (t) => {
  const r = kernelRig('linux-3.12', (d) => {
    d.max = 5;
    d.buckets = 64;
  });
  const tb = r.k.view.table;
  // Find tuples whose both nodes land in bucket b0, and one non-ASSURED tuple in bucket b0+1.
  const b0 = 7;
  const inBucket = (b: number, n: number): number[] => {
    const out: number[] = [];
    for (let x = 2; out.length < n; x += 2) if (tb.bucketOf(x) === b && tb.bucketOf(x ^ 1) === b) out.push(x);
    return out;
  };
  const full = inBucket(b0, 4); // 4 ASSURED entries: 8 nodes in b0
  const victim = inBucket(b0 + 1, 1)[0]!;
  full.forEach((x, i) => established(r, x, ms(10 * i)));
  r.at(ms(100), udp(victim));
  let fresh = 0;
  for (let x = 2; ; x += 2)
    if (tb.bucketOf(x) === b0 && !full.includes(x)) {
      fresh = x;
      break;
    }
  r.at(ms(200), udp(fresh));
  r.sim.run({ until: ms(300) });
  t.is(r.k.view.stats.drop, 1);
  t.not(r.k.view.find(victim), -1); // never reached
});

test('core#22 early drop 3.15–4.7 takes the newest eligible entry and succeeds only if nf_ct_delete returned true', (t) => {
  const ok = kernelRig('linux-3.17', (d) => {
    d.max = 3;
    d.buckets = 1;
  });
  for (const [i, x] of [10, 20, 30].entries()) ok.at(ms(i), udp(x));
  ok.at(ms(5), udp(40));
  ok.sim.run({ until: ms(6) });
  t.is(ok.k.view.find(30), -1); // newest non-ASSURED evicted
  t.not(ok.k.view.find(10), -1);
  t.not(ok.k.view.find(40), -1);
  t.is(ok.k.view.stats.early_drop, 1);
  const bad = kernelRig('linux-3.17', (d) => {
    d.max = 3;
    d.buckets = 1;
  });
  bad.sink.refuse = (ev) => ev.type === 'destroy';
  for (const [i, x] of [10, 20, 30].entries()) bad.at(ms(i), udp(x));
  bad.at(ms(5), udp(40));
  bad.sim.run({ until: ms(6) });
  t.is(bad.k.view.find(40), -1);
  t.is(bad.k.view.stats.drop, 1);
  t.is(bad.k.view.parkedCount(), 1);
});

test('core#23 timer eras coalesce refreshes: the expiry moves only if it moves by at least HZ', (t) => {
  for (const name of ['linux-2.6.30', 'linux-2.6.31', 'linux-3.17']) {
    const r = kernelRig(name);
    r.at(0, udp(10));
    r.at(ms(900), udp(10)); // would move the expiry by 0.9 s: ignored
    r.at(0, udp(20));
    r.at(s(1), udp(20)); // moves it by exactly HZ: applied
    r.sim.run({ until: s(40) });
    const d = r.sink.log.filter((l) => l.type === 'destroy');
    t.deepEqual(
      d.map((x) => [x.tuple, x.t]),
      [
        [10, s(30)],
        [20, s(31)],
      ],
      name,
    );
    // A refresh is no event a listener sees: E0's IPCT_REFRESH is ignored by ctnetlink, and from
    // 2.6.31 there is no refresh bit at all.
    t.false(
      r.sink.log.some((l) => l.type === 'update'),
      name,
    );
  }
});
