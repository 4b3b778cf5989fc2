// `nfct-sim trace` and `nfct-sim fixture`: the event log of a scenario, and what each listener
// receives message by message (schema in docs/fixtures.md).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlTrace } from '../sim/trace.js';
import { buildScenario, type Scenario } from '../models/scenario.js';
import { writeAtomic } from './lib/output.js';
import { pcapFile } from './lib/pcap.js';
import type { CtEvent } from '../models/kernel/events.js';
import { eraModel } from '../models/kernel/eras.js';
import { encodeEvent, enobufsMarker, wireOptions } from '../models/kernel/ctnetlink-wire.js';
import { conntrackLine } from '../models/listeners/conntrack-e-text.js';
import type { ListenerModel } from '../models/listeners/types.js';
import { formatAddress, tupleOf, type RealTuple } from '../models/workloads/addresses.js';

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

/** A message's real tuple, as fixture lines carry it (original direction). */
export interface FixtureTuple {
  family: 'ipv4' | 'ipv6';
  proto: 'udp' | 'tcp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** One line of a fixture (see docs/fixtures.md). */
export type FixtureLine =
  | ({
      t_ns: number;
      listener: string;
      kind: 'msg';
      type: 'new' | 'update' | 'destroy';
      flags: number;
      id: number;
      tuple: number;
      status: number;
      timeout_s: number;
      events: number;
      portid: number;
      conntrack: number;
      duplicate: boolean;
    } & FixtureTuple)
  | { t_ns: number; listener: string; kind: 'enobufs' | 'exit' }
  | { t_ns: number; listener: string; kind: 'resync'; added: number; purged: number };

/** Fixture formats: JSON Lines, pcap of the ctnetlink messages, `conntrack -E` text. */
export const FIXTURE_FORMATS = ['jsonl', 'pcap', 'conntrack'] as const;
/** One of {@link FIXTURE_FORMATS}. */
export type FixtureFormat = (typeof FIXTURE_FORMATS)[number];

/** What one listener read, in order: messages (with their real tuple) and markers. */
type Received =
  | { t: number; kind: 'msg'; ev: CtEvent; real: RealTuple }
  | { t: number; kind: 'enobufs' | 'exit' }
  | { t: number; kind: 'resync'; added: number; purged: number };

function received(sc: Scenario, l: ListenerModel): Received[] {
  return l.log.map((e): Received => {
    if (e.kind !== 'msg') return e;
    const real = tupleOf(sc.config.workloads, e.ev.tuple);
    if (real === undefined) throw new Error(`tuple ${e.ev.tuple} belongs to no workload`);
    return { t: e.t, kind: 'msg', ev: e.ev, real };
  });
}

const fileName = (listener: string, ext: string): string => `${listener.replace(/\//g, '-')}.${ext}`;

/**
 * Runs `sc` and writes what every listener received: `fixture.jsonl` (all listeners, in time
 * order), or per listener `<listener>.pcap` or `<listener>.txt` (what `conntrack -E` prints).
 */
export function fixtureScenario(
  sc: Scenario,
  seed: number,
  out: string,
  format: FixtureFormat = 'jsonl',
): { lines: number; path: string; files: string[]; fingerprint: string } {
  const run = buildScenario(sc, { seed, run: 0 });
  run.run();
  const bits = eraModel(sc.kernel.era).bits;
  const wire = wireOptions(sc.kernel.version);
  const perListener = run.world.listeners.map((l) => received(sc, l));
  const ids = run.world.listenerIds;
  const fingerprint = run.world.sim.fingerprint;
  if (format === 'jsonl') {
    const lines = jsonlLines(perListener, ids);
    const path = join(out, 'fixture.jsonl');
    writeAtomic(path, lines.map((x) => JSON.stringify(x)).join('\n') + '\n');
    return { lines: lines.length, path, files: [path], fingerprint };
  }
  const files: string[] = [];
  let lines = 0;
  perListener.forEach((recs, i) => {
    if (format === 'pcap') {
      const records = recs.flatMap((r) =>
        r.kind === 'msg'
          ? [{ tNs: r.t, data: encodeEvent(r.ev, r.real, bits.PROTOINFO, wire) }]
          : r.kind === 'enobufs'
            ? [{ tNs: r.t, data: enobufsMarker() }]
            : [],
      );
      files.push(join(out, fileName(ids[i]!, 'pcap')));
      writeAtomic(files.at(-1)!, pcapFile(records));
      lines += records.length;
    } else {
      const text = recs.flatMap((r) =>
        r.kind === 'msg' ? [conntrackLine(r.ev, r.real, bits.PROTOINFO, wire.destroyDetails)] : [],
      );
      files.push(join(out, fileName(ids[i]!, 'txt')));
      writeAtomic(files.at(-1)!, text.length ? text.join('\n') + '\n' : '');
      lines += text.length;
    }
  });
  return { lines, path: out, files, fingerprint };
}

function jsonlLines(perListener: readonly Received[][], ids: readonly string[]): FixtureLine[] {
  const lines: FixtureLine[] = [];
  perListener.forEach((recs, i) => {
    const id = ids[i]!;
    const seen = new Set<string>();
    for (const e of recs) {
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
          family: e.real.family,
          proto: e.real.protonum === 6 ? 'tcp' : 'udp',
          src: formatAddress(e.real.src),
          dst: formatAddress(e.real.dst),
          sport: e.real.sport,
          dport: e.real.dport,
          status: e.ev.status,
          timeout_s: e.ev.timeoutS,
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
  return lines;
}
