// The nfct-sim command line. Exit codes: 0 success, 1 internal error, 2 bad input (one line on
// stderr naming the field and what is allowed; nothing written).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../sim/index.js';
import { demo } from './demo.js';

function intOption(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

export function buildCli(): Command {
  const program = new Command('nfct-sim')
    .description('Deterministic simulator of Linux conntrack event delivery')
    .exitOverride()
    .showHelpAfterError(false);
  program
    .command('demo')
    .description('engine demo: M/M/1/K replications against the closed form')
    .option('--seed <n>', 'master seed', intOption('--seed', 0), 1)
    .option('--runs <n>', 'replications per point', intOption('--runs', 2), 8)
    .option('--jobs <n>', 'worker threads', intOption('--jobs', 1), Math.min(2, availableParallelism()))
    .action(async (o: { seed: number; runs: number; jobs: number }) => {
      console.log(await demo(o));
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ConfigError) {
      console.error(`nfct-sim: ${e.message}`);
      return 2;
    }
    console.error(`nfct-sim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
