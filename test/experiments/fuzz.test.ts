// Fuzzing the input paths: random and mutated scenario JSON against the parser and the model,
// random command lines against the CLI. Every case ends in a clean refusal naming a path, or in a
// completed run (events bounded); never a crash, a hang or a partial folder.
import test from 'ava';
import fc from 'fast-check';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, s } from '../../sim/index.js';
import { buildScenario, parseScenario } from '../../models/scenario.js';
import { SCENARIO_NAMES, namedScenario } from '../../models/scenarios.js';
import { EXPERIMENTS } from '../../experiments/registry.js';
import { main } from '../../experiments/cli.js';

/** Every leaf path of a JSON value. */
function leaves(v: unknown, prefix: string[] = []): string[][] {
  if (v === null || typeof v !== 'object') return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leaves(x, [...prefix, k]));
}

function setIn(v: unknown, path: readonly string[], value: unknown, remove: boolean): unknown {
  const copy = structuredClone(v) as Record<string, unknown>;
  let cur = copy as Record<string, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete cur[last];
  else cur[last] = value;
  return copy;
}

const BASES: unknown[] = [
  ...SCENARIO_NAMES.map((n) => namedScenario(n).scenario),
  ...Object.values(EXPERIMENTS).map((e) => e.base(true)),
];
const REFUSAL = /^.+ = .*: .+$/s;

test('mutated scenarios: parsed and run (bounded), or refused with a ConfigError naming a path', (t) => {
  const mutation = fc.record({
    base: fc.integer({ min: 0, max: BASES.length - 1 }),
    pick: fc.nat(),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.integer({ min: -5, max: 1e7 }),
      fc.double({ noNaN: false }),
      fc.constantFrom('udp', 'tcp', 'conntrackd', 'raw', 'linux-6.18', 'E4', 'constant', 'none', ''),
    ),
    // Most mutations keep the type (a number scaled, a boolean flipped), the rest are arbitrary.
    sameType: fc.double({ min: 0, max: 3, noNaN: true }),
    keepType: fc.boolean(),
    remove: fc.boolean(),
    extraKey: fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
  });
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(mutation, (m) => {
      const base = BASES[m.base]!;
      const paths = leaves(base);
      const path = paths[m.pick % paths.length]!;
      const old = path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], base);
      const value =
        m.keepType && typeof old === 'number'
          ? Number.isInteger(old)
            ? Math.round(old * m.sameType)
            : old * m.sameType
          : m.keepType && typeof old === 'boolean'
            ? !old
            : m.value;
      let sc = setIn(base, path, value, m.remove && !m.keepType);
      if (m.extraKey !== undefined && !m.keepType) sc = { ...(sc as object), [m.extraKey]: m.value };
      let parsed;
      try {
        parsed = parseScenario(sc);
      } catch (e) {
        if (!(e instanceof ConfigError) || !REFUSAL.test(e.message)) throw e;
        refused++;
        return;
      }
      accepted++;
      const run = buildScenario(parsed, { seed: 1, run: 0 }, { truth: false, logs: false });
      run.world.sim.run({ until: s(2), maxEvents: 200_000 });
    }),
    { numRuns: 300, seed: 7 },
  );
  t.true(accepted > 20 && refused > 20, `${accepted} accepted, ${refused} refused`);
});

test('random JSON is refused cleanly', (t) => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => {
      try {
        parseScenario(v);
        return false; // random JSON is never a complete scenario
      } catch (e) {
        return e instanceof ConfigError && REFUSAL.test(e.message);
      }
    }),
    { numRuns: 300, seed: 11 },
  );
  t.pass();
});

test('random command lines: exit 0 with a complete folder, or exit 2 with nothing created; never 1', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'nfct-fuzz-'));
  const flag = fc.oneof(
    fc.tuple(fc.constant('--seed'), fc.oneof(fc.nat({ max: 9 }).map(String), fc.constantFrom('-1', 'x', '1.5'))),
    fc.tuple(fc.constant('--runs'), fc.constantFrom('1', '0', '2', 'lots', '99999')),
    fc.tuple(fc.constant('--jobs'), fc.constantFrom('1', '2', '0', '500')),
    fc.tuple(fc.constant('--preset'), fc.constantFrom('linux-2.6.31', 'linux-6.18', 'linux-9', '')),
    fc.tuple(fc.constant('--shard'), fc.constantFrom('1/2', '2/2', '3/2', 'x')),
    fc.tuple(
      fc.constant('--set'),
      fc.constantFrom(
        'kernel.hz=1000',
        'kernel.hz=7',
        'kernel.nope=1',
        'workloads.0.rateHz=300',
        'workloads.0.rateHz=-1',
        'listeners.0.reader.costUs.us=50',
        'listeners.9.x=1',
        'kernel.era="E4-backoff"',
        'kernel.era="E7"',
        'durationS=0',
        'oops',
      ),
    ),
    fc.tuple(fc.constant('--bogus'), fc.constant('')),
  );
  let n = 0;
  const codes = { ok: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('flush', 'retry-delay', 'table-full', 'flsh'),
      fc.array(flag, { maxLength: 4 }),
      async (name, flags) => {
        const out = join(root, `case-${n++}`);
        const argv = [
          'run',
          name,
          '--quick',
          '--quiet',
          ...flags.flatMap(([f, v]) => (v === '' && f === '--bogus' ? [f] : [f, v])),
          // Bounded: a short run with one replication, after whatever came before.
          '--set',
          'durationS=1',
          '--runs',
          '1',
          '--out',
          out,
        ];
        const error = console.error;
        const log = console.log;
        const write = process.stderr.write.bind(process.stderr);
        console.error = () => {};
        console.log = () => {};
        process.stderr.write = (() => true) as typeof process.stderr.write;
        let code: number;
        try {
          code = await main(argv);
        } finally {
          console.error = error;
          console.log = log;
          process.stderr.write = write;
        }
        if (code === 2) codes.refused++;
        if (code === 0) codes.ok++;
        if (code === 2) return !existsSync(out);
        if (code === 0)
          return (
            existsSync(join(out, 'manifest.json')) ||
            existsSync(join(out, 'shard-1-of-2.json')) ||
            existsSync(join(out, 'shard-2-of-2.json'))
          );
        return false;
      },
    ),
    { numRuns: 25, seed: 3 },
  );
  t.true(codes.ok > 2 && codes.refused > 2, `${codes.ok} completed, ${codes.refused} refused`);
});
