import test from 'ava';
import fc from 'fast-check';
import { SlotTimers } from '../../sim/slot-timers.js';

// A reference with the documented rule: timers fire in instant order and, within an instant, in
// the order they were (re-)armed; one pending timer per slot; a callback may re-arm.
class Reference {
  private readonly pend = new Map<number, { t: number; type: number; seq: number }>();
  private seq = 0;
  arm(slot: number, t: number, type: number): void {
    this.pend.set(slot, { t, type, seq: this.seq++ });
  }
  cancel(slot: number): boolean {
    return this.pend.delete(slot);
  }
  pending(slot: number): boolean {
    return this.pend.has(slot);
  }
  get next(): number {
    let m = Infinity;
    for (const p of this.pend.values()) m = Math.min(m, p.t);
    return m;
  }
  fire(now: number, cb: (slot: number, type: number) => void): void {
    for (;;) {
      let best: [number, { t: number; type: number; seq: number }] | undefined;
      for (const e of this.pend)
        if (e[1].t <= now && (!best || e[1].t < best[1].t || (e[1].t === best[1].t && e[1].seq < best[1].seq)))
          best = e;
      if (!best) return;
      this.pend.delete(best[0]);
      cb(best[0], best[1].type);
    }
  }
}

type Op =
  | { kind: 'arm'; slot: number; jiffy: number; lateNs: number; type: number }
  | { kind: 'cancel'; slot: number }
  | { kind: 'fire'; advance: number };

const JIFFY = 4_000_000; // HZ=250
// Far past 2^32 ns (4.3 s) so that both words of an instant vary, as in a long simulation.
const BASE = 3_000 * 1e9;

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('arm' as const),
    slot: fc.nat({ max: 2_000 }),
    jiffy: fc.nat({ max: 1_500 }),
    lateNs: fc.constantFrom(0, 0, 1, 999),
    type: fc.nat({ max: 3 }),
  }),
  fc.record({ kind: fc.constant('cancel' as const), slot: fc.nat({ max: 2_000 }) }),
  fc.record({ kind: fc.constant('fire' as const), advance: fc.nat({ max: 200 }) }),
);

test('SlotTimers fires, cancels and reports the next instant as the reference does', (t) => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 500, maxLength: 3_000 }), (ops) => {
      const st = new SlotTimers(16);
      const ref = new Reference();
      const gotSt: number[] = [];
      const gotRef: number[] = [];
      let nowJ = 0;
      // Every third slot re-arms itself 7 jiffies on when it fires (arming from a callback).
      const cbFor = (timers: SlotTimers | Reference, out: number[]) => (slot: number, type: number) => {
        out.push(slot, type);
        if (slot % 3 === 0) timers.arm(slot, BASE + (nowJ + 7) * JIFFY, (type + 1) & 3);
      };
      for (const o of ops) {
        if (o.kind === 'arm') {
          const at = BASE + (nowJ + 1 + o.jiffy) * JIFFY + o.lateNs;
          st.arm(o.slot, at, o.type);
          ref.arm(o.slot, at, o.type);
        } else if (o.kind === 'cancel') {
          if (st.cancel(o.slot) !== ref.cancel(o.slot)) return false;
        } else {
          nowJ += o.advance;
          st.fire(BASE + nowJ * JIFFY, cbFor(st, gotSt));
          ref.fire(BASE + nowJ * JIFFY, cbFor(ref, gotRef));
        }
        if (st.next !== ref.next) return false;
      }
      for (let s = 0; s <= 2_000; s++) if (st.pending(s) !== ref.pending(s)) return false;
      return gotSt.length === gotRef.length && gotSt.every((x, i) => x === gotRef[i]);
    }),
    { numRuns: 40 },
  );
  t.pass();
});

test('SlotTimers: 100,000 distinct instants (armed out of order) fire in instant order', (t) => {
  const st = new SlotTimers(1);
  const n = 100_000;
  // Slot i at jiffy (i * 7919) mod n: every instant distinct, armed out of order.
  for (let i = 0; i < n; i++) st.arm(i, BASE + (((i * 7919) % n) + 1) * JIFFY, 1);
  t.is(st.next, BASE + JIFFY);
  // Cancel every even slot, then fire everything.
  for (let i = 0; i < n; i += 2) t.true(st.cancel(i));
  t.false(st.cancel(0), 'a cancelled timer is not pending');
  const fired: number[] = [];
  st.fire(BASE + (n + 1) * JIFFY, (slot) => fired.push(slot));
  t.is(fired.length, n / 2);
  const at = fired.map((slot) => (slot * 7919) % n);
  t.true(
    at.every((x, i) => i === 0 || x > at[i - 1]!),
    'instant order',
  );
  t.true(fired.every((slot) => slot % 2 === 1));
  t.is(st.next, Infinity);
  // After everything fired, the same instants can be armed again.
  st.arm(5, BASE + 2 * JIFFY, 2);
  t.is(st.next, BASE + 2 * JIFFY);
});
