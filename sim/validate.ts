/**
 * Config validation: every public entry point checks its config and reports the first bad
 * field with its path, its value and what is allowed, as one {@link ConfigError}.
 * @module
 */

/** A config value out of range, of the wrong type, or unknown. The message is one line. */
export class ConfigError extends Error {
  constructor(
    /** Dotted path of the field, e.g. `kernel.hz`. */
    readonly path: string,
    /** The offending value. */
    readonly value: unknown,
    /** What is allowed, in words. */
    readonly allowed: string,
  ) {
    super(`${path} = ${show(value)}: ${allowed}`);
    this.name = 'ConfigError';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Bounds for {@link checkInt} and {@link checkNumber}. */
export interface Bounds {
  readonly min?: number;
  readonly max?: number;
}

function range(b: Bounds): string {
  if (b.min !== undefined && b.max !== undefined) return ` in [${b.min}, ${b.max}]`;
  if (b.min !== undefined) return ` >= ${b.min}`;
  if (b.max !== undefined) return ` <= ${b.max}`;
  return '';
}

/** Checks that `value` is a safe integer within bounds. */
export function checkInt(path: string, value: unknown, b: Bounds = {}): number {
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    (b.min !== undefined && value < b.min) ||
    (b.max !== undefined && value > b.max)
  ) {
    throw new ConfigError(path, value, `must be an integer${range(b)}`);
  }
  return value;
}

/** Checks that `value` is a finite number within bounds. */
export function checkNumber(path: string, value: unknown, b: Bounds = {}): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (b.min !== undefined && value < b.min) ||
    (b.max !== undefined && value > b.max)
  ) {
    throw new ConfigError(path, value, `must be a number${range(b)}`);
  }
  return value;
}

/** Checks that `value` is a boolean. */
export function checkBool(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(path, value, 'must be true or false');
  return value;
}

/** Checks that `value` is one of `allowed`. */
export function checkOneOf<T extends string | number>(path: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new ConfigError(path, value, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return value as T;
}

/** Checks that `value` is a plain object whose keys are all in `known`. */
export function checkObject(path: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(path, value, 'must be an object');
  }
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) {
      throw new ConfigError(
        path === '' ? k : `${path}.${k}`,
        (value as Record<string, unknown>)[k],
        `is not a known field; known fields: ${known.join(', ')}`,
      );
    }
  }
  return value as Record<string, unknown>;
}
