// A task runner for the worker-process tests: returns twice its value, or ends its process with
// the code it is given (as an out-of-memory abort would), so that the parent's handling shows.
export function doubleOrExit(config: { value: number; exit?: number }): number {
  if (config.exit !== undefined) process.exit(config.exit);
  return config.value * 2;
}
