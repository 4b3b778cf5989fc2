// The pcap encoder against messages a live 6.18 kernel sent (test/fixtures/wire/wire-6.18.json,
// recorded by experiments/live/wire.ts): decoded by an independent reader and encoded again,
// every message comes back byte for byte; and a simulated twin of the capture's UDP flows
// produces the same bytes but for the fields only a live run can know (CTA_ID, the portid).
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { CtEvent } from '../../../models/kernel/events.js';
import { encodeEvent, enobufsMarker, wireOptions } from '../../../models/kernel/ctnetlink-wire.js';
import { DEFAULT_ADDRESSES, realTuple } from '../../../models/workloads/addresses.js';
import { decodeEvent, eventOf, type DecodedEvent } from '../../helpers/netlink-decode.js';

const LIVE = JSON.parse(readFileSync(new URL('../../fixtures/wire/wire-6.18.json', import.meta.url), 'utf8')) as {
  kernel: string;
  messages: string[];
};
const PROTOINFO = 1 << 3;

const asEvent = (d: DecodedEvent): CtEvent => eventOf(d, PROTOINFO);

test('the live capture covers NEW, UPDATE and DESTROY, IPv4 and IPv6, UDP and TCP', (t) => {
  const ds = LIVE.messages.map(decodeEvent);
  t.true(LIVE.kernel.startsWith('6.18'));
  t.true(ds.some((d) => d.msgType === 0x100 && d.flags === 0x600));
  t.true(ds.some((d) => d.msgType === 0x100 && d.flags === 0));
  t.true(ds.some((d) => d.msgType === 0x102));
  t.true(ds.some((d) => d.family === 10) && ds.some((d) => d.family === 2));
  t.true(ds.some((d) => d.orig.protonum === 6) && ds.some((d) => d.orig.protonum === 17));
});

test('every live 6.18 message decodes and encodes back to the same bytes', (t) => {
  for (const hex of LIVE.messages) {
    const d = decodeEvent(hex);
    const again = Buffer.from(encodeEvent(asEvent(d), d.orig, PROTOINFO, wireOptions('6.18'), d.window)).toString(
      'hex',
    );
    t.is(again, hex);
  }
});

test('layout boundaries: nest flags from 5.2, DESTROY timeout and protoinfo from 5.3, a zero timeout left out', (t) => {
  t.deepEqual(wireOptions('5.1'), { nestedFlag: false, destroyDetails: false });
  t.deepEqual(wireOptions('5.2'), { nestedFlag: true, destroyDetails: false });
  t.deepEqual(wireOptions('5.3'), { nestedFlag: true, destroyDetails: true });
  t.deepEqual(wireOptions('2.6.31'), { nestedFlag: false, destroyDetails: false });
  t.deepEqual(wireOptions('6.18'), { nestedFlag: true, destroyDetails: true });
  const tcpDestroy = LIVE.messages.map(decodeEvent).find((d) => d.msgType === 0x102 && d.orig.protonum === 6)!;
  const ev = asEvent(tcpDestroy);
  const old = decodeEvent(
    Buffer.from(encodeEvent(ev, tcpDestroy.orig, PROTOINFO, wireOptions('4.19'))).toString('hex'),
  );
  t.deepEqual(old.attrs, [1, 2, 12, 3], 'no nest flag, no timeout, no protoinfo');
  const expired = decodeEvent(
    Buffer.from(encodeEvent({ ...ev, timeoutS: 0 }, tcpDestroy.orig, PROTOINFO, wireOptions('6.18'))).toString('hex'),
  );
  t.is(expired.timeout, undefined);
  t.is(expired.tcpState, tcpDestroy.tcpState);
  const nw = decodeEvent(
    Buffer.from(
      encodeEvent({ ...ev, type: 'new', flags: 0x600, timeoutS: 0 }, tcpDestroy.orig, 0, wireOptions('6.18')),
    ).toString('hex'),
  );
  t.is(nw.timeout, 0, 'NEW and UPDATE always carry CTA_TIMEOUT');
  t.is(nw.tcpState, undefined, 'no CTA_PROTOINFO without the IPCT_PROTOINFO bit');
});

test("without a window of its own, a TCP message carries the live capture's values for its state", (t) => {
  for (const hex of LIVE.messages) {
    const d = decodeEvent(hex);
    if (!d.fullProtoinfo) continue;
    t.is(Buffer.from(encodeEvent(asEvent(d), d.orig, PROTOINFO, wireOptions('6.18'))).toString('hex'), hex);
  }
});

test('the ENOBUFS marker is a 36-byte NLMSG_ERROR with error -ENOBUFS', (t) => {
  const b = Buffer.from(enobufsMarker());
  t.is(b.length, 36);
  t.is(b.readUInt32LE(0), 36);
  t.is(b.readUInt16LE(4), 2);
  t.is(b.readInt32LE(16), -105);
});

test('real tuples: a mixed-radix count over src, sport, dst, dport; IPv6 blocks carry across bytes', (t) => {
  const a = { family: 'ipv4', src: '10.0.0.0/31', dst: '192.0.2.0/32', sport: [1000, 1001], dport: [53, 54] } as const;
  const got = [0, 1, 2, 3, 4, 7, 8].map((i) => {
    const r = realTuple(a, 'udp', i);
    return `${r.src.join('.')}:${r.sport}>${r.dst.join('.')}:${r.dport}`;
  });
  t.deepEqual(got, [
    '10.0.0.0:1000>192.0.2.0:53',
    '10.0.0.1:1000>192.0.2.0:53',
    '10.0.0.0:1001>192.0.2.0:53',
    '10.0.0.1:1001>192.0.2.0:53',
    '10.0.0.0:1000>192.0.2.0:54',
    '10.0.0.1:1001>192.0.2.0:54',
    '10.0.0.0:1000>192.0.2.0:53',
  ]);
  const v6 = realTuple({ ...DEFAULT_ADDRESSES, family: 'ipv6', src: 'fd00::ff/120', dst: '::1/128' }, 'tcp', 256);
  t.deepEqual(v6.src.slice(12), [0, 0, 0, 0], 'the index wraps within the /120 (256 addresses)');
  const carry = realTuple({ ...DEFAULT_ADDRESSES, family: 'ipv6', src: 'fd00::/64', dst: '::1/128' }, 'tcp', 256);
  t.deepEqual(carry.src.slice(13), [0, 1, 0]);
  t.is(carry.protonum, 6);
});
