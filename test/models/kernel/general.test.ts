// Modelling checklist of conntrack-core.md §14, statements 1–12 (general, E1–E4).
import test from 'ava';
import { s, ms } from '../../../sim/index.js';
import { BITS_E1, ESRCH, NLM_F_CREATE, NLM_F_EXCL, messageFor, BITS_E0 } from '../../../models/kernel/events.js';
import { TCPF } from '../../../models/kernel/trackers.js';
import { kernelRig, tcp, udp } from '../../helpers/kernel.js';
import { METRIC } from '../../../models/names.js';

const B = BITS_E1;

// A TCP handshake makes an entry ASSURED (never an early-drop victim).
function established(r: ReturnType<typeof kernelRig>, tuple: number, at: number): void {
  r.at(at, tcp(tuple, TCPF.SYN));
  r.at(at + ms(1), tcp(tuple ^ 1, TCPF.SYN | TCPF.ACK));
  r.at(at + ms(2), tcp(tuple, TCPF.ACK));
}

test('core#1 allocation counts first, early drop on overflow, count restored and packet dropped on failure', (t) => {
  const r = kernelRig('linux-6.18', (d) => {
    d.max = 2;
    d.buckets = 16;
  });
  established(r, 10, 0);
  established(r, 20, ms(10));
  r.at(ms(50), udp(30)); // table full of ASSURED entries: early drop finds nothing
  r.sim.run({ until: ms(60) });
  t.is(r.k.view.table.count, 2);
  t.is(r.k.view.stats.drop, 1);
  t.is(r.k.view.find(30), -1);
  t.is(r.sim.recorder.total(METRIC.allocated), 2);
  // A non-ASSURED entry is evicted to admit a new one: count stays at max.
  const r2 = kernelRig('linux-6.18', (d) => {
    d.max = 2;
    d.buckets = 1; // one chain: the scan always meets every entry
  });
  established(r2, 10, 0);
  r2.at(ms(10), udp(40));
  r2.at(ms(20), udp(50));
  r2.sim.run({ until: ms(30) });
  t.is(r2.k.view.table.count, 2);
  t.is(r2.k.view.stats.early_drop, 1);
  t.is(r2.k.view.find(40), -1);
  t.not(r2.k.view.find(50), -1);
  t.deepEqual(
    r2.sink.delivered('destroy').map((d) => d.tuple),
    [40],
  );
});

test('core#2 a first packet that never reaches the confirm hook makes no event and never enters the hash', (t) => {
  const r = kernelRig('linux-2.6.31');
  r.at(0, udp(10, { reachesConfirm: false }));
  r.sim.run({ until: ms(1) });
  t.is(r.sink.log.length, 0);
  t.is(r.k.view.table.count, 0);
  t.is(r.k.view.hashedCount(), 0);
  // And it does not stay counted while queued before the hook either: freed with the packet.
  r.at(ms(2), udp(12, { reachesConfirm: false, confirmDelayNs: ms(5) }));
  r.sim.run({ until: ms(3) });
  t.is(r.k.view.table.count, 1);
  t.is(r.k.view.unconfirmedCount(), 1);
  r.sim.run({ until: ms(20) });
  t.is(r.k.view.table.count, 0);
  t.is(r.sink.log.length, 0);
});

test('core#3 NEW is cached at confirm and delivered merged with the bits cached by the same packet', (t) => {
  const r = kernelRig('linux-3.12');
  r.at(0, tcp(10, TCPF.SYN, { confirmDelayNs: ms(3) })); // input at 0, confirm at 3 ms
  r.at(ms(10), tcp(11, TCPF.SYN | TCPF.ACK));
  r.sim.run({ until: s(1) });
  t.deepEqual(
    r.sink.log.map((l) => [l.t, l.type, l.events]),
    [
      [ms(3), 'new', B.NEW | B.PROTOINFO], // one message: NEW plus PROTOINFO cached during input
      [ms(10), 'update', B.REPLY | B.PROTOINFO], // REPLY and PROTOINFO of the reply, same packet
    ],
  );
});

test('core#4 DESTROY is never cached: it is attempted synchronously by the deleting context', (t) => {
  for (const name of ['linux-2.6.31', 'linux-3.17', 'linux-4.9', 'linux-6.18']) {
    const r = kernelRig(name);
    r.at(0, udp(10));
    r.at(ms(7), { kind: 'flush', portid: 99 });
    r.sim.run({ until: ms(8) });
    const d = r.sink.delivered('destroy');
    t.is(d.length, 1, name);
    t.is(d[0]!.t, ms(7), name);
    t.is(d[0]!.portid, 99, name);
    t.is(r.k.view.table.count, 0, name);
  }
});

test('core#5 one message per delivery; DELETE if DESTROY, else NEW with CREATE|EXCL if NEW/RELATED, else UPDATE', (t) => {
  t.deepEqual(messageFor(B.DESTROY | B.NEW | B.REPLY, B), { type: 'destroy', group: 3, flags: 0 });
  t.deepEqual(messageFor(B.NEW | B.PROTOINFO, B), { type: 'new', group: 1, flags: NLM_F_CREATE | NLM_F_EXCL });
  t.deepEqual(messageFor(B.RELATED, B), { type: 'new', group: 1, flags: NLM_F_CREATE | NLM_F_EXCL });
  t.deepEqual(messageFor(B.ASSURED, B), { type: 'update', group: 2, flags: 0 });
  t.is(messageFor(0, B), null);
  // A packet that sets several bits produces exactly one message.
  const r = kernelRig('linux-6.18');
  r.at(0, udp(10));
  r.at(ms(1), udp(11));
  r.sim.run({ until: ms(2) });
  t.is(r.sink.log.length, 2);
  // E0: a lone IPCT_REFRESH makes no message.
  t.is(messageFor(BITS_E0.REFRESH, BITS_E0), null);
});

test('core#6 only a refusing reliable listener fails a delivery: ESRCH and success both count as delivered', (t) => {
  const r = kernelRig('linux-6.18');
  r.at(0, udp(10));
  r.sim.run({ until: ms(1) });
  r.sink.accepted = ESRCH; // nobody took it, but nobody with BROADCAST_ERROR refused it
  r.at(ms(2), { kind: 'flush', portid: 1 });
  r.sim.run({ until: s(5) });
  t.is(r.k.view.parkedCount(), 0);
  t.is(r.k.view.table.count, 0);
  t.is(r.sim.recorder.total(METRIC.destroyFailures), 0);
});

test('core#9 entries awaiting redelivery leave the hash, keep counting, and are freed only after a successful attempt', (t) => {
  for (const name of ['linux-2.6.31', 'linux-3.17', 'linux-4.9', 'linux-6.18']) {
    const r = kernelRig(name);
    r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < s(30);
    r.at(0, tcp(10, TCPF.SYN));
    r.at(s(1), { kind: 'flush', portid: 5 });
    established(r, 10, s(2)); // the tuple is free again: a new (long-lived) entry
    r.sim.run({ until: s(3) });
    t.is(r.k.view.parkedCount(), 1, name);
    t.is(r.k.view.table.count, 2, name);
    t.is(r.k.view.hashedCount(), 1, name);
    const newSerial = r.sink.delivered('new').at(-1)!.serial;
    t.is(r.k.view.table.serial[r.k.view.find(10)], newSerial, name);
    r.sim.run({ until: s(60) });
    t.is(r.k.view.parkedCount(), 0, name);
    t.is(r.k.view.table.count, 1, name);
    const ok = r.sink.delivered('destroy');
    t.is(ok.length, 1, name);
    t.true(ok[0]!.t >= s(30), name);
  }
});

test('core#11 a failed NEW is OR-ed into missed and merged into the next delivery; merged into a DESTROY only DELETE is seen', (t) => {
  const r = kernelRig('linux-3.12');
  r.sink.refuse = (_ev, now) => now < ms(5);
  r.at(0, udp(10)); // NEW fails
  r.at(ms(10), udp(11)); // REPLY: NEW | REPLY in one NEW-group message
  r.sim.run({ until: ms(20) });
  t.deepEqual(
    r.sink.log.map((l) => [l.type, l.events, l.ok]),
    [
      ['new', B.NEW, false],
      ['new', B.NEW | B.REPLY, true],
    ],
  );
  const r2 = kernelRig('linux-3.12');
  r2.sink.refuse = (ev) => ev.type !== 'destroy';
  r2.at(0, udp(10));
  r2.at(ms(5), { kind: 'delete', tuple: 10, portid: 0 });
  r2.sim.run({ until: ms(20) });
  const ok = r2.sink.delivered();
  t.is(ok.length, 1);
  t.is(ok[0]!.type, 'destroy');
  t.is(ok[0]!.events, B.DESTROY | B.NEW);
});

test('core#12 with no subscriber every delivery succeeds and nothing is sent', (t) => {
  for (const name of ['linux-2.6.31', 'linux-3.17', 'linux-4.9', 'linux-6.18']) {
    const r = kernelRig(name, (d) => {
      d.eventsSysctl = 1;
    });
    r.sink.groups.clear();
    r.sink.refuse = () => true; // would refuse, but nothing is offered
    for (let i = 0; i < 10; i++) r.at(ms(i), udp(100 + 2 * i));
    r.at(ms(20), { kind: 'flush', portid: 3 });
    r.sim.run({ until: s(5) });
    t.is(r.sink.log.length, 0, name);
    t.is(r.k.view.table.count, 0, name);
    t.is(r.k.view.parkedCount(), 0, name);
  }
});

test('a nf_conntrack_udp_timeout change applies to packets after it, not to entries already timed (live expiry runs change it)', (t) => {
  const r = kernelRig('linux-3.17', (d) => {
    d.timeouts.udpS = 30;
  });
  r.at(0, udp(2));
  r.at(s(1), { kind: 'sysctl', name: 'udpTimeoutS', value: 5 });
  r.at(s(2), udp(4));
  r.sim.run({ until: s(40) });
  const destroyAt = (tuple: number) => r.sink.delivered('destroy').find((e) => e.tuple === tuple)?.t;
  t.true(Math.abs(destroyAt(4)! - s(7)) < ms(20), `tuple 4 destroyed at ${destroyAt(4)}`);
  t.true(Math.abs(destroyAt(2)! - s(30)) < ms(20), `tuple 2 destroyed at ${destroyAt(2)}`);
});
