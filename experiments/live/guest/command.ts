// `live … --guest` and `validate --guest`: the same command, run inside a guest, its output
// folder brought back into --out with guest.json (what booted, how long, the host's load) and the
// guest's console beside it. The folder appears complete or not at all: its manifest comes last.
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MANIFEST, writeManifest, type Manifest } from '../../lib/folder.js';
import { GUEST_SHARE } from './initramfs.js';
import { runInGuest } from './qemu.js';

/** Runs `nfct-sim <args> --out <guest folder>` in guest `spec` and moves the folder to `out`; returns the exit code. */
export async function runCommandInGuest(
  spec: string,
  args: readonly string[],
  out: string,
  log: (line: string) => void,
): Promise<number> {
  const g = await runInGuest(spec, [...args, '--out', `${GUEST_SHARE}/result`], { shareParent: dirname(out), log });
  try {
    const result = join(g.share, 'result');
    if (g.rc !== 0 || !existsSync(result)) return g.rc === 0 ? 1 : g.rc;
    writeFileSync(
      join(result, 'guest.json'),
      `${JSON.stringify({ ...g.info, bootS: Math.round(g.bootS * 10) / 10, hostLoad: g.hostLoad }, null, 2)}\n`,
    );
    cpSync(join(g.share, 'console.log'), join(result, 'console.log'));
    const mpath = join(result, MANIFEST);
    if (existsSync(mpath)) {
      const m = JSON.parse(readFileSync(mpath, 'utf8')) as Manifest;
      writeManifest(result, m.kind, m.digest);
    }
    moveFolder(result, out);
    return 0;
  } finally {
    g.remove();
  }
}

/** Moves `from` to `to` (the caller has made sure `to` holds nothing of ours); the manifest last. */
function moveFolder(from: string, to: string): void {
  if (existsSync(to) && readdirSync(to).length === 0) rmdirSync(to);
  if (!existsSync(to)) {
    try {
      renameSync(from, to);
      return;
    } catch {
      // another file system: copy below
    }
  }
  for (const e of readdirSync(from))
    if (e !== MANIFEST) cpSync(join(from, e), join(to, e), { recursive: true, force: true });
  if (existsSync(join(from, MANIFEST))) cpSync(join(from, MANIFEST), join(to, MANIFEST));
}
