#!/usr/bin/env node
// Installed entry point: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';

register();
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { main } = await import('../cli.ts');
process.exitCode = await main(process.argv.slice(2));
