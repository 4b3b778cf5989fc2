// Queueing theory as external truth: the M/M/1/K station built from the engine must match the
// closed forms within confidence intervals computed from independent replications.
import test from 'ava';
import { confidenceInterval } from '../../../sim/index.js';
import { mm1kTheory, runMm1k, validateMm1k } from '../../../models/queueing/mm1k.js';

const RUNS = 12;
// 99.9 % intervals: with eight checks at fixed seeds a correct engine passes; a wrong ordering,
// time unit or stream would move the estimates by far more than these widths.
const LEVEL = 0.999;

for (const [arrivalRateHz, capacity] of [
  [500, 5],
  [900, 10],
  [1000, 5],
  [1500, 4],
] as const) {
  const cfg = { arrivalRateHz, serviceRateHz: 1000, capacity };
  test(`M/M/1/K with rho=${arrivalRateHz / 1000}, K=${capacity} matches blocking probability and mean number in system`, (t) => {
    const theory = mm1kTheory(cfg);
    const reps = Array.from({ length: RUNS }, (_, run) =>
      runMm1k({ ...cfg, warmupS: 2, durationS: 20 }, { seed: 1, run }),
    );
    const blocking = confidenceInterval(
      reps.map((r) => r.blocking),
      LEVEL,
    );
    const inSystem = confidenceInterval(
      reps.map((r) => r.meanInSystem),
      LEVEL,
    );
    t.true(
      Math.abs(blocking.mean - theory.blocking) <= blocking.halfWidth,
      `blocking ${blocking.mean} ± ${blocking.halfWidth} vs ${theory.blocking}`,
    );
    t.true(
      Math.abs(inSystem.mean - theory.meanInSystem) <= inSystem.halfWidth,
      `L ${inSystem.mean} ± ${inSystem.halfWidth} vs ${theory.meanInSystem}`,
    );
    // The intervals must also be informative, not trivially wide.
    t.true(blocking.halfWidth < 0.1 * theory.blocking + 0.002);
    t.true(inSystem.halfWidth < 0.1 * theory.meanInSystem);
  });
}

test('mm1k closed forms at the textbook special cases', (t) => {
  t.deepEqual(mm1kTheory({ arrivalRateHz: 1, serviceRateHz: 1, capacity: 4 }), { blocking: 0.2, meanInSystem: 2 });
  const lowLoad = mm1kTheory({ arrivalRateHz: 1e-6, serviceRateHz: 1, capacity: 3 });
  t.true(lowLoad.blocking < 1e-17);
});

test('mm1k config is validated field by field', (t) => {
  t.throws(() => validateMm1k({ arrivalRateHz: 1, serviceRateHz: 1, capacity: 0 }), {
    message: 'mm1k.capacity = 0: must be an integer >= 1',
  });
  t.throws(() => validateMm1k({ arrivalRateHz: 1, serviceRateHz: 1, capacity: 2, extra: 1 }), {
    message: /mm1k.extra = 1: is not a known field/,
  });
});
