// `nfct-sim live exhaustion`: nf_conntrack_max set to N for the run, the table filled with N
// unreplied flows, a slow reliable listener (a small buffer), then `conntrack -F` while new flows
// arrive at a steady rate. The flushed entries wait on the dying list for their DESTROY to be
// delivered and still count toward the maximum, so new flows are refused (sendto gets EPERM)
// until redelivery has freed room. nf_conntrack_max is global: the runner refuses when the host's
// own table is more than half that size, and restores the old value afterwards, also on Ctrl-C.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../sim/index.js';
import type { Row } from '../lib/experiment.js';
import { CONNTRACK, inNamespace, requireLive, sleep, tool, type HelperLine } from './host.js';
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
  /**
   * Before the flush, this many per cent of `max` more flows at the fill rate: the table is full,
   * so each is refused or admitted by an early drop (absent in older runs: 0).
   */
  overfillPct?: number;
  repeats: number;
}

/** When the new flows start, after conntrack -F was started (ms). */
export const SENDER_DELAY_MS = 100;

/** One repeat: times in ms after conntrack -F was started. */
export interface ExhaustionRecord {
  attempts: number;
  refusedMs: number[];
  samples: TableSample[];
  /** The phases' kernel counters (absent in older runs): refused sends, early drops, drops. */
  phases?: {
    overfill: PhaseCounts;
    refill: PhaseCounts;
  };
}

/** What one phase did: flows sent, refused (EPERM), and the kernel's early_drop and drop counters. */
export interface PhaseCounts {
  sent: number;
  refused: number;
  earlyDrops: number;
  drops: number;
}

/** The early_drop and drop counters of a namespace's /proc/net/stat/nf_conntrack (hex, one row per CPU). */
export function statCounters(text: string): { earlyDrops: number; drops: number } {
  const [head, ...rows] = text.trim().split('\n');
  const cols = head!.trim().split(/\s+/);
  const sum = (name: string): number => {
    const i = cols.indexOf(name);
    return i < 0 ? NaN : rows.reduce((n, r) => n + parseInt(r.trim().split(/\s+/)[i]!, 16), 0);
  };
  return { earlyDrops: sum('early_drop'), drops: sum('drop') };
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
    overfill_refused: r.phases?.overfill.refused ?? '',
    overfill_early_drops: r.phases?.overfill.earlyDrops ?? '',
    refill_early_drops: r.phases?.refill.earlyDrops ?? '',
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
          const stat = async (): Promise<{ earlyDrops: number; drops: number }> =>
            statCounters(await ns.exec(['cat', '/proc/net/stat/nf_conntrack']));
          const refusedOf = (lines: HelperLine[]): HelperLine[] => lines.filter((x) => x.kind === 'refused');
          const extra = Math.round((p.max * (p.overfillPct ?? 0)) / 100);
          const s0 = await stat();
          let overfill: PhaseCounts | undefined;
          if (extra > 0) {
            const lines = await ns.sendFlows(20000 + p.max, extra, p.fillRateHz);
            await sleep(300);
            const s1 = await stat();
            overfill = {
              sent: extra,
              refused: refusedOf(lines).length,
              earlyDrops: s1.earlyDrops - s0.earlyDrops,
              drops: s1.drops - s0.drops,
            };
          }
          const s1 = await stat();
          const t0 = process.hrtime.bigint();
          const flush = ns.exec([tool('conntrack')!, '-F']);
          const n = Math.round(p.rateHz * p.durationS);
          const sent = ns.sendFlows(20000 + p.max + extra, n, p.rateHz, t0 + BigInt(SENDER_DELAY_MS * 1e6));
          const samples = sampleCount(ns, t0, 500, p.durationS * 1000 + SENDER_DELAY_MS, { until: -1, parked: true });
          const [, lines, series] = await Promise.all([flush, sent, samples]);
          const s2 = await stat();
          await l.quiet(500);
          await l.stop();
          const refused = refusedOf(lines);
          return {
            attempts: n,
            refusedMs: refused.map((x) => lineMs(x.t_ns, t0)),
            samples: series,
            ...(overfill
              ? {
                  phases: {
                    overfill,
                    refill: {
                      sent: n,
                      refused: refused.length,
                      earlyDrops: s2.earlyDrops - s1.earlyDrops,
                      drops: s2.drops - s1.drops,
                    },
                  },
                }
              : {}),
          };
        },
        { 'net.netfilter.nf_conntrack_max': p.max },
      ),
    );
  }
  return out;
}
