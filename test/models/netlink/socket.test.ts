// Modelling checklist of netlink-and-listeners.md §7, statements 1–12 and 25, plus core#7/#8.
import test from 'ava';
import { produce } from 'immer';
import { ENOBUFS, ESRCH, type CtEvent } from '../../../models/kernel/events.js';
import {
  NetlinkFamily,
  NetlinkSocket,
  eventsThatFit,
  rcvbufFor,
  truesizeOf,
  type SocketOptions,
} from '../../../models/netlink/socket.js';
import type { NetlinkKernelConfig } from '../../../models/netlink/config.js';
import { preset } from '../../../models/presets.js';
import { fakeCtx } from '../../helpers/fake-ctx.js';

const NL_A = preset('linux-5.19').netlink; // variant A, truesize 1280
const NL_B = preset('linux-6.18').netlink; // variant B
const NL_2631 = preset('linux-2.6.31').netlink;
const ctx = fakeCtx({ seed: 1, self: 'kernel/conntrack' });

let serial = 0;
function ev(type: CtEvent['type'] = 'destroy', proto: CtEvent['proto'] = 'udp'): CtEvent {
  serial++;
  return {
    type,
    group: type === 'destroy' ? 3 : type === 'new' ? 1 : 2,
    flags: 0,
    events: 4,
    id: serial,
    tuple: 2 * serial,
    proto,
    portid: 0,
    serial,
    sentAt: 0,
    status: 8,
    timeoutS: 30,
    tcpState: 0,
  };
}

function sock(nl: NetlinkKernelConfig, rcvbuf: number, o: Partial<SocketOptions> = {}): NetlinkSocket {
  const s = new NetlinkSocket(
    'netlink/sock-0',
    { groups: [1, 2, 3], broadcastError: false, noEnobufs: false, rcvbuf: { kind: 'default' }, ...o },
    nl,
  );
  s.rcvbuf = rcvbuf;
  return s;
}

function fill(s: NetlinkSocket, mk: () => CtEvent = ev): number {
  let n = 0;
  while (s.deliver(mk(), ctx)) n++;
  return n;
}

test('netlink#1 variant A admits while rmem <= rcvbuf before charging: floor(rcvbuf/T) + 1 skbs', (t) => {
  t.is(fill(sock(NL_A, 4096)), 4);
  t.is(
    fill(sock(NL_2631, 4096), () => ev('new', 'tcp')),
    7,
  ); // T = 680
  t.is(fill(sock(NL_A, 212992)), 167);
});

test('netlink#2 variant B charges first: max(1, floor(rcvbuf/T)) skbs', (t) => {
  t.is(fill(sock(NL_B, 4096)), 3);
  t.is(fill(sock(NL_B, 212992)), 166);
  t.is(fill(sock(NL_B, 2304)), 1);
  t.is(fill(sock(NL_B, 1000)), 1); // a lone oversized skb into an empty queue
});

test('netlink#3 A may overshoot rcvbuf by one skb; B never does except a lone oversized skb', (t) => {
  const a = sock(NL_A, 4096);
  fill(a);
  t.is(a.rmem, 5120);
  t.true(a.rmem > a.rcvbuf && a.rmem - a.rcvbuf < 1280);
  const b = sock(NL_B, 4096);
  fill(b);
  t.is(b.rmem, 3840);
  const tiny = sock(NL_B, 1000);
  fill(tiny);
  t.is(tiny.rmem, 1280);
});

test('netlink#4 truesize is charged at enqueue, released at dequeue, and charged in full to every listener', (t) => {
  const fam = new NetlinkFamily(NL_B);
  const a = sock(NL_B, 8192);
  const b = sock(NL_B, 8192);
  fam.add(a);
  fam.add(b);
  fam.broadcast(ev(), ctx);
  t.is(a.rmem, 1280);
  t.is(b.rmem, 1280);
  t.is(a.recv().kind, 'data');
  t.is(a.rmem, 0);
  t.is(b.rmem, 1280);
});

test('netlink#5 truesize: 1280 for every ordinary event on 6.x; about 680 (TCP) and 616 (UDP) on 2.6.31', (t) => {
  for (const type of ['new', 'update', 'destroy'] as const) {
    for (const proto of ['tcp', 'udp'] as const) t.is(truesizeOf(ev(type, proto), NL_B.truesize), 1280);
    t.is(truesizeOf(ev(type, 'tcp'), NL_2631.truesize), 680);
    t.is(truesizeOf(ev(type, 'udp'), NL_2631.truesize), 616);
  }
});

test('netlink#6 core#7 a refusal counts a drop; the first of an episode sets CONGESTED and one ENOBUFS', (t) => {
  const s = sock(NL_B, 2304);
  t.true(s.deliver(ev(), ctx));
  t.false(s.deliver(ev(), ctx));
  t.is(s.drops, 1);
  t.true(s.congested);
  t.is(s.pendingError, ENOBUFS);
  t.is(s.recv().kind, 'error');
  t.false(s.deliver(ev(), ctx));
  t.false(s.deliver(ev(), ctx));
  t.is(s.drops, 3);
  t.is(s.pendingError, 0); // still the same episode: no second ENOBUFS
});

test('netlink#7 core#7 while congested every broadcast is refused, even with free space', (t) => {
  const s = sock(NL_B, 212992);
  s.congested = true;
  t.false(s.deliver(ev(), ctx));
  t.is(s.queueLength, 0);
  t.is(s.rmem, 0);
});

test('netlink#8 core#8 CONGESTED clears only when a recvmsg leaves the queue empty, or when NO_ENOBUFS is set', (t) => {
  const s = sock(NL_A, 4096);
  fill(s); // 4 queued, then refused → congested
  t.true(s.congested);
  s.recv(); // ENOBUFS
  s.recv(); // 3 left
  t.true(s.congested);
  t.false(s.deliver(ev(), ctx)); // plenty of room, still refused
  s.recv();
  s.recv();
  t.true(s.congested);
  s.recv(); // the last one: queue empty → cleared
  t.false(s.congested);
  t.true(s.deliver(ev(), ctx));
  const n = sock(NL_A, 4096);
  fill(n);
  n.setNoEnobufs(true);
  t.false(n.congested);
  // An empty read (EAGAIN) also runs netlink_rcv_wake.
  const e = sock(NL_A, 4096);
  e.congested = true;
  t.is(e.recv().kind, 'empty');
  t.false(e.congested);
});

test('netlink#9 a pending ENOBUFS is returned before queued skbs, once, then the skbs come in FIFO order', (t) => {
  const s = sock(NL_B, 4096);
  const sent: number[] = [];
  for (let i = 0; i < 4; i++) {
    const e = ev();
    if (s.deliver(e, ctx)) sent.push(e.serial);
  }
  const got: (string | number)[] = [];
  for (let r = s.recv(); r.kind !== 'empty'; r = s.recv()) got.push(r.kind === 'data' ? r.ev.serial : r.errno);
  t.deepEqual(got, [ENOBUFS, ...sent]);
});

test('netlink#10 with NO_ENOBUFS a refusal only counts a drop: no error, no congestion, admission as soon as rmem allows', (t) => {
  const s = sock(NL_B, 4096, { noEnobufs: true });
  t.is(fill(s), 3);
  t.is(s.drops, 1);
  t.false(s.congested);
  t.is(s.pendingError, 0);
  s.recv();
  t.true(s.deliver(ev(), ctx));
});

test('netlink#11 broadcast returns ENOBUFS iff a BROADCAST_ERROR listener refused; else 0 if anyone took it; else ESRCH', (t) => {
  const mk = (rFull: boolean, uFull: boolean): number => {
    const fam = new NetlinkFamily(NL_B);
    const r = sock(NL_B, 8192, { broadcastError: true });
    const u = sock(NL_B, 8192);
    if (rFull) r.congested = true;
    if (uFull) u.congested = true;
    fam.add(r);
    fam.add(u);
    return fam.broadcast(ev(), ctx);
  };
  t.is(mk(false, false), 0);
  t.is(mk(false, true), 0); // U loses it; never retried
  t.is(mk(true, false), ENOBUFS);
  t.is(mk(true, true), ENOBUFS);
  const fam = new NetlinkFamily(NL_B);
  const u = sock(NL_B, 8192);
  u.congested = true;
  fam.add(u);
  t.is(fam.broadcast(ev(), ctx), ESRCH);
  t.is(new NetlinkFamily(NL_B).broadcast(ev(), ctx), ESRCH);
});

test('netlink#12 a retry is a new broadcast to every member: a listener that took the first attempt gets a duplicate', (t) => {
  const fam = new NetlinkFamily(NL_B);
  const r = sock(NL_B, 8192, { broadcastError: true });
  const u = sock(NL_B, 8192);
  fam.add(r);
  fam.add(u);
  r.congested = true;
  const e = ev();
  t.is(fam.broadcast(e, ctx), ENOBUFS);
  r.congested = false;
  t.is(fam.broadcast(e, ctx), 0);
  t.is(u.queueLength, 2);
  t.is(r.queueLength, 1);
});

test('netlink#25 SO_RCVBUF doubles, caps at rmem_max and floors at SOCK_MIN_RCVBUF; SO_RCVBUFFORCE skips the cap', (t) => {
  // Live 6.18 figures: requests 2048 … 212992 give 4096 … 425984.
  for (const [req, got] of [
    [2048, 4096],
    [4096, 8192],
    [8192, 16384],
    [65536, 131072],
    [212992, 425984],
  ]) {
    t.is(rcvbufFor({ kind: 'SO_RCVBUF', bytes: req! }, NL_B), got!);
  }
  t.is(rcvbufFor({ kind: 'SO_RCVBUF', bytes: 1 }, NL_B), 2304);
  t.is(rcvbufFor({ kind: 'SO_RCVBUF', bytes: 1 }, NL_2631), 256);
  t.is(rcvbufFor({ kind: 'SO_RCVBUF', bytes: 10_000_000 }, NL_B), 2 * 4194304);
  t.is(rcvbufFor({ kind: 'SO_RCVBUF', bytes: 10_000_000 }, NL_A), 2 * 212992);
  t.is(rcvbufFor({ kind: 'SO_RCVBUFFORCE', bytes: 10_000_000 }, NL_A), 20_000_000);
  t.is(rcvbufFor({ kind: 'default' }, NL_B), 212992);
  t.is(rcvbufFor({ kind: 'default' }, NL_2631), 124928);
});

test('live 6.18 capacities: a listener that never reads holds exactly 3, 6, 12, 102 and 332 events', (t) => {
  const caps = [2048, 4096, 8192, 65536, 212992].map((req) => {
    const s = new NetlinkSocket(
      'x',
      { groups: [3], broadcastError: false, noEnobufs: false, rcvbuf: { kind: 'SO_RCVBUF', bytes: req } },
      NL_B,
    );
    return fill(s);
  });
  t.deepEqual(caps, [3, 6, 12, 102, 332]);
  t.is(
    produce(NL_B, (d) => {
      d.admission = 'A';
    }).admission,
    'A',
  );
});

test('admission at rmem = rcvbuf exactly (rcvbuf a multiple of the truesize): A admits one more, B does not', (t) => {
  // rcvbuf 2560 = 2 × 1280. A checks before charging: 0 ≤ 2560, 1280 ≤ 2560, and at
  // rmem = 2560 = rcvbuf the third is still admitted (3840 charged); B charges first:
  // 1280 ≤ 2560, 2560 ≤ 2560 (the equal case admitted), 3840 > 2560 refused.
  const a = sock(NL_A, 2560);
  t.is(fill(a), 3);
  t.is(a.rmem, 3840);
  const b = sock(NL_B, 2560);
  t.is(fill(b), 2);
  t.is(b.rmem, 2560);
  // One byte less: A stops at rmem 2560 > 2559, B at 2560 > 2559.
  t.is(fill(sock(NL_A, 2559)), 2);
  t.is(fill(sock(NL_B, 2559)), 1);
});

test('eventsThatFit gives what filling a socket gives, for both variants, at and around exact multiples', (t) => {
  for (const rcvbuf of [2304, 2559, 2560, 2561, 4096, 212992]) {
    t.is(eventsThatFit(rcvbuf, 1280, 'A'), fill(sock(NL_A, rcvbuf)), `A ${rcvbuf}`);
    t.is(eventsThatFit(rcvbuf, 1280, 'B'), fill(sock(NL_B, rcvbuf)), `B ${rcvbuf}`);
  }
  t.is(eventsThatFit(256, 616, 'A'), 1);
  t.is(eventsThatFit(256, 616, 'B'), 1); // a lone oversized skb into an empty queue
});
