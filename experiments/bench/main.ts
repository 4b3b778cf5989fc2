// `npm run bench -- <name>`: performance figures as ratios measured in one run. Never used by
// tests: machines are noisy, so only same-run comparisons mean anything.
import { bareRun, engineRun, type Measured } from './engine.js';
import { engineHold, lazyHeapHold, objectHold, queueHold, type HoldMeasured } from './hold.js';
import { benchKernel, type KernelBench } from './kernel.js';
import { benchFlush, type FlushBench } from './flush1m.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fmt = (x: number): string => (x / 1e6).toFixed(2) + ' M/s';
const heapMiB = (): string => (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0) + ' MiB';

const benches: Record<string, () => void> = {
  kernel() {
    console.log('kernel: 1,000,000 UDP entries, then packets of existing flows; no listener');
    // Each preset in a fresh process, so that one run's garbage cannot blur the other's heap.
    for (const p of ['linux-2.6.31', 'linux-6.18']) {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), 'kernel-one', p],
        { encoding: 'utf8' },
      );
      const r = JSON.parse(out) as KernelBench;
      console.log(
        `  ${p.padEnd(13)} entries ${r.entries}  heap ${r.bytesPerEntry.toFixed(0)} B/entry (typed arrays ${r.tableBytesPerEntry.toFixed(0)} B)  ${fmt(r.packetsPerSecond)} packets   (targets <= 300 B, >= 1 M/s)`,
      );
    }
  },
  'flush-1m'() {
    console.log('flush-1m: 1,000,000 entries, conntrack -F, reliable conntrackd with NetlinkBufferSize 2048');
    for (const p of ['linux-2.6.31', 'linux-6.18']) {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, fileURLToPath(import.meta.url), 'flush-one', p],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      const r = JSON.parse(out) as FlushBench;
      console.log(
        `  ${p.padEnd(13)} ${r.entries} flushed, drained ${r.drainedS.toFixed(0)} s simulated; wall ${r.wallS.toFixed(1)} s, ${r.events} events, ${fmt(r.events / r.wallS)} events, peak RSS ${r.peakRssMiB.toFixed(0)} MiB   (targets < 60 s, < 1536 MiB)`,
      );
    }
  },
  'flush-one'() {
    console.log(JSON.stringify(benchFlush(process.argv[3]!, 1_000_000)));
  },
  'kernel-one'() {
    console.log(JSON.stringify(benchKernel(process.argv[3]!, 1_000_000, 3_000_000)));
  },
  engine() {
    // Five interleaved rounds after four warm-up rounds (V8 needs a few runs to reach its
    // optimising tier; long simulations run in that tier). The median of each side is
    // reported, so a burst of noise from the other core hits both sides alike.
    for (let i = 0; i < 4; i++) {
      engineRun(99);
      bareRun(99);
    }
    const es: Measured[] = [];
    const bs: Measured[] = [];
    for (let i = 0; i < 5; i++) {
      es.push(engineRun(1));
      bs.push(bareRun(1));
    }
    const median = (xs: Measured[]): Measured => [...xs].sort((a, b) => a.seconds - b.seconds)[2]!;
    const e = median(es);
    const b = median(bs);
    if (e.check !== b.check || e.events !== b.events)
      throw new Error(`engine and bare loop disagree: ${JSON.stringify([e, b])}`);
    console.log('engine: M/M/1/K lambda 0.9 mu 1.0 K 10, 1,000,000 arrivals');
    console.log(`  events              ${e.events} (both loops; departures ${e.check})`);
    console.log(`  engine (actors)     ${fmt(e.events / e.seconds)} events  (${e.seconds.toFixed(3)} s)`);
    console.log(`  bare inlined heap   ${fmt(b.events / b.seconds)} events  (${b.seconds.toFixed(3)} s)`);
    console.log(
      `  ratio engine/bare   ${(b.seconds / e.seconds).toFixed(2)}   (target >= 0.6; engine target >= 8 M/s)`,
    );
  },
  hold() {
    // Five interleaved rounds, median of each side, as for `engine`: one noisy second on this
    // VM moves a single run by 10 %.
    const events = 3_000_000;
    const ROUNDS = 5;
    const rounds: { e: HoldMeasured; q: HoldMeasured; o: HoldMeasured; l: HoldMeasured }[] = [];
    let heap = '';
    for (let r = 0; r < ROUNDS; r++) {
      const e = engineHold(1, events);
      if (r === 0) heap = heapMiB(); // before the engine run's million timers are collected
      rounds.push({ e, q: queueHold(1, events), o: objectHold(1, events), l: lazyHeapHold(1, events) });
    }
    const median = (pick: (r: (typeof rounds)[number]) => HoldMeasured): HoldMeasured =>
      rounds.map(pick).sort((a, b) => a.seconds - b.seconds)[ROUNDS >> 1]!;
    const e = median((r) => r.e);
    const q = median((r) => r.q);
    const o = median((r) => r.o);
    const l = median((r) => r.l);
    const rate = (m: HoldMeasured): number => m.events / m.seconds;
    const all = (pick: (r: (typeof rounds)[number]) => HoldMeasured): string =>
      rounds.map((r) => (rate(pick(r)) / 1e6).toFixed(2)).join(', ');
    console.log(
      `hold: 1,000,000 pending timers, 1 in 4 events re-arms another timer; ${events} events, ${ROUNDS} rounds`,
    );
    console.log(
      `  classic hold, engine's event queue      ${fmt(rate(q))} events (rounds ${all((r) => r.q)}); queue length at end ${q.queueLength}; queue arrays ${(q.queueBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    console.log(
      `  same through actors and Timer objects   ${fmt(rate(e))} events (rounds ${all((r) => r.e)}); queue length at end ${e.queueLength}; JS heap ${heap}`,
    );
    console.log(
      `  queue with one plain object per timer   ${fmt(rate(o))} events (rounds ${all((r) => r.o)}): the cost of one object per event, no engine`,
    );
    console.log(
      `  lazy-deletion binary heap (baseline)    ${fmt(rate(l))} events (rounds ${all((r) => r.l)}); queue length at end ${l.queueLength} (dead entries ${l.queueLength - 1_000_000})`,
    );
    console.log(
      `  ratio queue/lazy ${(l.seconds / q.seconds).toFixed(2)}, timers/lazy ${(l.seconds / e.seconds).toFixed(2)}`,
    );
    const met = rate(q) >= 1e6 && q.queueLength === 1_000_000 && e.queueLength === 1_000_000;
    console.log(
      `  target: classic hold >= 1 M/s with the queue staying at 1,000,000 entries: ${met ? 'met' : 'NOT met'}`,
    );
  },
};

const names =
  process.argv[2] === 'kernel-one' || process.argv[2] === 'flush-one' ? [process.argv[2]] : process.argv.slice(2);
const unknown = names.filter((n) => !(n in benches));
if (names.length === 0 || unknown.length > 0) {
  console.error(
    `npm run bench -- <name...>: name must be one of ${Object.keys(benches).join(', ')}${unknown.length ? ` (got ${unknown.join(', ')})` : ''}`,
  );
  process.exit(2);
}
for (const n of names) benches[n]!();
