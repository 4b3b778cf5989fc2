import test from 'ava';
import { MemoryTrace, Simulation, type Actor, type Ctx, type Message, type Timer } from '../../sim/index.js';

type Ping = { kind: 'ping'; n: number };

function logger(log: string[]): Actor<Ping> {
  return { receive: (m, ctx) => void log.push(`${ctx.now}:${ctx.self}:${m.n}`) };
}

test('run({ until }) processes only events strictly before until and leaves the clock at until', (t) => {
  const log: string[] = [];
  const sim = new Simulation({ seed: 1, run: 0 });
  sim.spawn('a', logger(log));
  for (const at of [0, 5, 9, 10, 11]) sim.send('a', { kind: 'ping', n: at }, at);
  const r = sim.run({ until: 10 });
  t.deepEqual(log, ['0:a:0', '5:a:5', '9:a:9']);
  t.is(r.reason, 'until');
  t.is(sim.now, 10);
  t.is(sim.pending, 2);
  sim.run({ until: 11 });
  t.deepEqual(log.slice(3), ['10:a:10']);
  t.is(sim.run().reason, 'empty');
  t.is(sim.now, 11);
});

test('an empty queue with until still advances the clock to until', (t) => {
  const sim = new Simulation({ seed: 1, run: 0 });
  t.is(sim.run({ until: 1000 }).reason, 'empty');
  t.is(sim.now, 1000);
});

test('maxEvents, step() and stop() from inside a handler', (t) => {
  const log: string[] = [];
  const sim = new Simulation({ seed: 1, run: 0 });
  sim.spawn('a', {
    receive(m: Ping, ctx: Ctx) {
      log.push(String(m.n));
      if (m.n === 3) ctx.stop();
    },
  });
  for (let i = 0; i < 6; i++) sim.send('a', { kind: 'ping', n: i }, i);
  t.is(sim.run({ maxEvents: 2 }).reason, 'maxEvents');
  t.true(sim.step());
  t.deepEqual(log, ['0', '1', '2']);
  const r = sim.run();
  t.is(r.reason, 'stopped');
  t.is(sim.now, 3);
  t.is(sim.eventCount, 4);
  sim.run();
  t.false(sim.step());
  t.is(sim.eventCount, 6);
});

test('simultaneous messages are delivered in the order they were sent', (t) => {
  const log: string[] = [];
  const sim = new Simulation({ seed: 1, run: 0 });
  sim.spawn('b', logger(log));
  sim.spawn('a', {
    receive(_m: Ping, ctx: Ctx) {
      for (let i = 1; i <= 4; i++) ctx.send('b', { kind: 'ping', n: i }, 7);
    },
  });
  sim.send('a', { kind: 'ping', n: 0 });
  sim.run();
  t.deepEqual(log, ['7:b:1', '7:b:2', '7:b:3', '7:b:4']);
});

test('bad delays and unknown targets throw clear errors', (t) => {
  const sim = new Simulation({ seed: 1, run: 0 });
  sim.spawn('a', logger([]));
  t.throws(() => sim.send('a', { kind: 'ping' }, -5), {
    message: /delay must be a non-negative integer number of ns, got -5 \(message 'ping' to a\)/,
  });
  t.throws(() => sim.send('a', { kind: 'ping' }, NaN), { message: /got NaN/ });
  t.throws(() => sim.send('a', { kind: 'ping' }, 0.5), { message: /got 0.5/ });
  t.throws(() => sim.send('a', { kind: 'ping' }, 2 ** 60), { message: /delay must be/ });
  t.throws(() => sim.send('zz', { kind: 'ping' }), { message: /no actor called "zz"/ });
  t.throws(() => sim.spawn('a', logger([])), { message: /already taken/ });
  t.throws(() => sim.spawn('bad id', logger([])), { message: /actor id must be a path/ });
  t.throws(() => new Simulation({ seed: 1.5, run: 0 }), { message: /seed must be a safe integer/ });
});

type TMsg = { kind: 'fire'; tag: string } | { kind: 'go' };

// A driver that exercises the timer API and logs what happens.
function timerActor(log: string[], script: (ctx: Ctx, timers: Timer<TMsg>[]) => void): Actor<TMsg> {
  const timers: Timer<TMsg>[] = [];
  return {
    receive(m, ctx) {
      if (m.kind === 'go') {
        timers.push(ctx.timer({ kind: 'fire', tag: 'x' }), ctx.timer({ kind: 'fire', tag: 'y' }));
        script(ctx, timers);
      } else log.push(`${ctx.now}:${m.tag}:${ctx.timerPending(timers[m.tag === 'x' ? 0 : 1]!)}`);
    },
  };
}

test('kernel timer semantics: add, mod moves a pending timer, del, pending', (t) => {
  const log: string[] = [];
  const sim = new Simulation({ seed: 1, run: 0 });
  const results: unknown[] = [];
  sim.spawn(
    'timers',
    timerActor(log, (ctx, [x, y]) => {
      ctx.addTimer(x!, 100);
      results.push(ctx.timerPending(x!)); // true
      t.throws(() => ctx.addTimer(x!, 50), { message: /add_timer on a pending timer/ });
      results.push(ctx.modTimer(x!, 300)); // true: it was pending, now moved
      results.push(ctx.modTimer(y!, 200)); // false: was idle, now armed
      results.push(ctx.delTimer(y!)); // true
      results.push(ctx.delTimer(y!)); // false
      results.push(ctx.timerPending(y!)); // false
    }),
  );
  sim.send('timers', { kind: 'go' });
  sim.run();
  t.deepEqual(results, [true, true, false, true, false, false]);
  t.deepEqual(log, ['300:x:false']); // not pending inside its own handler; y never fired
  t.is(sim.pending, 0);
});

test('a timer re-armed from its own handler fires again; a timer in the past fires now', (t) => {
  const log: number[] = [];
  const sim = new Simulation({ seed: 1, run: 0 });
  let timer: Timer<TMsg> | undefined;
  sim.spawn('t', {
    init(ctx: Ctx) {
      timer = ctx.timer({ kind: 'fire', tag: 'z' });
      ctx.addTimer(timer, 10);
    },
    receive(_m: TMsg, ctx: Ctx) {
      log.push(ctx.now);
      if (log.length === 1) ctx.modTimer(timer!, 25);
      else if (log.length === 2) ctx.addTimer(timer!, 3); // in the past
    },
  });
  sim.run();
  t.deepEqual(log, [10, 25, 25]);
  t.is(timer!.expires, 3);
});

test('cancel() removes a pending message', (t) => {
  const log: string[] = [];
  const sim = new Simulation({ seed: 1, run: 0 });
  sim.spawn('a', logger(log));
  const h = sim.send('a', { kind: 'ping', n: 1 }, 5);
  sim.send('a', { kind: 'ping', n: 2 }, 6);
  t.true(sim.cancel(h));
  t.false(sim.cancel(h));
  sim.run();
  t.deepEqual(log, ['6:a:2']);
});

test('warm-up cut runs before other events at its time', (t) => {
  const sim = new Simulation({ seed: 1, run: 0 });
  sim.spawn('c', { receive: (_m: Message, ctx: Ctx) => ctx.count('x.events') });
  for (const at of [1, 2, 3, 3]) sim.send('c', { kind: 'ping' }, at);
  sim.warmupAt(3);
  sim.run();
  const c = sim.recorder.counter('c', 'x.events');
  t.is(c.value, 4);
  t.is(c.sinceCut, 2);
});

test('the trace sees every dispatched event with sender and receiver', (t) => {
  const trace = new MemoryTrace();
  const sim = new Simulation({ seed: 1, run: 0, trace });
  sim.spawn('b', logger([]));
  sim.spawn('a', { receive: (_m: Ping, ctx: Ctx) => void ctx.send('b', { kind: 'ping', n: 2 }, 3) });
  sim.send('a', { kind: 'ping', n: 1 }, 1);
  sim.run();
  t.deepEqual(
    trace.records.map((r) => [r.t, r.from ?? '-', r.to, r.msg.kind]),
    [
      [1, '-', 'a', 'ping'],
      [4, 'a', 'b', 'ping'],
    ],
  );
});

test('snapshot collects actor snapshots', (t) => {
  const sim = new Simulation({ seed: 1, run: 0 });
  sim.spawn('a', { receive() {}, snapshot: () => ({ q: 3 }) });
  sim.spawn('b', { receive() {} });
  t.deepEqual(sim.snapshot(), { now: 0, events: 0, actors: { a: { q: 3 } } });
});
