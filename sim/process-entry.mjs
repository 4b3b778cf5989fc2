// Worker-process entry for sim/replicate.ts (one child per job). It is plain JavaScript so that
// it loads without a TypeScript loader; it registers tsx itself. The parent's first message names
// the runner module and the master seed; every later message is one task, answered with its
// result (or its error) before the next is taken.
import { register } from 'tsx/esm/api';

register();
const message = (e) => (e instanceof Error ? (e.stack ?? e.message) : String(e));
let fn;
let seed;
process.on('message', async (m) => {
  if (m.runner !== undefined) {
    try {
      fn = (await import(m.runner.module))[m.runner.exportName];
    } catch (e) {
      process.send({ i: -1, error: message(e) });
      return;
    }
    seed = m.seed;
    if (typeof fn !== 'function') {
      process.send({ i: -1, error: `${m.runner.module} does not export a function ${m.runner.exportName}` });
      return;
    }
    process.send({ ready: true });
    return;
  }
  try {
    process.send({ i: m.i, result: fn(m.config, { seed, run: m.run }) });
  } catch (e) {
    process.send({ i: m.i, error: message(e) });
  }
});
