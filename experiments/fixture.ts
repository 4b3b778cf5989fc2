// `nfct-sim trace` and `nfct-sim fixture`: the event log of a scenario, and what each listener
// receives message by message (schema in docs/fixtures.md).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlTrace } from '../sim/trace.js';
import { buildScenario, type Scenario } from '../models/scenario.js';
import { writeAtomic } from './lib/output.js';

/** Runs `sc` with a JSON Lines trace into `<out>/trace.jsonl`; returns the fingerprint. */
export function traceScenario(
  sc: Scenario,
  seed: number,
  out: string,
): { fingerprint: string; events: number; path: string } {
  const path = join(out, 'trace.jsonl');
  mkdirSync(out, { recursive: true });
  const trace = new JsonlTrace(path);
  try {
    const run = buildScenario(sc, { seed, run: 0 }, { trace });
    run.run();
    trace.close();
    const fp = run.world.sim.fingerprint;
    writeAtomic(join(out, 'fingerprint.txt'), `${fp}\n`);
    return { fingerprint: fp, events: run.world.sim.eventCount, path };
  } catch (e) {
    trace.abort();
    throw e;
  }
}

/** One line of a fixture (see docs/fixtures.md). */
export type FixtureLine =
  | {
      t_ns: number;
      listener: string;
      kind: 'msg';
      type: 'new' | 'update' | 'destroy';
      flags: number;
      id: number;
      tuple: number;
      events: number;
      portid: number;
      conntrack: number;
      duplicate: boolean;
    }
  | { t_ns: number; listener: string; kind: 'enobufs' | 'exit' }
  | { t_ns: number; listener: string; kind: 'resync'; added: number; purged: number };

/** Runs `sc` and writes `<out>/fixture.jsonl` with every listener's input in time order. */
export function fixtureScenario(
  sc: Scenario,
  seed: number,
  out: string,
): { lines: number; path: string; fingerprint: string } {
  const run = buildScenario(sc, { seed, run: 0 });
  run.run();
  const lines: FixtureLine[] = [];
  run.world.listeners.forEach((l, i) => {
    const id = run.world.listenerIds[i]!;
    const seen = new Set<string>();
    for (const e of l.log) {
      if (e.kind === 'msg') {
        const k = `${e.ev.type}/${e.ev.serial}`;
        lines.push({
          t_ns: e.t,
          listener: id,
          kind: 'msg',
          type: e.ev.type,
          flags: e.ev.flags,
          id: e.ev.id,
          tuple: e.ev.tuple,
          events: e.ev.events,
          portid: e.ev.portid,
          conntrack: e.ev.serial,
          duplicate: seen.has(k),
        });
        seen.add(k);
      } else if (e.kind === 'resync')
        lines.push({ t_ns: e.t, listener: id, kind: 'resync', added: e.added, purged: e.purged });
      else lines.push({ t_ns: e.t, listener: id, kind: e.kind });
    }
  });
  lines.sort((a, b) => a.t_ns - b.t_ns || (a.listener < b.listener ? -1 : a.listener > b.listener ? 1 : 0));
  const path = join(out, 'fixture.jsonl');
  writeAtomic(path, lines.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return { lines: lines.length, path, fingerprint: run.world.sim.fingerprint };
}
