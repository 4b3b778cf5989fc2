// The calibrated parameters of the simulated twins, each with the live measurement it came from
// (docs/validation.md has the runs). Presets stay uncalibrated: the kernel code has no CPU speed;
// these describe this VM and the Python helper.

import { ConfigError } from '../../sim/index.js';

/** One calibrated value and where it came from. */
export interface Calibrated {
  readonly value: number;
  readonly from: string;
}

export const CALIBRATION = {
  readerCostUs: {
    value: 22,
    from: 'reliable flushes of 20000 into 212992- and 425984-byte buffers (6.18.44, 3 repeats each): median time per DESTROY read inside a redelivery round, 16-24 us',
  },
  // conntrack -F per entry, from three figures (solved together, docs/validation.md#the-machine):
  // (1) reliable flush of 2000 into a one-event listener: 165 DESTROYs read (22 us each) while the
  // 2000 entries were flushed; (2) conntrackd-flush-calibration: 30000 entries, all delivered, the
  // table empty 121-141 ms after conntrack -F; (3) machine-calibration: 30000 entries into an
  // unreliable helper, 2713 DESTROYs read, the last 96 ms after the first (85 ms of it the flush,
  // 11 ms draining 332 queued events).
  flushCostNs: {
    value: 1576,
    from: 'per entry parked for redelivery: solved from (1) 2000 b + 165 (f + d) = 3630 us and (2) b + f + d = 4.47 us',
  },
  flushFreeCostNs: {
    value: 1090,
    from: 'extra per entry freed at once: (3) 30000 (b + f) + 2713 d = 85000 us with (1) and (2)',
  },
  flushDeliverCostNs: {
    value: 1800,
    from: 'extra per DESTROY a socket queued: the same three equations (before the machine model: 6500, from (2) alone)',
  },
  readerWakeupUs: {
    value: 20,
    from: 'same run: any wake-up above zero lets the redelivery worker re-run before the sleeping reader; 20 us is a typical loopback wake-up',
  },
  // The real programs (docs/validation.md#the-real-programs): from the two calibration cases,
  // 6.18.44, 3 repeats each, measured before any prediction case; the median repeat's value.
  conntrackdCostUs: {
    value: 5.41,
    from: 'conntrackd-flush-calibration (NetlinkBufferSize 64 MiB, 30000 flows, conntrack -F, nothing lost): CPU time (/proc/<pid>/schedstat) per DESTROY read after the flush 4.64, 5.41, 6.20 us; first 10.42 from conntrackd-calibration (CPU per NEW over the burst, 9.99-11.35 us, with 9000-12000 wake-ups in it)',
  },
  conntrackdSendHz: {
    value: 71900,
    from: 'conntrackd-calibration: the sender took 400, 417, 457 ms for 30000 flows (while conntrackd and the 100 ms polls ran)',
  },
  conntrackECostUs: {
    value: 6.18,
    from: 'conntrack-e-calibration (10000 flows as fast as the sender goes): conntrack -E CPU time per line 5.27, 6.18, 6.70 us',
  },
  conntrackESendHz: {
    value: 122000,
    from: 'conntrack-e-calibration: the sender took 79, 82, 85 ms for 10000 flows',
  },
  conntrackEPreemptRunUs: {
    value: 19.86,
    from: 'conntrack-e-calibration: CPU time per involuntary context switch 15.99, 19.86, 27.43 us (it was preempted 1105-3062 times, slept 93-268 times)',
  },
  conntrackEPreemptWaitUs: {
    value: 12.35,
    from: 'conntrack-e-calibration: run-queue wait (schedstat) per involuntary context switch 9.68, 12.35, 25.0 us',
  },
  // The machine model's costs (issue #13; models/cpu/machine.ts MachineCosts).
  senderPacketUs: {
    value: 5.73,
    from: 'hand run 2026-12-02 04:30 (6.18.44, load 0.15): the helper sending 30000 flows as fast as it goes with no listener, CPU time (/proc/self/schedstat) per flow 5.97, 4.53, 5.73 us; the median',
  },
  senderBroadcastUs: {
    value: 2.51,
    from: 'machine-calibration (30000 flows into an unreliable helper, SO_RCVBUF 212992, 3 repeats, 04:43, load 0.9): sender CPU per flow 7.04, 8.24, 8.42 us; the median less senderPacketUs',
  },
  // The runner parsing the helper's lines (a pipe reader): its CPU time (process.cpuUsage) and
  // voluntary context switches while the table was filled, per NEW line, in three calibration
  // cases (04:43-04:56, load 0.9-1.1): machine-calibration (30000 as fast as possible: 14.18,
  // 19.22, 11.18 us, 0.60-0.76 wake-ups per line), machine-calibration-paced-5000 (a line every
  // 200 us: 51.6, 47.0, 40.5 us) and machine-calibration-paced (every 1 ms: 86.7, 85.5, 72.6 us).
  // A wake-up costs more the longer the runner slept; the three values are chosen so that the
  // twin gives the three medians (14.2, 47.2, 84.9 us).
  runnerLineUs: {
    value: 7,
    from: 'the three runner cases above, with runnerWakeUs and runnerWakeTauUs',
  },
  runnerWakeUs: {
    value: 79,
    from: 'the three runner cases above: the extra CPU of a line that wakes the runner after a long sleep',
  },
  conntrackERunnerLineUs: {
    value: 3.84,
    from: "conntrack-e-calibration: the runner's time on conntrack -E's CPU per line, from conntrack -E's own counters: a 12.35 us run-queue wait every 19.86 us of its CPU, at 6.18 us per line (12.35 x 6.18 / 19.86)",
  },
  runnerWakeTauUs: {
    value: 215,
    from: 'the three runner cases above: the sleep after which a wake-up costs 63 % of runnerWakeUs',
  },
  // conntrack -D (conntrack-tools 1.4.7), 6.18.44, 100 commands per repeat, 262144 buckets, from
  // two cases (docs/validation.md#conntrack--d): delete-cost-calibration (12:44, load 0.67, 200
  // entries): CPU (wait4 rusage, nearly all system time) of conntrack -C 1310.5 us, of conntrack
  // -D 15154.5 us, its DESTROY read 12593 us after the -D started (repeat 0, the median of all
  // three); delete-cost-20000 (12:50, load 1.29; measured as a prediction of the first model,
  // which had no cost per entry, then used to calibrate it): -D 70359 us.
  adminStartUs: {
    value: 1310.5,
    from: 'delete-cost-calibration: CPU of a conntrack -C (start, sockets, one request, exit), the median repeat',
  },
  dumpEntryNs: {
    value: 2788,
    from: '(70359 - 15154.5 us) / (20000 - 200 entries): delete-cost-20000 less delete-cost-calibration, per entry dumped',
  },
  dumpBucketNs: {
    value: 40.8,
    from: 'delete-cost-calibration: 200 entries fill the first batch (23) and most of the second, so the DESTROY comes at the end of the walk: (12593 - 1310.5 - 200 x 2.788 - 20 us read) / 262144 buckets; a hand sweep of nf_conntrack_buckets 16384-1048576 before it gave 43.6 ns per bucket',
  },
  adminExitUs: {
    value: 2581,
    from: 'delete-cost-calibration: CPU of the -D (15154.5 us) less its start, walk and entries (1310.5 + 10705 + 557.6 us): what the command does after its dump',
  },
  listEntryNs: {
    value: 4352,
    from: 'scripts/measure-admin-commands.sh 200 20000, 13:24 (6.18.44, load 1.33): CPU of conntrack -L 16366.5 us with 200 entries, 102536 us with 20000 (medians of 20): (102536 - 16366.5) / 19800 per entry printed; a hand run of the same at 13:23 gave 4199',
  },
  gcEvictNs: {
    value: 906,
    from: "scripts/measure-gc-evict.py 40000 3, 13:14-13:21 (6.18.44, load 3.9 falling to 0): the kworkers' CPU (schedstat) over 70 s while the gc evicted 40000 expired flows, less a 70 s window in which it only scanned 40000 live ones: 629, 906, 1029 ns per eviction; the median (extra gc passes that expired entries bring are in it)",
  },
} as const satisfies Record<string, Calibrated>;

/** The calibrated values a twin runs with. */
export interface CalibrationValues {
  readonly readerCostUs: number;
  readonly flushCostNs: number;
  /** Extra flush time per entry freed rather than parked (kernel.flushFreeCostNs). */
  readonly flushFreeCostNs: number;
  /** Extra flush time per DESTROY a socket queued (kernel.flushDeliverCostNs). */
  readonly flushDeliverCostNs: number;
  readonly readerWakeupUs: number;
  /** The real conntrackd's CPU time per event in stats mode. */
  readonly conntrackdCostUs: number;
  /** The sender's pace beside a conntrackd that is polled every 100 ms. */
  readonly conntrackdSendHz: number;
  /** The real `conntrack -E`'s CPU time per event printed. */
  readonly conntrackECostUs: number;
  /** The sender's pace beside `conntrack -E`. */
  readonly conntrackESendHz: number;
  /** `conntrack -E` shares its CPU: CPU time between preemptions and the wait after each (exponential means). */
  readonly conntrackEPreemptRunUs: number;
  readonly conntrackEPreemptWaitUs: number;
  /** On the machine model: the helper sender's CPU per packet, and per packet and subscribed listener. */
  readonly senderPacketUs: number;
  readonly senderBroadcastUs: number;
  /** On the machine model: the live runner's CPU per line it parses from the helper (the helper's pipe reader). */
  readonly runnerLineUs: number;
  /** On the machine model: the live runner's extra CPU when a line wakes it. */
  readonly runnerWakeUs: number;
  readonly runnerWakeTauUs: number;
  /** On the machine model: the runner's CPU per conntrack -E line (plain text, no JSON). */
  readonly conntrackERunnerLineUs: number;
  /** On the machine model: conntrack -D's start, its dump per bucket and per entry, and its exit. */
  readonly adminStartUs: number;
  readonly dumpBucketNs: number;
  readonly dumpEntryNs: number;
  readonly adminExitUs: number;
  /** On the machine model: conntrack -L's CPU per entry printed. */
  readonly listEntryNs: number;
  /** On the machine model: the gc kworker's CPU per eviction. */
  readonly gcEvictNs: number;
}

const valuesOf = (c: Record<keyof CalibrationValues, Calibrated>): CalibrationValues => ({
  readerCostUs: c.readerCostUs.value,
  flushCostNs: c.flushCostNs.value,
  flushFreeCostNs: c.flushFreeCostNs.value,
  flushDeliverCostNs: c.flushDeliverCostNs.value,
  readerWakeupUs: c.readerWakeupUs.value,
  conntrackdCostUs: c.conntrackdCostUs.value,
  conntrackdSendHz: c.conntrackdSendHz.value,
  conntrackECostUs: c.conntrackECostUs.value,
  conntrackESendHz: c.conntrackESendHz.value,
  conntrackEPreemptRunUs: c.conntrackEPreemptRunUs.value,
  conntrackEPreemptWaitUs: c.conntrackEPreemptWaitUs.value,
  senderPacketUs: c.senderPacketUs.value,
  senderBroadcastUs: c.senderBroadcastUs.value,
  runnerLineUs: c.runnerLineUs.value,
  runnerWakeUs: c.runnerWakeUs.value,
  runnerWakeTauUs: c.runnerWakeTauUs.value,
  conntrackERunnerLineUs: c.conntrackERunnerLineUs.value,
  adminStartUs: c.adminStartUs.value,
  dumpBucketNs: c.dumpBucketNs.value,
  dumpEntryNs: c.dumpEntryNs.value,
  adminExitUs: c.adminExitUs.value,
  listEntryNs: c.listEntryNs.value,
  gcEvictNs: c.gcEvictNs.value,
});

/** The host's values of `keys`, marked as not measured in the guest. */
function hostValues<K extends keyof typeof CALIBRATION>(keys: K[]): Record<K, Calibrated> {
  return Object.fromEntries(
    keys.map((k) => [k, { value: CALIBRATION[k].value, from: "not measured in the guest: the host's value" }]),
  ) as Record<K, Calibrated>;
}

/** The named calibrations: 'host' (above) and 'tcg-guest' (the 6.1 guest under QEMU TCG here). */
export const CALIBRATIONS: Readonly<Record<string, Record<keyof CalibrationValues, Calibrated>>> = {
  host: CALIBRATION,
  // Measured after the comparison with the committed linux-6.1 predictions, from the two
  // calibration cases named before the long cases were run (docs/validation.md#linux-61-debian-12-in-a-guest).
  'tcg-guest': {
    readerCostUs: {
      value: 129,
      from: 'reliable flush of 20000 into SO_RCVBUF 212992 in the 6.1 TCG guest (6.1.0-57-amd64, 3 repeats): median gap between DESTROYs inside a redelivery round 122.5, 128.6, 132.4 us; the middle one',
    },
    flushDeliverCostNs: { value: 0, from: 'not measured in the guest: its flushCostNs is the whole per-entry cost' },
    flushFreeCostNs: { value: 0, from: 'not measured in the guest: its flushCostNs is the whole per-entry cost' },
    flushCostNs: {
      value: 1806,
      from: 'reliable flush of 2000 into SO_RCVBUFFORCE 1024 in the same guest (3 repeats): median 28 DESTROYs read while conntrack -F ran, at 129 us per read: 28 x 129 us / 2000 entries',
    },
    readerWakeupUs: {
      value: 20,
      from: "not re-measured: the host's value (no guest case isolates it)",
    },
    // The program cases' reader-bound figures are observed in a TCG guest (scenarios.ts).
    ...hostValues([
      'conntrackdCostUs',
      'conntrackdSendHz',
      'conntrackECostUs',
      'conntrackESendHz',
      'conntrackEPreemptRunUs',
      'conntrackEPreemptWaitUs',
      'senderPacketUs',
      'senderBroadcastUs',
      'runnerLineUs',
      'runnerWakeUs',
      'runnerWakeTauUs',
      'conntrackERunnerLineUs',
      'adminStartUs',
      'dumpBucketNs',
      'dumpEntryNs',
      'adminExitUs',
      'listEntryNs',
      'gcEvictNs',
    ]),
  },
};

/** The calibration `name`; a ConfigError lists the known ones. */
export function calibrationSet(name: string): CalibrationValues {
  const c = CALIBRATIONS[name];
  if (c === undefined)
    throw new ConfigError('--calibration', name, `must be one of ${Object.keys(CALIBRATIONS).join(', ')}`);
  return valuesOf(c);
}
