/**
 * nfct-sim's model and scenario API, the package's main entry point (`import … from 'nfct-sim'`).
 * The engine it runs on is the other entry point, `nfct-sim/sim`.
 *
 * - Scenarios: a preset of kernel behaviour plus listeners, workloads and actions
 *   ({@link ScenarioConfig}); {@link parseScenario} checks one, {@link simulate} runs one
 *   replication and summarises it, {@link buildScenario} gives the world to probe by hand.
 * - Sweeps with replications: an {@link ExperimentDef} (a base scenario, axes, what to measure,
 *   how to answer) run by {@link runExperiment} into a results folder (params.json,
 *   results.csv, summary.csv, plots, summary.md, manifest.json), on worker processes, byte-identical
 *   for any number of them. The built-in studies are {@link EXPERIMENTS}.
 * - Outputs: {@link toCsv}, {@link renderSvg}, {@link writeAtomic}; fixtures of what listeners
 *   receive: {@link fixtureScenario}, {@link traceScenario}.
 * - Designs of your own: {@link registerEra} with a {@link Redelivery} built on
 *   {@link BaseRedelivery} (docs/architecture.md#adding-an-era).
 *
 * Everything not exported here is internal and may change without notice. Examples written only
 * against this API: docs/examples/.
 * @module
 */
export { PRESET_NAMES, preset, type KernelPreset } from '../models/presets.js';
export {
  buildScenario,
  parseScenario,
  resolveScenario,
  setScenarioPath,
  type ActionBase,
  type ActionConfig,
  type Condition,
  type ConditionTiming,
  type Sample,
  type Scenario,
  type ScenarioConfig,
  type ScenarioRun,
} from '../models/scenario.js';
export { SCENARIO_NAMES, namedScenario } from '../models/scenarios.js';
export { simulate, type ListenerSummary, type RunSummary, type SimulateOptions } from './simulate.js';
export { METRIC, type MetricName } from '../models/names.js';
export type { World } from '../models/world.js';
export {
  SYSCTL_NAMES,
  type CtStats,
  type KernelModel,
  type KernelView,
  type PacketMsg,
  type SysctlName,
  type Truth,
  type TruthView,
} from '../models/kernel/types.js';
export type { ListenerStats, ListenerModel, ProgramNotice } from '../models/listeners/types.js';
// The machine: CPUs and a CFS-like scheduler that senders, listeners, conntrack -F and the
// kernel's workers share with background load.
export {
  DEFAULT_MACHINE,
  DEFAULT_MACHINE_SETUP,
  Machine,
  NICE_0_WEIGHT,
  Task,
  validateMachineSetup,
  type MachineConfig,
  type MachineCosts,
  type MachineMsg,
  type MachineSetup,
} from '../models/cpu/machine.js';
export { KernelWork, TASK } from '../models/cpu/work.js';
export type { CtEvent, EventBits, EventSink, Group } from '../models/kernel/events.js';

export type {
  Era,
  EarlyDrop,
  GcGeneration,
  KernelConfig,
  Latency,
  TcpTimeouts,
  Timeouts,
} from '../models/kernel/config.js';
export type { NetlinkKernelConfig, Truesize } from '../models/netlink/config.js';
export {
  DEFAULT_CONNTRACK_E,
  DEFAULT_CONNTRACKD,
  DEFAULT_READER,
  type ConntrackEConfig,
  type ConntrackdConfig,
  type CostUs,
  type ListenerConfig,
  type RawListenerConfig,
  type ReaderConfig,
  type SyncConfig,
} from '../models/listeners/config.js';
export {
  DEFAULT_WORKLOAD,
  type FlowGeneratorModel,
  type FlowMsg,
  type Lifetime,
  type SenderOnMachine,
  type WorkloadConfig,
} from '../models/workloads/flows.js';
export {
  DEFAULT_ADDRESSES,
  realTuple,
  tupleOf,
  type AddressConfig,
  type RealTuple,
  type TupleSource,
} from '../models/workloads/addresses.js';

export { EXPERIMENTS, REGISTRY } from '../experiments/registry.js';
export { mergeRuns, runExperiment, type RunOptions } from '../experiments/lib/runner.js';
export { taskRunner } from '../experiments/lib/run-task.js';
export type {
  Axis,
  ExperimentDef,
  Plot,
  Point,
  PointSummary,
  Registry,
  Row,
  SanityCheck,
  TaskInput,
  TaskOutput,
} from '../experiments/lib/experiment.js';
export { columnsOf, renderSvg, toCsv, writeAtomic } from '../experiments/lib/output.js';
export {
  FIXTURE_FORMATS,
  fixtureScenario,
  traceScenario,
  type FixtureFormat,
  type FixtureLine,
  type FixtureTuple,
} from '../experiments/fixture.js';

export { eraModel, eraNames, registerEra } from '../models/kernel/eras.js';
export { SlotList } from '../models/kernel/table.js';
export { TIMER_EXPIRE, TIMER_RETRY } from '../models/kernel/types.js';
export { msecsToJiffies } from '../models/kernel/jiffies.js';
export type {
  EraModel,
  EventCache,
  Expiry,
  KernelCore,
  KernelCounter,
  Redelivery,
} from '../models/kernel/strategies.js';
export type { CtTable } from '../models/kernel/table.js';
export type { KernelTime } from '../models/kernel/timers.js';
export type { TruthLog } from '../models/kernel/truth.js';
export { BaseRedelivery } from '../models/kernel/redelivery/redelivery.js';
