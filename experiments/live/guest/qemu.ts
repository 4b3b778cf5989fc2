// Runs one nfct-sim command inside a QEMU guest booted on another kernel. The guest sees the
// host's root file system read-only (so it runs this very package, its Node and Python, the host's
// nft and conntrack) and one shared folder it may write; the command's output folder is made
// there and handed back. The guest process and the shared folder are removed when the command
// ends, fails, or the host run is interrupted (SIGINT, SIGTERM).
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus as hostCpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../sim/index.js';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT as ROOT_URL } from '../../lib/runner.js';
import { tool } from '../host.js';
import { GUEST_ENV, type GuestInfo } from './env.js';
import { GUEST_SHARE, GUEST_TMPDIR, TAG, initramfs } from './initramfs.js';
import { resolveKernel, type GuestKernel } from './kernel.js';

const PACKAGE_ROOT = fileURLToPath(ROOT_URL);

/** The guest machine: emulated (KVM guests hang early in boot on these VMs), 2 CPUs, 2 GiB. */
export const MACHINE = { accel: 'tcg', cpus: 2, memoryMiB: 2048 } as const;

/** What a guest run brings back besides the command's own output. */
export interface GuestRun {
  readonly rc: number;
  /** The shared folder; the caller takes what it needs and then calls `remove()`. */
  readonly share: string;
  readonly info: GuestInfo;
  readonly bootS: number;
  readonly hostLoad: { start: number[]; end: number[]; cpus: number };
  remove(): void;
}

const qemuBinary = (label: string): string => {
  const q = tool('qemu-system-x86_64');
  if (q === undefined)
    throw new ConfigError('--guest', label, 'needs qemu-system-x86_64 (apt-get install qemu-system-x86)');
  return q;
};

/** Why a guest cannot be booted here (missing programs), or undefined. Touches nothing. */
export function guestUnavailable(): string | undefined {
  for (const [name, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['cpio', 'cpio'],
    ['depmod', 'kmod'],
    ['apt-get', 'apt'],
  ] as const)
    if (tool(name) === undefined) return `needs ${name} (apt-get install ${pkg})`;
  if (!existsSync('/bin/busybox')) return 'needs /bin/busybox (apt-get install busybox-static)';
  return undefined;
}

/** Newest modification time of the TypeScript sources below `dir`. */
function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Where a source checkout compiles the guest's copy (not dist/: `npm pack` rebuilds that). */
const GUEST_BUILD = '.guest-build';

/**
 * The compiled CLI the guest runs (plain Node: TypeScript compiled on the fly costs a minute per
 * start on an emulated CPU). An installed package has dist/; a source checkout compiles into
 * .guest-build/ when a source is newer, into a temporary folder renamed into place (so two runs
 * at once never see half a build).
 */
export function compiledCli(): string {
  const tsconfig = join(PACKAGE_ROOT, 'tsconfig.build.json');
  if (!existsSync(tsconfig)) {
    const dist = join(PACKAGE_ROOT, 'dist', 'experiments', 'cli.js');
    if (!existsSync(dist)) throw new ConfigError('--guest', PACKAGE_ROOT, 'needs the compiled package (npm run build)');
    return dist;
  }
  const dir = join(PACKAGE_ROOT, GUEST_BUILD);
  const cli = join(dir, 'experiments', 'cli.js');
  const newest = Math.max(...['api', 'sim', 'models', 'experiments'].map((d) => newestSource(join(PACKAGE_ROOT, d))));
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest) return cli;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const tsc = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(
      process.execPath,
      [
        tsc,
        '-p',
        tsconfig,
        '--outDir',
        tmp,
        '--declaration',
        'false',
        '--declarationMap',
        'false',
        '--sourceMap',
        'false',
      ],
      { cwd: PACKAGE_ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    for (const f of ['sim/process-entry.mjs', 'experiments/live/listener.py'])
      cpSync(join(PACKAGE_ROOT, f), join(tmp, f));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    if (!existsSync(cli)) throw e; // another run put its build in place first: use that
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return cli;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Boots `spec` and runs `nfct-sim <args>` inside (args naming guest paths under GUEST_SHARE).
 * The guest's console after boot is passed to `log` line by line (kernel messages left out).
 */
export async function runInGuest(
  spec: string,
  args: readonly string[],
  o: { shareParent: string; log: (line: string) => void; timeoutS?: number },
): Promise<GuestRun> {
  const why = guestUnavailable();
  if (why) throw new ConfigError('--guest', spec, `cannot boot a guest here: it ${why}`);
  const qemu = qemuBinary(spec);
  const kernel: GuestKernel = resolveKernel(spec);
  const initrd = initramfs(kernel);
  const cli = compiledCli();
  const info: GuestInfo = {
    kernel: kernel.label,
    accel: MACHINE.accel,
    cpus: MACHINE.cpus,
    memoryMiB: MACHINE.memoryMiB,
    qemu: execFileSync(qemu, ['--version'], { encoding: 'utf8' }).split('\n')[0]!,
  };
  // Everything is checked; from here on things are created (and removed again).
  mkdirSync(o.shareParent, { recursive: true });
  const share = mkdtempSync(join(o.shareParent, '.nfct-sim-guest-'));
  const remove = (): void => rmSync(share, { recursive: true, force: true });
  writeFileSync(
    join(share, 'run.mjs'),
    `import { main } from ${JSON.stringify(cli)};\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  writeFileSync(
    join(share, 'job.sh'),
    [
      `export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=${GUEST_TMPDIR} ${GUEST_ENV}=${shellQuote(JSON.stringify(info))}`,
      `cd ${shellQuote(PACKAGE_ROOT)}`,
      `node ${GUEST_SHARE}/run.mjs ${args.map(shellQuote).join(' ')} </dev/null`,
      `echo $? > ${GUEST_SHARE}/rc`,
      '',
    ].join('\n'),
  );
  const argv = [
    ...['-accel', MACHINE.accel, '-m', String(MACHINE.memoryMiB), '-smp', String(MACHINE.cpus)],
    ...['-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-net', 'none'],
    ...['-kernel', kernel.image, '-initrd', initrd, '-append', 'console=ttyS0 quiet panic=-1'],
    '-virtfs',
    `local,path=/,mount_tag=${TAG.root},security_model=none,readonly=on,multidevs=remap`,
    '-virtfs',
    `local,path=${share},mount_tag=${TAG.share},security_model=none`,
  ];
  const hostLoadStart = loadavg();
  const t0 = Date.now();
  let bootS = NaN;
  const child = spawn(qemu, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = (sig: NodeJS.Signals): void => {
    child.kill('SIGKILL');
    remove();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = setTimeout(() => child.kill('SIGKILL'), (o.timeoutS ?? 6 * 3600) * 1000);
  let up = false;
  let pending = '';
  const consoleLines: string[] = [];
  const onData = (d: Buffer): void => {
    pending += d.toString('utf8');
    const lines = pending.split(/\r?\n/);
    pending = lines.pop()!;
    for (const raw of lines) {
      // SeaBIOS draws with escape sequences; the kernel's own lines start with a timestamp.
      const line = raw.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, '');
      consoleLines.push(line);
      if (line.startsWith('nfct-sim-guest: up')) {
        up = true;
        bootS = (Date.now() - t0) / 1000;
      } else if (line.startsWith('nfct-sim-guest:')) o.log(line);
      else if (up && !/^\[\s*\d+\.\d+\]/.test(line)) o.log(line);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', (d: Buffer) => consoleLines.push(d.toString('utf8')));
  const exit = await new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
  clearTimeout(timer);
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
  writeFileSync(join(share, 'console.log'), consoleLines.join('\n') + '\n');
  const rcFile = join(share, 'rc');
  const rc = existsSync(rcFile) ? Number(readFileSync(rcFile, 'utf8').trim()) : -1;
  if (!up || rc === -1) {
    const tail = consoleLines.slice(-15).join('\n');
    remove();
    throw new Error(
      `the guest (${kernel.label}) ${up ? 'stopped before the command finished' : 'did not boot'} (qemu exit ${exit}); its console ended with:\n${tail}`,
    );
  }
  return {
    rc,
    share,
    info,
    bootS,
    hostLoad: { start: hostLoadStart, end: loadavg(), cpus: hostCpus().length },
    remove,
  };
}
