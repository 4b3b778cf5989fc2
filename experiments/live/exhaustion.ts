// `nfct-sim live exhaustion`: nf_conntrack_max set to N for the run, the table filled with N
// unreplied flows, a slow reliable listener (a small buffer), then `conntrack -F` while new flows
// arrive at a steady rate. The flushed entries wait on the dying list for their DESTROY to be
// delivered and still count toward the maximum, so new flows are refused (sendto gets EPERM)
// until redelivery has freed room. nf_conntrack_max is global: the runner refuses when the host's
// own table is more than half that size, and restores the old value afterwards, also on Ctrl-C.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../sim/index.js';
import type { Row } from '../lib/experiment.js';
import { CONNTRACK, inNamespace, requireLive, sleep, tool } from './host.js';
import { lineMs, sampleCount, type TableSample } from './flush.js';

export interface ExhaustionParams {
  /** nf_conntrack_max during the run, and the flows that fill it. */
  max: number;
  buffer: number;
  force: boolean;
  delayUs: number;
  /** New flows per second after the flush, for `durationS`. */
  rateHz: number;
  durationS: number;
  /** New flows per second while the table is filled (0: as fast as the sender can). */
  fillRateHz: number;
  repeats: number;
}

/** When the new flows start, after conntrack -F was started (ms). */
export const SENDER_DELAY_MS = 100;

/** One repeat: times in ms after conntrack -F was started. */
export interface ExhaustionRecord {
  attempts: number;
  refusedMs: number[];
  samples: TableSample[];
}

/** The row of results.csv for one repeat (live and simulated alike). */
export function exhaustionRow(p: ExhaustionParams, repeat: number, r: ExhaustionRecord): Row {
  const f = r.refusedMs;
  return {
    max: p.max,
    buffer: p.buffer,
    force: p.force ? 1 : 0,
    delay_us: p.delayUs,
    rate_hz: p.rateHz,
    duration_s: p.durationS,
    repeat,
    attempts: r.attempts,
    refused: f.length,
    first_refused_ms: f.length ? Math.min(...f) : NaN,
    last_refused_ms: f.length ? Math.max(...f) : NaN,
  };
}

/** Refuses to lower nf_conntrack_max below twice what the host itself tracks. */
function checkHostRoom(max: number): void {
  const hostCount = Number(readFileSync('/proc/sys/net/netfilter/nf_conntrack_count', 'utf8'));
  if (hostCount * 2 > max)
    throw new ConfigError(
      '--max',
      String(max),
      `must be at least twice the host's own nf_conntrack_count (${hostCount}): nf_conntrack_max is global and a lower value would drop the host's traffic`,
    );
}

/** Runs the exhaustion measurement `p.repeats` times, each in a fresh namespace. */
export async function liveExhaustion(p: ExhaustionParams): Promise<ExhaustionRecord[]> {
  requireLive('exhaustion', [CONNTRACK]);
  const out: ExhaustionRecord[] = [];
  for (let r = 0; r < p.repeats; r++) {
    checkHostRoom(p.max);
    out.push(
      await inNamespace(
        async (ns) => {
          const args = ['--rcvbuf', String(p.buffer), '--delay-us', String(p.delayUs), '--broadcast-error'];
          if (p.force) args.push('--force');
          const l = ns.listen(args);
          await l.ready();
          await ns.sendFlows(20000, p.max, p.fillRateHz);
          await sleep(300);
          const t0 = process.hrtime.bigint();
          const flush = ns.exec([tool('conntrack')!, '-F']);
          const n = Math.round(p.rateHz * p.durationS);
          const sent = ns.sendFlows(20000 + p.max, n, p.rateHz, t0 + BigInt(SENDER_DELAY_MS * 1e6));
          const samples = sampleCount(ns, t0, 500, p.durationS * 1000 + SENDER_DELAY_MS, { until: -1, parked: true });
          const [, lines, series] = await Promise.all([flush, sent, samples]);
          await l.quiet(500);
          await l.stop();
          return {
            attempts: n,
            refusedMs: lines.filter((x) => x.kind === 'refused').map((x) => lineMs(x.t_ns, t0)),
            samples: series,
          };
        },
        { 'net.netfilter.nf_conntrack_max': p.max },
      ),
    );
  }
  return out;
}
