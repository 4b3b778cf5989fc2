// Output files: written to `<path>.tmp` and renamed, so an interrupted run never leaves a
// half-written file. CSV through csv-stringify, plots rendered headlessly from Vega-Lite.
import { accessSync, constants, existsSync, mkdirSync, renameSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { ConfigError } from '../../sim/index.js';
import type { Row } from './experiment.js';

/** Writes `content` to `path` atomically (tmp file + rename). */
export function writeAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

// statfs magic numbers of kernel file systems no results folder belongs on.
const KERNEL_FS: Record<number, string> = {
  0x9fa0: '/proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x64626720: 'debugfs',
};

/**
 * Checks once, before any work starts and without creating anything, that `dir` can be created
 * and written: it names a folder, the nearest existing ancestor is a folder (not a file), it is
 * not on a kernel file system (/proc, sysfs: Node's recursive mkdir loops there), and it is
 * writable. The error names the reason: a read-only file system, permission denied, a file in
 * the way.
 */
export function checkWritable(dir: string, field = 'out'): void {
  if (dir.trim() === '')
    throw new ConfigError(field, dir, 'must name a folder (an empty path would write into the current one)');
  const full = resolve(dir);
  let at = full;
  while (!existsSync(at)) {
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  const st = statSync(at);
  if (!st.isDirectory())
    throw new ConfigError(field, dir, `must be a folder: ${at} is a file${at === full ? '' : ' in the way'}`);
  const kernelFs = KERNEL_FS[Number(statfsSync(at).type)];
  if (kernelFs !== undefined) throw new ConfigError(field, dir, `must not be on ${kernelFs} (a kernel file system)`);
  try {
    accessSync(at, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'a read-only file system' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new ConfigError(field, dir, `must be writable: ${at} is not (${why})`);
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
