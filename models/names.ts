// Actor ids and metric names, each defined once. An actor id is a path; the same string names
// the actor's random stream, its trace label and the prefix of its metrics. Experiments read
// metrics by these names; asking the recorder for a name that no model recorded is an error.

/** The conntrack kernel of the simulated netns. */
export const KERNEL_ID = 'kernel/conntrack';
/** The machine's CPUs, when a scenario names a machine. */
export const MACHINE_ID = 'machine/cpus';
/** Listener `i` of the scenario (`listener/conntrackd-0`). */
export const listenerId = (kind: string, i: number): string => `listener/${kind}-${i}`;
/** The sync backup of conntrackd listener `i` in sync mode. */
export const backupId = (i: number): string => `sync/backup-${i}`;
/** Workload `i` of the scenario (`workload/udp-0`). */
export const workloadId = (kind: string, i: number): string => `workload/${kind}-${i}`;

/** Counter and tally names, as `area.what_unit`; CSV columns reuse them. */
export const METRIC = {
  allocated: 'ct.allocated',
  freed: 'ct.freed',
  retries: 'ct.retries',
  expired: 'ct.expired',
  parked: 'ct.parked',
  redelivered: 'ct.redelivered',
  flushed: 'ct.flushed',
  ecacheWorkRuns: 'ct.ecache_work_runs',
  gcRuns: 'ct.gc_runs',
  tableFullDrops: 'ct.table_full_drops',
  /** Allocations above nf_conntrack_max that tried early drop (successes = this − table_full_drops). */
  earlyDropAttempts: 'ct.early_drop_attempts',
  gcEarlyDrops: 'ct.gc_early_drops',
  newAttempts: 'ct.new_attempts',
  newFailures: 'ct.new_failures',
  updateAttempts: 'ct.update_attempts',
  updateFailures: 'ct.update_failures',
  destroyAttempts: 'ct.destroy_attempts',
  destroyFailures: 'ct.destroy_failures',
  /** Tally: time from an entry's first failed DESTROY to its redelivery (ns). */
  redeliveryWaitNs: 'ct.redelivery_wait_ns',
  flows: 'workload.flows',
  listenerEnobufs: 'listener.enobufs',
  listenerResyncs: 'listener.resyncs',
  syncLost: 'sync.lost',
  syncGhosts: 'sync.ghosts',
  syncMissing: 'sync.missing',
} as const;
/** A metric name of {@link METRIC}. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];
