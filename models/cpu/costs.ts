// What work costs on the machine model (issue #13): the defaults a scenario's `machine.costs`
// starts from and their validation. Kept apart from the scheduler (machine.ts).
import { checkNumber, checkObject } from '../../sim/index.js';

/**
 * What the scenario's own work costs on the machine (CPU time charged to the task that does it).
 * The listeners' costs are their `reader` settings; the flush's is `kernel.flushCostNs` (+
 * `flushDeliverCostNs`) and the gc's per entry `kernel.gcCostNs`.
 */
export interface MachineCosts {
  /** A flow sender, per packet: the sendto syscall, conntrack lookup/allocation and confirm. */
  readonly packetUs: number;
  /** A flow sender, per packet and subscribed listener: the event's build and broadcast (skb clone, wake-up). */
  readonly broadcastUs: number;
  /** The ecache redelivery kworker, per DESTROY it re-sends (E2/E3; E4 uses kernel.workerCostNs). */
  readonly workerAttemptNs: number;
  /** The gc kworker, per entry it evicts (on top of kernel.gcCostNs per entry scanned). */
  readonly gcEvictNs: number;
  /**
   * `conntrack -D`, before its dump: the process's start and its netlink sockets (what a
   * `conntrack -C` costs in all).
   */
  readonly adminStartUs: number;
  /**
   * `conntrack -D`, per hash bucket its dump walks: conntrack-tools deletes by dumping the
   * table (ctnetlink_dump_table walks every bucket) and deleting what matches.
   */
  readonly dumpBucketNs: number;
  /** `conntrack -D`, per entry its dump carries: the kernel's message and the tool's parse and compare. */
  readonly dumpEntryNs: number;
  /** `conntrack -L`, per entry its dump carries: the kernel's message, the tool's parse and print. */
  readonly listEntryNs: number;
  /** `conntrack -D` and `-L`, after the dump: the rest of the command until it exits. */
  readonly adminExitUs: number;
}

// Measured on this project's 6.18 VM (experiments/live/calibration.ts): the Python helper
// sender's costs (senderPacketUs, senderBroadcastUs), conntrack -D's and -L's (adminStartUs,
// dumpBucketNs, dumpEntryNs, listEntryNs, adminExitUs) and the gc kworker's per eviction
// (gcEvictNs). The ecache kworker's per re-sent DESTROY is not measured (a round value, of the
// order of an skb).
export const DEFAULT_MACHINE_COSTS: MachineCosts = {
  packetUs: 5.73,
  broadcastUs: 2.51,
  workerAttemptNs: 2000,
  gcEvictNs: 906,
  adminStartUs: 1310.5,
  dumpBucketNs: 40.8,
  dumpEntryNs: 2788,
  listEntryNs: 4352,
  adminExitUs: 2581,
};

const COST_KEYS = Object.keys(DEFAULT_MACHINE_COSTS) as (keyof MachineCosts)[];

/** Validates a machine's costs: every key, each a number from 0 to 1e9. */
export function validateCosts(v: unknown, path: string): MachineCosts {
  const c = checkObject(path, v, COST_KEYS);
  for (const k of COST_KEYS) checkNumber(`${path}.${k}`, c[k], { min: 0, max: 1e9 });
  return v as MachineCosts;
}
