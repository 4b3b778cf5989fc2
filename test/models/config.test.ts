// Bad input: every config error names the field, the value and what is allowed.
import test from 'ava';
import { produce } from 'immer';
import { validateKernel } from '../../models/kernel/validate.js';
import { validateListener, DEFAULT_CONNTRACKD, DEFAULT_CONNTRACK_E } from '../../models/listeners/config.js';
import { validateNetlinkKernel } from '../../models/netlink/config.js';
import { PRESET_NAMES, preset, tableDefaults } from '../../models/presets.js';
import { ConfigError } from '../../sim/index.js';
import { kernelRig, udp } from '../helpers/kernel.js';
import { ms } from '../../sim/index.js';

const k = preset('linux-6.18').kernel;
const bad = (edit: (d: Record<string, unknown>) => void): unknown =>
  produce(k as unknown as Record<string, unknown>, edit);

test('every preset validates and is frozen', (t) => {
  t.deepEqual(PRESET_NAMES, [
    'linux-2.6.30',
    'linux-2.6.31',
    'linux-3.12',
    'linux-3.17',
    'linux-4.9',
    'linux-5.19',
    'linux-6.1',
    'linux-6.18',
    'linux-6.18-fixed',
  ]);
  for (const n of PRESET_NAMES) {
    const p = preset(n);
    t.notThrows(() => validateKernel(p.kernel));
    t.notThrows(() => validateNetlinkKernel(p.netlink));
    // A preset cannot be changed by accident: writing to it throws and leaves it as it was.
    const udpS = p.kernel.timeouts.udpS;
    t.throws(() => void ((p.kernel.timeouts as { udpS: number }).udpS = 1), { instanceOf: TypeError });
    t.is(p.kernel.timeouts.udpS, udpS);
    t.true(p.description.length > 20);
  }
  t.throws(() => preset('linux-9.99'), {
    instanceOf: ConfigError,
    message: /^preset = "linux-9.99": must be one of linux-2.6.30, linux-2.6.31/,
  });
});

test('kernel config errors name the field, the value and what is allowed', (t) => {
  const cases: [unknown, string][] = [
    [bad((d) => void (d.hz = 123)), 'kernel.hz = 123: must be one of 100, 250, 300, 1000'],
    [bad((d) => void (d.era = 'E9')), 'kernel.era = "E9": must be one of "E0", "E1", "E2", "E3", "E4", "E4-backoff"'],
    [bad((d) => void (d.buckets = -4)), 'kernel.buckets = -4: must be an integer in [1, 67108864]'],
    [bad((d) => void (d.max = 1.5)), 'kernel.max = 1.5: must be an integer in [0, 2147483647]'],
    [bad((d) => void (d.retryTimeoutS = 0)), 'kernel.retryTimeoutS = 0: must be an integer in [1, 86400]'],
    [
      bad((d) => void (d.bogus = 1)),
      'kernel.bogus = 1: is not a known field; known fields: version, era, hz, cpus, adminCpu, buckets, max, eventsSysctl, retryTimeoutS, retryJitter, workBatch, missedResend, flushAttempts, earlyDrop, gc, gcAssistClosingTcp, refreshCoalesce, ecacheFixedTimeCheck, idScheme, timeouts, timerWheel, latency, workerCostNs, gcCostNs, flushCostNs, flushFreeCostNs, flushDeliverCostNs',
    ],
    [
      bad((d) => void ((d.timeouts as Record<string, unknown>).udpS = 0)),
      'kernel.timeouts.udpS = 0: must be an integer >= 1',
    ],
    [bad((d) => void (d.gc = 'none')), 'kernel.gc = "none": must name a gc generation: era E4 has no conntrack timers'],
    [
      bad((d) => void (d.latency = { kind: 'uniform', maxUs: -1 })),
      'kernel.latency.maxUs = -1: must be a number in [0, 10000000]',
    ],
    [
      produce(preset('linux-3.12').kernel, (d) => void (d.eventsSysctl = 2)),
      'kernel.eventsSysctl = 2: the value 2 (auto) exists only from 5.19 (era E4); use 0 or 1',
    ],
    [bad((d) => void ((d.cpus = 2), (d.adminCpu = 2))), 'kernel.adminCpu = 2: must be an integer in [0, 1]'],
    [
      bad((d) => void ((d as { flushDeliverCostNs?: number }).flushDeliverCostNs = -1)),
      'kernel.flushDeliverCostNs = -1: must be an integer in [0, 1000000000]',
    ],
  ];
  for (const [cfg, message] of cases) t.throws(() => validateKernel(cfg), { instanceOf: ConfigError, message });
});

test('netlink and listener config errors name the field', (t) => {
  t.throws(() => validateNetlinkKernel({ ...preset('linux-6.18').netlink, admission: 'C' }), {
    message: 'netlink.admission = "C": must be one of "A", "B"',
  });
  t.throws(() => validateListener({ ...DEFAULT_CONNTRACKD, netlinkBufferSize: -1 }, 'listeners[0]'), {
    message: 'listeners[0].netlinkBufferSize = -1: must be an integer in [0, 1073741824]',
  });
  t.throws(() => validateListener({ ...DEFAULT_CONNTRACKD, version: '2.0' }, 'listeners[0]'), {
    message: 'listeners[0].version = "2.0": must be one of "0.9.14", "1.4.6", "1.4.7", "1.4.8"',
  });
  t.throws(() => validateListener({ ...DEFAULT_CONNTRACK_E, version: '1.4.0' }, 'listeners[1]'), {
    message: /listeners\[1\].version = "1.4.0": must be one of "1.4.5"/,
  });
  t.throws(() => validateListener({ ...DEFAULT_CONNTRACKD, iterationLimit: 0 }, 'listeners[0]'), {
    message: 'listeners[0].iterationLimit = 0: must be an integer in [1, 1000000]',
  });
  t.throws(() => validateListener({ ...DEFAULT_CONNTRACK_E, groups: [] }, 'listeners[0]'), {
    message: /listeners\[0\].groups = \[\]: must list at least one group/,
  });
  t.throws(() => validateListener({ ...DEFAULT_CONNTRACK_E, bufferSize: 2.5 }, 'l'), {
    message: 'l.bufferSize = 2.5: must be an integer in [0, 1073741824]',
  });
  t.throws(
    () =>
      validateListener(
        {
          ...DEFAULT_CONNTRACKD,
          reader: { ...DEFAULT_CONNTRACKD.reader, costUs: { kind: 'empirical', us: [1, 2], weights: [0, 0] } },
        },
        'l',
      ),
    {
      message: /l.reader.costUs.weights = \[0,0\]: empirical weights must not all be zero/,
    },
  );
});

test('table size defaults follow the per-era formulas', (t) => {
  const GiB = 2 ** 30;
  t.deepEqual(tableDefaults(0.5 * GiB, '<=3.19'), { buckets: 4096, max: 16384 });
  t.deepEqual(tableDefaults(0.5 * GiB, '5.15+'), { buckets: 4096, max: 4096 });
  t.deepEqual(tableDefaults(2 * GiB, '4.0-5.14'), { buckets: 16384, max: 65536 });
  t.deepEqual(tableDefaults(2 * GiB, '5.15+'), { buckets: 65536, max: 65536 });
  t.deepEqual(tableDefaults(16 * GiB, '<=3.19'), { buckets: 16384, max: 65536 });
  t.deepEqual(tableDefaults(16 * GiB, '4.0-5.14'), { buckets: 65536, max: 262144 });
  t.deepEqual(tableDefaults(23 * GiB, '5.15+'), { buckets: 262144, max: 262144 });
  t.deepEqual(
    { buckets: preset('linux-6.18').kernel.buckets, max: preset('linux-6.18').kernel.max },
    { buckets: 262144, max: 262144 },
  );
});

test('scheduling latency delays kernel work by a seeded, reproducible amount', (t) => {
  const first = (lat: number) => {
    const r = kernelRig('linux-6.18', (d) => {
      d.latency = lat > 0 ? { kind: 'exponential', meanUs: lat } : { kind: 'none' };
    });
    r.sink.refuse = (ev, now) => ev.type === 'destroy' && now < ms(1100);
    r.at(0, udp(10));
    r.at(ms(50), { kind: 'flush', portid: 0 });
    r.sim.run({ until: ms(3000) });
    return r.sink.log.filter((l) => l.type === 'destroy').map((l) => l.t);
  };
  const none = first(0);
  const some = first(3000);
  t.is(none[1], ms(1056));
  t.true(some[1]! > ms(1048));
  t.deepEqual(first(3000), some);
  // Retries while congested come later on average than the 16 ms of the timer wheel when the
  // work itself runs late; without latency they are exactly 16 ms apart.
  const mean = (xs: number[]): number => {
    const g = xs.slice(2).map((x, i) => x - xs[i + 1]!);
    return g.reduce((a, b) => a + b, 0) / g.length;
  };
  t.is(mean(none), ms(16));
  t.true(mean(some) > ms(16));
});
