// My own buffer-size sweep, to CSV: how many events does an unreliable conntrackd lose at
// 20,000 new flows/s, per NetlinkBufferSize, on Linux 6.18? Five replications per size.
// Written only against the public API; run it with `node buffer-sweep.mjs [out.csv]`.
import { DEFAULT_CONNTRACKD, DEFAULT_READER, DEFAULT_WORKLOAD, simulate, toCsv, writeAtomic } from 'nfct-sim';

const out = process.argv[2] ?? 'buffer-sweep.csv';
const rows = [];
for (const bufferSize of [16384, 65536, 262144]) {
  for (let run = 0; run < 5; run++) {
    const r = simulate(
      {
        preset: 'linux-6.18',
        kernel: {},
        netlink: {},
        listeners: [
          {
            ...DEFAULT_CONNTRACKD,
            netlinkBufferSize: bufferSize,
            maxGrowth: bufferSize,
            overrunResyncS: 0,
            reader: { ...DEFAULT_READER, costUs: { kind: 'exponential', meanUs: 45 } },
          },
        ],
        workloads: [{ ...DEFAULT_WORKLOAD, rateHz: 20_000, stopS: 0.5, replyProb: 0 }],
        actions: [],
        durationS: 1,
        sampleMs: 0,
      },
      { seed: 7, run },
    );
    const l = r.listeners[0];
    const received = l.stats.received.new + l.stats.received.update + l.stats.received.destroy;
    rows.push({
      buffer_bytes: bufferSize,
      run,
      flows: r.totals['workload.flows'],
      received,
      socket_drops: l.socketDrops,
      enobufs: l.stats.enobufs,
      lost_pct: (100 * l.socketDrops) / (l.socketDrops + received),
      fingerprint: r.fingerprint,
    });
  }
}
writeAtomic(out, toCsv(rows, Object.keys(rows[0])));
console.log(`wrote ${rows.length} rows to ${out}`);
