// Named, frozen scenarios for `nfct-sim trace` and `nfct-sim fixture`: small, fully specified
// situations whose event streams are worth replaying.
import { freeze } from 'immer';
import { ConfigError } from '../sim/index.js';
import { DEFAULT_CONNTRACK_E, DEFAULT_CONNTRACKD, DEFAULT_READER, type ConntrackdConfig } from './listeners/config.js';
import type { ScenarioConfig } from './scenario.js';
import { DEFAULT_WORKLOAD } from './workloads/flows.js';

const slowReader = { ...DEFAULT_READER, costUs: { kind: 'constant' as const, us: 2000 } };

/** 200 unreplied UDP flows, then conntrack -F into a slow reliable conntrackd beside a conntrack -E. */
function flushInto(presetName: string, conntrackd: Partial<ConntrackdConfig>, durationS: number): ScenarioConfig {
  return {
    preset: presetName,
    kernel: {},
    netlink: {},
    listeners: [
      {
        ...DEFAULT_CONNTRACKD,
        eventsReliable: true,
        overrunResyncS: 0,
        netlinkBufferSize: 2048,
        maxGrowth: 2048,
        reader: slowReader,
        ...conntrackd,
      },
      DEFAULT_CONNTRACK_E,
    ],
    workloads: [{ ...DEFAULT_WORKLOAD, arrivals: 'constant', rateHz: 200, flows: 200, stopS: 1, replyProb: 0 }],
    actions: [{ atS: 2, kind: 'flush' }],
    durationS,
    sampleMs: 0,
  };
}

const SCENARIOS: Record<string, { description: string; scenario: ScenarioConfig }> = {
  'flush-reliable': {
    description:
      '6.18: 200 UDP flows, conntrack -F into a slow reliable conntrackd (2048-byte buffer) beside a conntrack -E',
    scenario: flushInto('linux-6.18', {}, 10),
  },
  'flush-2.6.31': {
    description: '2.6.31: the same flush with random 0–15 s redelivery (conntrackd 0.9.14)',
    scenario: flushInto('linux-2.6.31', { version: '0.9.14' }, 25),
  },
  'tuple-reuse': {
    description: '6.18: short TCP connections on 20 tuples; late DESTROYs meet the NEWs of their successors',
    scenario: {
      preset: 'linux-6.18',
      kernel: {},
      netlink: {},
      listeners: [
        {
          ...DEFAULT_CONNTRACKD,
          version: '1.4.7',
          eventsReliable: true,
          overrunResyncS: 0,
          netlinkBufferSize: 4096,
          maxGrowth: 4096,
          reader: { ...DEFAULT_READER, costUs: { kind: 'constant', us: 400 } },
        },
      ],
      workloads: [
        {
          ...DEFAULT_WORKLOAD,
          kind: 'tcp',
          rateHz: 100,
          stopS: 5,
          tupleSpace: 20,
          tcpLifetime: { kind: 'exponential', meanS: 0.1 },
        },
      ],
      actions: [],
      durationS: 10,
      sampleMs: 0,
    },
  },
};

const FROZEN = freeze(SCENARIOS, true);

/** Names of the built-in scenarios of `nfct-sim trace` and `nfct-sim fixture`. */
export const SCENARIO_NAMES: readonly string[] = Object.keys(FROZEN);

/** The built-in scenario `name` with its one-line description; a ConfigError lists the names. */
export function namedScenario(name: string): { description: string; scenario: ScenarioConfig } {
  const s = FROZEN[name];
  if (s === undefined)
    throw new ConfigError('scenario', name, `must be one of ${SCENARIO_NAMES.join(', ')} (or a JSON file)`);
  return s;
}
