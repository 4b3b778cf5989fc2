// The nfct-sim command line: one module per group of commands in experiments/cli/.
// Exit codes: 0 success; 1 internal error (a bug: the stack is printed); 2 bad input (one line
// naming the field or argument and what is allowed; nothing written); 3 the main job ran but a
// headline point did not produce what it reports on (its answer would be vacuous).
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../sim/index.js';
import { addLiveCommands } from './cli/live.js';
import { addRunCommands } from './cli/run.js';
import { addScenarioCommands } from './cli/scenario.js';
import { NotObservedError } from './suite.js';

export function buildCli(): Command {
  const program = new Command('nfct-sim')
    .description('Deterministic simulator of Linux conntrack event delivery')
    .exitOverride();
  addRunCommands(program);
  addScenarioCommands(program);
  addLiveCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    process.exitCode = undefined;
    await buildCli().parseAsync(argv, { from: 'user' });
    // A command that finished with another status (a guest's command failing) set it.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      console.error(`nfct-sim: ${e.message}`);
      return 2;
    }
    if (e instanceof NotObservedError) {
      console.error(`nfct-sim: ${e.message}`);
      return 3;
    }
    console.error(`nfct-sim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `nfct-sim list | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  process.exitCode = await main(process.argv.slice(2));
}
