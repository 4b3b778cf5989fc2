// Invariants of the kernel model on randomised scenarios (fast-check): table accounting,
// nf_conntrack_max, and reliable delivery (exactly one DESTROY per reported conntrack, nothing
// after it) once the listener recovers.
import test from 'ava';
import fc from 'fast-check';
import { ms, s } from '../../../sim/index.js';
import { PRESET_NAMES } from '../../../models/presets.js';
import { TCPF } from '../../../models/kernel/trackers.js';
import { raw, reader, world } from '../../helpers/world.js';
import { METRIC } from '../../../models/names.js';

type Op =
  | { op: 'udp'; flow: number; reply: boolean; gapMs: number }
  | { op: 'tcp'; flow: number; flags: number; reply: boolean; gapMs: number }
  | { op: 'flush'; gapMs: number }
  | { op: 'delete'; flow: number; gapMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('udp' as const), flow: fc.nat(40), reply: fc.boolean(), gapMs: fc.nat(40) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('tcp' as const),
      flow: fc.nat(40),
      flags: fc.constantFrom(TCPF.SYN, TCPF.SYN | TCPF.ACK, TCPF.ACK, TCPF.FIN, TCPF.RST),
      reply: fc.boolean(),
      gapMs: fc.nat(40),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flush' as const), gapMs: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), flow: fc.nat(40), gapMs: fc.nat(40) }) },
);

const scenarioArb = fc.record({
  preset: fc.constantFrom(...PRESET_NAMES.filter((p) => p !== 'linux-2.6.30')),
  max: fc.integer({ min: 5, max: 60 }),
  rcvbuf: fc.constantFrom(1, 2048, 8192),
  slowUntilS: fc.integer({ min: 2, max: 20 }),
  ops: fc.array(opArb, { minLength: 20, maxLength: 200 }),
});

const stats = { runs: 0, parked: 0, destroys: 0 };
test('core invariants: count = hashed + parked + unconfirmed, count <= max where the era requires, one DESTROY per reported conntrack, nothing after it', (t) => {
  fc.assert(
    fc.property(scenarioArb, (sc) => {
      const w = world(sc.preset, [raw({ rcvbufBytes: sc.rcvbuf, reader: reader(1000, 50) })], (d) => {
        d.kernel.max = sc.max;
        d.kernel.buckets = 16;
        d.kernel.cpus = 2;
      });
      const l = w.listeners[0]!;
      // A slow phase: the reader takes 200 ms per message until slowUntilS, then 1 ms.
      const slow = reader(200_000, 50);
      (l as unknown as { cfg: { reader: unknown } }).cfg = {
        ...l.cfg,
        reader: sc.slowUntilS > 0 ? slow : l.cfg.reader,
      };
      let at = 0;
      for (const o of sc.ops) {
        at += ms(o.gapMs);
        if (o.op === 'udp') w.at(at, { kind: 'packet', tuple: 2 * o.flow + (o.reply ? 1 : 0), proto: 'udp' });
        else if (o.op === 'tcp')
          w.at(at, { kind: 'packet', tuple: 1000 + 2 * o.flow + (o.reply ? 1 : 0), proto: 'tcp', flags: o.flags });
        else if (o.op === 'flush') w.at(at, { kind: 'flush', portid: 1 });
        else w.at(at, { kind: 'delete', tuple: 2 * o.flow, portid: 0 });
      }
      const v = w.kernel.view;
      const allowsOverflow = sc.preset === 'linux-2.6.31';
      // Check the accounting after every step of the busy phase.
      const end = at + ms(1);
      for (let t0 = 0; t0 < end; t0 += ms(100)) {
        w.sim.run({ until: t0 });
        if (sc.slowUntilS > 0 && w.sim.now >= s(sc.slowUntilS))
          (l as unknown as { cfg: { reader: unknown } }).cfg = { ...l.cfg, reader: reader(1000, 50) };
        const c = v.table.count;
        if (c !== v.hashedCount() + v.parkedCount() + v.unconfirmedCount()) return false;
        if (!allowsOverflow && c > sc.max) return false;
      }
      (l as unknown as { cfg: { reader: unknown } }).cfg = { ...l.cfg, reader: reader(1000, 50) };
      // Quiet period: everything expires (TCP closes within 120 s of SYN_SENT/FIN_WAIT, but an
      // ESTABLISHED flow lives 5 days: flush at the end) and every DESTROY gets through.
      w.at(end + s(1), { kind: 'flush', portid: 1 });
      w.sim.run({ until: end + s(200) });
      if (v.table.count !== 0) return false;
      // Reliable delivery: every conntrack whose NEW was reported (or that the listener saw)
      // got exactly one DESTROY through, and the listener saw nothing of it afterwards.
      const destroyed = new Map<number, number>();
      const lastSeen = new Map<number, { t: number; type: string }>();
      for (const e of l.log) {
        if (e.kind !== 'msg') continue;
        if (e.ev.type === 'destroy') destroyed.set(e.ev.serial, (destroyed.get(e.ev.serial) ?? 0) + 1);
        else if (destroyed.has(e.ev.serial)) return false; // something after its DESTROY
        lastSeen.set(e.ev.serial, { t: e.t, type: e.ev.type });
      }
      for (const [serial, tr] of v.truth) {
        if (!tr.newSent) continue;
        if (tr.destroySent < 0) return false;
        if (destroyed.get(serial) !== 1) return false;
      }
      stats.runs++;
      stats.parked += w.sim.recorder.total(METRIC.parked);
      stats.destroys += destroyed.size;
      return [...destroyed.values()].every((n) => n === 1);
    }),
    { numRuns: 60, seed: 7 },
  );
  // The scenarios must exercise what they claim to: parking and many deliveries.
  t.is(stats.runs, 60);
  t.true(stats.parked > 300, `parked ${stats.parked}`);
  t.true(stats.destroys > 600, `destroys ${stats.destroys}`);
});
