// Every experiment, by name (the order of `nfct-sim list`).
import { siblingModule } from '../sim/index.js';
import type { ExperimentDef, Registry } from './lib/experiment.js';
import { seedStress } from './seed-stress.js';
import { flush } from './flush.js';
import { retryDelay } from './retry-delay.js';
import { reorder } from './reorder.js';
import { tableFull } from './table-full.js';
import { eras } from './eras.js';
import { bufferSize } from './buffer-size.js';
import { failover } from './failover.js';

/** The built-in studies by name (the order of `nfct-sim list`). */
export const EXPERIMENTS: Record<string, ExperimentDef> = {
  [seedStress.name]: seedStress,
  [flush.name]: flush,
  [retryDelay.name]: retryDelay,
  [reorder.name]: reorder,
  [tableFull.name]: tableFull,
  [eras.name]: eras,
  [bufferSize.name]: bufferSize,
  [failover.name]: failover,
};

/** The built-in studies and the worker module that runs their tasks (experiments/task.ts). */
export const REGISTRY: Registry = {
  experiments: EXPERIMENTS,
  worker: { module: siblingModule(import.meta.url, './task'), exportName: 'runTask' },
};
