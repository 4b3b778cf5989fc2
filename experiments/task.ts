// The worker module of the built-in studies (REGISTRY.worker): worker processes import it to run
// one task. It lives beside the registry, not in lib/, so that lib/ never imports a study.
import { taskRunner } from './lib/run-task.js';
import { EXPERIMENTS } from './registry.js';

export const runTask = taskRunner(EXPERIMENTS);
