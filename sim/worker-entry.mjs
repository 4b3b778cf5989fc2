// Worker thread entry for sim/replicate.ts. It is plain JavaScript so that it loads without a
// TypeScript loader; it registers tsx itself, then imports the runner module named by the parent.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runner, seed } = workerData;
const mod = await import(runner.module);
const fn = mod[runner.exportName];
parentPort.on('message', ({ i, config, run }) => {
  try {
    parentPort.postMessage({ i, result: fn(config, { seed, run }) });
  } catch (e) {
    parentPort.postMessage({ i, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
