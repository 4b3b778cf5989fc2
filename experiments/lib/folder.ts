// Results folders: a folder belongs to one run (its digest), is complete only when its manifest
// says so, and is never mixed with another run's files.
//
// - Every task file carries the run's digest (sha256 of the resolved parameters, the seed and the
//   package version); `--resume` takes only tasks of the same digest and refuses a folder that
//   belongs to another run.
// - A run into a folder that holds files refuses unless `--resume` or `--force`; `--force`
//   removes what nfct-sim wrote there (the files its manifest lists and the names a run writes)
//   and nothing else.
// - `manifest.json` is written last: every file with its size and sha256, the digest and
//   `"status": "complete"`. `report`, `merge` and `compare` refuse folders without it.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from '../../sim/index.js';
import { writeAtomic } from './output.js';

export const MANIFEST = 'manifest.json';

/** What manifest.json holds. */
export interface Manifest {
  readonly status: 'complete';
  /** What wrote the folder: a run, one shard of a run, or a live/simulated scenario. */
  readonly kind: 'run' | 'shard' | 'live';
  readonly digest: string;
  readonly files: readonly { path: string; bytes: number; sha256: string }[];
}

/** sha256 of a value's JSON (keys in the order given). */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Files below `dir`, relative to it, sorted. */
function filesBelow(dir: string, sub = ''): string[] {
  if (!existsSync(join(dir, sub))) return [];
  return readdirSync(join(dir, sub))
    .sort()
    .flatMap((n) => {
      const p = join(sub, n);
      return statSync(join(dir, p)).isDirectory() ? filesBelow(dir, p) : [p];
    });
}

/** Names a run, a shard or a live scenario writes (used by --force when no manifest lists them). */
const OWN =
  /^(params\.json|results\.csv|summary\.csv|series\.csv|summary\.md|scenario\.json|guest\.json|console\.log|comparison\.(csv|svg)|index\.html|shard-\d+-of-\d+\.json|[\w-]+\.(svg|vl\.json|csv)|tasks\/\d+\.json)(\.tmp)?$/;

/**
 * Makes `dir` ready for a run with `digest`: refuses a folder holding files unless `resume` (the
 * files must then belong to the same run) or `force` (our files are removed first).
 */
export function claimFolder(
  dir: string,
  digest: string,
  o: { resume: boolean; force: boolean; forceFlag?: string },
): void {
  const forceFlag = o.forceFlag ?? '--force';
  const present = filesBelow(dir);
  if (present.length === 0) return;
  if (o.force) {
    // What the manifest lists, and anything else of the names a run writes (a torn task file).
    const listed = readManifest(dir)?.files.map((f) => f.path) ?? [];
    for (const f of new Set([...listed, ...present.filter((p) => OWN.test(p)), MANIFEST]))
      rmSync(join(dir, f), { force: true });
    return;
  }
  if (!o.resume)
    throw new ConfigError(
      'out',
      dir,
      `is not empty (${present.length} files, e.g. ${present[0]}): ${o.forceFlag === undefined ? 'use --resume to complete the run in it, ' : 'use '}${forceFlag} to replace what nfct-sim wrote there, or another --out`,
    );
  const foreign = present.filter((p) => /^tasks\/\d+\.json$/.test(p) && taskDigest(join(dir, p)) !== digest);
  const params = join(dir, 'params.json');
  const paramsDigest = existsSync(params)
    ? (JSON.parse(readFileSync(params, 'utf8')) as { digest?: string }).digest
    : digest;
  if (foreign.length > 0 || paramsDigest !== digest)
    throw new ConfigError(
      'resume',
      dir,
      `holds another run (${foreign.length > 0 ? `${foreign.length} task files of digest ${taskDigest(join(dir, foreign[0]!))?.slice(0, 12)}` : `params.json of digest ${String(paramsDigest).slice(0, 12)}`}, this run is ${digest.slice(0, 12)}): use another --out, or ${forceFlag} to replace it`,
    );
}

function taskDigest(path: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { digest?: string }).digest;
  } catch {
    return undefined; // a torn or foreign file: not this run's
  }
}

/** Writes manifest.json, listing every file nfct-sim wrote into `dir` (a user's own files are not its). */
export function writeManifest(dir: string, kind: Manifest['kind'], digest: string): void {
  const files = filesBelow(dir)
    .filter((p) => p !== MANIFEST && !p.endsWith('.tmp') && OWN.test(p))
    .map((p) => ({ path: p, bytes: statSync(join(dir, p)).size, sha256: sha256(join(dir, p)) }));
  const m: Manifest = { status: 'complete', kind, digest, files };
  writeAtomic(join(dir, MANIFEST), `${JSON.stringify(m, null, 2)}\n`);
}

function readManifest(dir: string): Manifest | undefined {
  const p = join(dir, MANIFEST);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/**
 * The manifest of a complete folder of `kind`; a ConfigError naming `field` says what is missing
 * (no manifest: the run did not finish; a listed file missing or changed).
 */
export function requireComplete(field: string, dir: string, kinds: readonly Manifest['kind'][]): Manifest {
  const m = readManifest(dir);
  if (m === undefined || m.status !== 'complete')
    throw new ConfigError(
      field,
      dir,
      `is not a complete nfct-sim folder: no ${MANIFEST} (the run that wrote it did not finish, or it is not an nfct-sim folder)`,
    );
  if (!kinds.includes(m.kind))
    throw new ConfigError(field, dir, `holds a ${m.kind} folder; this needs ${kinds.join(' or ')}`);
  for (const f of m.files) {
    const p = join(dir, f.path);
    if (!existsSync(p))
      throw new ConfigError(field, dir, `is incomplete: ${f.path} is listed in ${MANIFEST} but missing`);
    if (statSync(p).size !== f.bytes || sha256(p) !== f.sha256)
      throw new ConfigError(field, dir, `is altered: ${relative(dir, p)} differs from ${MANIFEST}`);
  }
  return m;
}
