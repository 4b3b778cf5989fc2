import test from 'ava';
import fc from 'fast-check';
import { Stream } from '../../sim/index.js';
import { EventQueue } from '../../sim/queue.js';

type Op =
  | { op: 'push'; time: number; prio: number }
  | { op: 'pop' }
  | { op: 'cancel'; pick: number }
  | { op: 'resched'; pick: number; time: number; prio: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('push' as const),
    time: fc.integer({ min: 0, max: 20 }),
    prio: fc.integer({ min: -2, max: 2 }),
  }),
  fc.record({ op: fc.constant('pop' as const) }),
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant('resched' as const),
    pick: fc.nat(),
    time: fc.integer({ min: 0, max: 20 }),
    prio: fc.integer({ min: -2, max: 2 }),
  }),
);

// Reference: a plain list sorted by (time, prio, seq) on every pop. A near size of 1 or 3 makes
// the queue split into heap and far list (refills, spills, moves across the horizon) all the
// time; with the default it never splits at this size.
for (const nearSize of [undefined, 1, 3]) {
  test(`the queue pops in (time, priority, seq) order, matching a sort-based reference under push/pop/cancel/reschedule (near size ${nearSize ?? 'default'})`, (t) => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const q = new EventQueue<number>(16, nearSize);
        let ref: { id: number; time: number; prio: number; seq: number; handle: number }[] = [];
        let seq = 0;
        let id = 0;
        for (const o of ops) {
          if (o.op === 'push') {
            const handle = q.push(o.time, o.prio, 0, -1, id);
            ref.push({ id: id++, time: o.time, prio: o.prio, seq: seq++, handle });
          } else if (o.op === 'pop') {
            if (ref.length === 0) {
              if (q.size !== 0) return false;
              continue;
            }
            ref.sort((a, b) => a.time - b.time || a.prio - b.prio || a.seq - b.seq);
            const want = ref.shift()!;
            if (q.peekTime() !== want.time) return false;
            const slot = q.popSlot();
            const got = q.payloadOf(slot);
            q.release(slot);
            if (got !== want.id) return false;
          } else if (ref.length > 0) {
            const victim = ref[o.pick % ref.length]!;
            if (o.op === 'cancel') {
              if (!q.cancel(victim.handle)) return false;
              if (q.cancel(victim.handle)) return false; // second cancel is a no-op
              ref = ref.filter((r) => r !== victim);
            } else {
              if (!q.reschedule(victim.handle, o.time, o.prio)) return false;
              victim.time = o.time;
              victim.prio = o.prio;
              victim.seq = seq++;
            }
          }
          if (q.size !== ref.length) return false;
        }
        return true;
      }),
      { numRuns: 300, seed: 42 },
    );
    t.pass();
  });
}

test('simultaneous events of equal priority leave in scheduling order', (t) => {
  const q = new EventQueue<string>();
  for (const x of ['a', 'b', 'c', 'd', 'e', 'f']) q.push(100, 0, 0, -1, x);
  const out: string[] = [];
  while (q.size > 0) {
    const slot = q.popSlot();
    out.push(q.payloadOf(slot));
    q.release(slot);
  }
  t.deepEqual(out, ['a', 'b', 'c', 'd', 'e', 'f']);
});

test('a rescheduled event orders as if scheduled at the time of the reschedule', (t) => {
  const q = new EventQueue<string>();
  const a = q.push(5, 0, 0, -1, 'a');
  q.push(5, 0, 0, -1, 'b');
  t.true(q.reschedule(a, 5, 0));
  const first = q.popSlot();
  t.is(q.payloadOf(first), 'b');
});

test('handles go stale after pop or cancel, even when the slot is reused', (t) => {
  const q = new EventQueue<string>();
  const h1 = q.push(1, 0, 0, -1, 'x');
  const slot = q.popSlot();
  q.release(slot);
  t.false(q.isPending(h1));
  const h2 = q.push(2, 0, 0, -1, 'y'); // reuses the slot
  t.not(h1, h2);
  t.false(q.cancel(h1));
  t.true(q.isPending(h2));
  t.is(q.timeOf(h2), 2);
  t.false(q.reschedule(h1, 7, 0));
  t.is(q.timeOf(h2), 2);
  t.false(q.cancel(-1));
});

test('cancelled events are removed at once: the queue never holds dead entries', (t) => {
  const q = new EventQueue<number>(16);
  const hs: number[] = [];
  for (let i = 0; i < 10_000; i++) hs.push(q.push(i, 0, 0, -1, i));
  for (let i = 0; i < 10_000; i += 2) t.true(q.cancel(hs[i]!));
  t.is(q.size, 5_000);
  // re-arming 10 000 times does not grow the queue either
  for (let i = 1; i < 10_000; i += 2) q.reschedule(hs[i]!, 20_000 + i, 0);
  t.is(q.size, 5_000);
  let last = -1;
  while (q.size > 0) {
    t.true(q.peekTime() >= last);
    last = q.peekTime();
    q.release(q.popSlot());
  }
});

// Far more events than the heap keeps near: batches come over from the far list, re-arms cross
// the horizon both ways, and the order must stay the one a single heap would give.
test('a queue of 200,000 events, split into heap and far list, pops in the order of an unsplit one', (t) => {
  const run = (nearSize: number | undefined): number[] => {
    const rng = new Stream({ seed: 3, run: 0 }, 'queue');
    const q = new EventQueue<number>(16, nearSize);
    const handles: number[] = [];
    for (let i = 0; i < 200_000; i++) handles.push(q.push(rng.intBelow(1_000_000), rng.intBelow(3) - 1, 0, -1, i));
    const order: number[] = [];
    let now = 0;
    while (q.size > 0) {
      t.true(q.peekTime() >= now);
      now = q.peekTime();
      const slot = q.popSlot();
      const i = q.payloadOf(slot);
      q.release(slot);
      order.push(i);
      if (order.length % 3 === 0 && order.length < 150_000) {
        // re-arm a random other event, sometimes before the horizon, sometimes far beyond
        const h = handles[rng.intBelow(handles.length)]!;
        if (q.isPending(h)) q.reschedule(h, now + rng.intBelow(rng.next() < 0.5 ? 1000 : 2_000_000), 0);
      }
      if (order.length % 7 === 0 && order.length < 150_000)
        handles[i] = q.push(now + rng.intBelow(1_000_000), 0, 0, -1, i);
    }
    return order;
  };
  const unsplit = run(1_000_000);
  t.deepEqual(run(undefined), unsplit);
  t.deepEqual(run(64), unsplit);
});

test('sequence numbers do not wrap at 2^32 (they are doubles)', (t) => {
  const q = new EventQueue<string>();
  // Jump the counter as if 2^32 + 5 events had been scheduled.
  (q as unknown as { nextSeq: number }).nextSeq = 2 ** 32 - 1;
  q.push(1, 0, 0, -1, 'first');
  q.push(1, 0, 0, -1, 'second');
  q.push(1, 0, 0, -1, 'third');
  const order: string[] = [];
  while (q.size > 0) {
    const s = q.popSlot();
    order.push(q.payloadOf(s));
    q.release(s);
  }
  t.deepEqual(order, ['first', 'second', 'third']);
  t.is(q.scheduled, 2 ** 32 + 2);
});

test('bad times, priorities and near sizes are rejected with the field named', (t) => {
  const q = new EventQueue<number>();
  t.throws(() => q.push(-1, 0, 0, -1, 0), { message: /event time must be a non-negative integer/ });
  t.throws(() => q.push(1.5, 0, 0, -1, 0), { message: /event time/ });
  t.throws(() => q.push(1, 200, 0, -1, 0), { message: /priority must be an integer in \[-128, 127\]/ });
  t.throws(() => new EventQueue<number>(16, 0), { message: /nearSize must be a positive integer, got 0/ });
});
