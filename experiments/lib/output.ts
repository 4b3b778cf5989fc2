// Output files: written to `<path>.tmp` and renamed, so an interrupted run never leaves a
// half-written file. CSV through csv-stringify, plots rendered headlessly from Vega-Lite.
import { mkdirSync, renameSync, writeFileSync, accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { ConfigError } from '../../sim/index.js';
import type { Row } from './experiment.js';

/** Writes `content` to `path` atomically (tmp file + rename). */
export function writeAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Checks that `dir` can be created and written, before any work starts. */
export function checkWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new ConfigError(
      'out',
      dir,
      `must be a writable folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/** CSV with a header; columns in the given order (missing values empty). */
export function toCsv(rows: readonly Row[], columns: readonly string[]): string {
  return stringify(
    rows.map((r) => columns.map((c) => fmt(r[c]))),
    { header: true, columns: [...columns] },
  );
}

/** Numbers are written with up to 9 significant digits, so the text is stable across platforms. */
export function fmt(v: number | string | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(9)));
}

/** Columns of a set of rows: `first` ones, then the others in order of appearance. */
export function columnsOf(rows: readonly Row[], first: readonly string[] = []): string[] {
  const cols = [...first];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return cols;
}

/** Renders a Vega-Lite spec to SVG without a browser. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
