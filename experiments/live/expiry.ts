// `nfct-sim live expiry`: how late the DESTROY of an expired UDP flow comes, which is the gc
// worker's schedule (6.x expires entries only in its scans, or when a lookup meets them). The gc
// worker is global and runs since boot, so its phase is first pinned: a probe flow with a 1 s
// timeout is removed by the next scan, whose time the probe's DESTROY shows. The burst of N flows
// with timeout T follows `offset` seconds after that scan; everything after is the kernel's.
import type { Row } from '../lib/experiment.js';
import { quantile } from '../lib/common.js';
import { inNamespace, requireLive, sleep } from './host.js';
import { lineMs, msSince, sampleCount } from './flush.js';

export interface ExpiryParams {
  flows: number;
  timeoutS: number;
  offsetS: number;
  /** New flows per second in the burst (0: as fast as the sender can). */
  fillRateHz: number;
  repeats: number;
}

/** One repeat: times in ms after the probe was sent. */
export interface ExpiryRecord {
  /** The probe's DESTROY: a gc scan. */
  probeDestroyMs: number;
  /** Each burst flow's NEW and DESTROY receive times. */
  flows: { newMs: number; destroyMs: number }[];
}

/** Lateness of each DESTROY after its flow's expiry (ms). */
export const latenessOf = (p: ExpiryParams, r: ExpiryRecord): number[] =>
  r.flows.map((f) => f.destroyMs - f.newMs - p.timeoutS * 1000);

/** The row of results.csv for one repeat (live and simulated alike). */
export function expiryRow(p: ExpiryParams, repeat: number, r: ExpiryRecord): Row {
  const late = latenessOf(p, r);
  const d = r.flows.map((f) => f.destroyMs).sort((a, b) => a - b);
  return {
    flows: p.flows,
    timeout_s: p.timeoutS,
    offset_s: p.offsetS,
    repeat,
    destroys: r.flows.length,
    gc_wait_ms: d.length ? d[0]! - r.probeDestroyMs : NaN,
    first_lateness_ms: late.length ? Math.min(...late) : NaN,
    median_lateness_ms: quantile(late, 0.5),
    last_lateness_ms: late.length ? Math.max(...late) : NaN,
    spread_ms: d.length ? d.at(-1)! - d[0]! : NaN,
  };
}

/** Runs the expiry measurement `p.repeats` times, each in a fresh namespace. */
export async function liveExpiry(p: ExpiryParams): Promise<ExpiryRecord[]> {
  requireLive('expiry');
  const out: ExpiryRecord[] = [];
  for (let r = 0; r < p.repeats; r++) {
    out.push(
      await inNamespace(async (ns) => {
        await ns.sysctl('net.netfilter.nf_conntrack_udp_timeout', 1);
        // A buffer no burst can fill: every event arrives, no listener effect on the kernel.
        const l = ns.listen(['--rcvbuf', String(32 << 20), '--force']);
        await l.ready();
        const t0 = process.hrtime.bigint();
        await ns.sendFlows(20000, 1);
        let probe: number | undefined;
        while (probe === undefined) {
          if (msSince(t0) > 150_000)
            throw new Error('the probe flow was not removed within 150 s: is the gc worker running?');
          await sleep(50);
          const d = l.messages('destroy').find((m) => m.dport === 20000);
          if (d) probe = lineMs(d.t_ns, t0);
        }
        await ns.sysctl('net.netfilter.nf_conntrack_udp_timeout', p.timeoutS);
        await sleep(Math.max(0, probe + p.offsetS * 1000 - msSince(t0)));
        await ns.sendFlows(20001, p.flows, p.fillRateHz);
        await sampleCount(ns, t0, 500, msSince(t0) + (p.timeoutS + 150) * 1000);
        await l.quiet(1000);
        await l.stop();
        const byPort = (type: string): Map<number, number> =>
          new Map(l.messages(type).map((m) => [Number(m.dport), lineMs(m.t_ns, t0)]));
        const news = byPort('new');
        const destroys = byPort('destroy');
        const flows = [...news]
          .filter(([port]) => port !== 20000 && destroys.has(port))
          .map(([port, newMs]) => ({ newMs, destroyMs: destroys.get(port)! }));
        return { probeDestroyMs: probe, flows };
      }),
    );
  }
  return out;
}
