// `npm run bench -- <name>`: performance figures as ratios measured in one run. Never used by
// tests: machines are noisy, so only same-run comparisons mean anything.
import { bareRun, engineRun, type Measured } from './engine.js';
import { engineHold, lazyHeapHold, objectHold, queueHold, type HoldMeasured } from './hold.js';
import { benchKernel, type KernelBench } from './kernel.js';
import { benchFlush, type FlushBench } from './flush1m.js';
import { allocLoop, benchJobs, memoryReference } from './jobs.js';
import { benchMachine, type MachineBench } from './machine.js';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PRESET_NAMES } from '../../models/presets.js';

const fmt = (x: number): string => (x / 1e6).toFixed(2) + ' M/s';
const heapMiB = (): string => (process.memoryUsage().heapUsed / 2 ** 20).toFixed(0) + ' MiB';

/** Runs `bench -- <name> <args>` in a fresh process (one run's garbage cannot blur another's heap). */
function child<T>(name: string, ...args: (string | number)[]): T {
  const out = execFileSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), name, ...args.map(String)],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out) as T;
}

/** {@link child} without waiting: several can run at once. */
function childAsync<T>(name: string, ...args: (string | number)[]): Promise<T> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), name, ...args.map(String)],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
      (err, out) => (err ? reject(err) : resolve(JSON.parse(out) as T)),
    ),
  );
}

function kernelLines(entries: number, presets: readonly string[]): void {
  console.log(`kernel: ${entries} UDP entries, then packets of existing flows; no listener`);
  for (const p of presets) {
    const r = child<KernelBench>('kernel-one', p, entries);
    console.log(
      `  ${p.padEnd(16)} entries ${r.entries}  heap ${r.bytesPerEntry.toFixed(0)} B/entry (typed arrays ${r.tableBytesPerEntry.toFixed(0)} B)  ${fmt(r.packetsPerSecond)} packets   (targets <= 300 B, >= 2 M/s)`,
    );
  }
}

function flushLines(entries: number, presets: readonly string[], machine = false): void {
  console.log(
    `flush-1m: ${entries} entries, conntrack -F, reliable conntrackd with NetlinkBufferSize 2048${machine ? '; on the machine model (2 CPUs, 1 background hog; flush when the sender is done)' : ''}`,
  );
  for (const p of presets) {
    const r = child<FlushBench>('flush-one', p, entries, machine ? 1 : 0);
    console.log(
      `  ${p.padEnd(16)} ${r.entries} flushed${machine ? ` at ${r.flushedAtS.toFixed(1)} s` : ''}, drained ${r.drainedS.toFixed(0)} s simulated; wall ${r.wallS.toFixed(1)} s, ${r.events} events, ${fmt(r.events / r.wallS)} events, peak RSS ${r.peakRssMiB.toFixed(0)} MiB   (targets <= ${((10 * entries) / 1e6).toFixed(1)} s, <= 1024 MiB)`,
    );
  }
}

/** The same flush at growing sizes: memory per entry and time per DESTROY attempt should stay flat. */
function memoryLines(sizes: readonly number[]): void {
  for (const p of ['linux-2.6.31', 'linux-6.18']) {
    console.log(`memory: flush on ${p} at ${sizes.join(', ')} entries`);
    const rs = sizes.map((n) => child<FlushBench>('flush-one', p, n));
    rs.forEach((r, i) =>
      console.log(
        `  ${String(sizes[i]).padStart(9)} entries  ${r.bytesPerEntry.toFixed(0)} B/entry  ${((r.wallS * 1e6) / r.destroyAttempts).toFixed(2)} us/DESTROY attempt (${r.destroyAttempts} attempts, ${r.wallS.toFixed(2)} s)`,
      ),
    );
    const [a, b] = [rs.at(-2)!, rs.at(-1)!];
    const bytes = b.bytesPerEntry / a.bytesPerEntry;
    const us = b.wallS / b.destroyAttempts / (a.wallS / a.destroyAttempts);
    console.log(
      `  ratio ${sizes.at(-1)} / ${sizes.at(-2)}: bytes per entry ${bytes.toFixed(2)}, us per attempt ${us.toFixed(2)}   (target <= 1.3 each: ${bytes <= 1.3 && us <= 1.3 ? 'met' : 'NOT met'})`,
    );
  }
}

async function jobsLine(rounds: number, quick: boolean): Promise<void> {
  const r = await benchJobs('flush', rounds, quick);
  const ratio = r.seconds[1] / r.seconds[2];
  const c = await memoryReference(() => childAsync<number>('alloc-one', quick ? 10_000_000 : 30_000_000));
  console.log(
    `jobs: run flush${quick ? ' --quick' : ''} --runs 8 (${r.tasks} tasks), median of ${rounds} alternating rounds${quick ? " (tasks this small measure the workers' start more than their speed)" : ''}`,
  );
  console.log(
    `  --jobs 1 ${r.seconds[1].toFixed(2)} s, --jobs 2 ${r.seconds[2].toFixed(2)} s: ${ratio.toFixed(2)}x   (target >= 1.7x: ${ratio >= 1.7 ? 'met' : 'NOT met'}); results.csv ${r.identical ? 'byte-identical' : 'DIFFERENT'}`,
  );
  console.log(
    `  reference, same run: an allocation-heavy JS loop alone ${c.alone.toFixed(2)} s, two at once ${c.together.toFixed(2)} s: ${c.scaling.toFixed(2)}x; --jobs 2 / that: ${(ratio / c.scaling).toFixed(2)}`,
  );
}

/**
 * The classic hold model through the engine's queue, its Timer API, one object per timer and a
 * lazy-deletion heap. Interleaved rounds, median of each side, as for `engine`: one noisy second
 * on this VM moves a single run by 10 %.
 */
function holdLines(timers: number, events: number, ROUNDS: number): void {
  const rounds: { e: HoldMeasured; q: HoldMeasured; o: HoldMeasured; l: HoldMeasured }[] = [];
  let heap = '';
  for (let r = 0; r < ROUNDS; r++) {
    const e = engineHold(1, events, timers);
    if (r === 0) heap = heapMiB(); // before the engine run's timers are collected
    rounds.push({
      e,
      q: queueHold(1, events, timers),
      o: objectHold(1, events, timers),
      l: lazyHeapHold(1, events, timers),
    });
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
    `hold: ${timers} pending timers, 1 in 4 events re-arms another timer; ${events} events, ${ROUNDS} rounds`,
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
    `  lazy-deletion binary heap (baseline)    ${fmt(rate(l))} events (rounds ${all((r) => r.l)}); queue length at end ${l.queueLength} (dead entries ${l.queueLength - timers})`,
  );
  console.log(
    `  ratio queue/lazy ${(l.seconds / q.seconds).toFixed(2)}, timers/lazy ${(l.seconds / e.seconds).toFixed(2)}, timers/queue ${(q.seconds / e.seconds).toFixed(2)}`,
  );
  const queueMet = rate(q) >= 1e6 && q.queueLength === timers && e.queueLength === timers;
  console.log(
    `  target: classic hold >= 1 M/s with the queue staying at ${timers} entries: ${queueMet ? 'met' : 'NOT met'}`,
  );
  const timersMet = rate(e) >= 1.2e6 && q.seconds / e.seconds >= 0.8;
  console.log(`  target: Timer API >= 1.2 M/s and >= 0.8 of the queue alone: ${timersMet ? 'met' : 'NOT met'}`);
}

/** The machine model on vs off, three alternating rounds each in fresh processes, medians. */
function machineLines(flows: number): void {
  console.log(`machine: ${flows} flows into a 20 us reader, then conntrack -F (linux-6.18), machine model off vs on`);
  const rounds = [0, 1, 2].map(() => [false, true].map((on) => child<MachineBench>('machine-one', flows, on ? 1 : 0)));
  const median = (on: number): MachineBench => rounds.map((r) => r[on]!).sort((a, b) => a.wallS - b.wallS)[1]!;
  const [off, on] = [median(0), median(1)];
  for (const r of [off, on])
    console.log(
      `  ${r.machine ? 'on ' : 'off'}  ${r.events} events in ${r.wallS.toFixed(2)} s: ${fmt(r.eventsPerSecond)} events, ${(r.flowsPerSecond / 1e3).toFixed(0)} k simulated flows per second`,
    );
  const speed = on.flowsPerSecond / off.flowsPerSecond;
  console.log(
    `  speed with the machine / without: ${speed.toFixed(2)} (same flows per wall second; ${(on.events / off.events).toFixed(2)}x the events)   (target >= 0.5: ${speed >= 0.5 ? 'met' : 'NOT met'})`,
  );
}

const benches: Record<string, () => void | Promise<void>> = {
  machine() {
    machineLines(1_000_000);
  },
  'machine-one'() {
    console.log(JSON.stringify(benchMachine(Number(process.argv[3]), process.argv[4] === '1')));
  },
  kernel() {
    kernelLines(1_000_000, PRESET_NAMES);
  },
  'flush-1m'() {
    flushLines(1_000_000, PRESET_NAMES);
    flushLines(1_000_000, PRESET_NAMES, true);
  },
  memory() {
    memoryLines([10_000, 100_000, 1_000_000]);
  },
  jobs: () => jobsLine(3, false),
  /** Every line at reduced size, to check a change for regressions before committing it. */
  async quick() {
    kernelLines(100_000, PRESET_NAMES);
    flushLines(100_000, PRESET_NAMES);
    flushLines(100_000, ['linux-2.6.31', 'linux-6.18'], true); // two eras: the full bench has all eight
    memoryLines([10_000, 100_000]);
    holdLines(100_000, 300_000, 3);
    machineLines(100_000);
    await jobsLine(1, true);
  },
  'flush-one'() {
    console.log(
      JSON.stringify(benchFlush(process.argv[3]!, Number(process.argv[4] ?? 1_000_000), process.argv[5] === '1')),
    );
  },
  'alloc-one'() {
    console.log(JSON.stringify(allocLoop(Number(process.argv[3]))));
  },
  'kernel-one'() {
    const n = Number(process.argv[4] ?? 1_000_000);
    console.log(JSON.stringify(benchKernel(process.argv[3]!, n, 3 * n)));
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
    holdLines(1_000_000, 3_000_000, 5);
  },
};

// The `-one` benches are a child process's single measurement; their arguments are numbers.
const names = process.argv[2]?.endsWith('-one') ? [process.argv[2]] : process.argv.slice(2);
const unknown = names.filter((n) => !(n in benches));
if (names.length === 0 || unknown.length > 0) {
  console.error(
    `npm run bench -- <name...>: name must be one of ${Object.keys(benches).join(', ')}${unknown.length ? ` (got ${unknown.join(', ')})` : ''}`,
  );
  process.exit(2);
}
for (const n of names) await benches[n]!();
