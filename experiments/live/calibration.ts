// The calibrated parameters of the simulated twins, each with the live measurement it came from
// (docs/validation.md has the runs). Presets stay uncalibrated: the kernel code has no CPU speed;
// these describe this VM and the Python helper.

/** One calibrated value and where it came from. */
export interface Calibrated {
  readonly value: number;
  readonly from: string;
}

export const CALIBRATION = {
  flushCostNs: {
    value: 2800,
    from: 'reliable flush of 2000 into a one-event listener (6.18.44): 165 DESTROYs read while 2000 entries were flushed at 34 us per read',
  },
  readerCostUs: {
    value: 34,
    from: 'same run: the burst of 164 DESTROYs after the first took 5.5 ms to read',
  },
  readerWakeupUs: {
    value: 20,
    from: 'same run: any wake-up above zero lets the redelivery worker re-run before the sleeping reader; 20 us is a typical loopback wake-up',
  },
} as const satisfies Record<string, Calibrated>;

/** The values alone, as recorded in a simulated run's scenario.json. */
export const calibrationValues = (): Record<string, number> =>
  Object.fromEntries(Object.entries(CALIBRATION).map(([k, v]) => [k, v.value]));
