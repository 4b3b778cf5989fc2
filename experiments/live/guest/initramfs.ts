// The guest's initramfs: a static busybox, the kernel modules the live runner needs (with their
// dependencies, in load order, from modules.dep) and an init that mounts the host's own root
// file system read-only over 9p, gives it a fresh /run (the shared folder and TMPDIR are there)
// and /dev, and runs the job the host left in the shared folder. Nothing of the host is written
// but that folder.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../../../sim/index.js';
import { tool } from '../host.js';
import { cacheDir, type GuestKernel } from './kernel.js';

/**
 * Loaded before the job runs: 9p over virtio for the root, conntrack with ctnetlink, nf_tables
 * with the ct expression (the runner's ruleset), veth and netem for two-namespace cases. The guest
 * cannot modprobe (the host's root has no modules of this kernel), so everything is here.
 */
export const GUEST_MODULES = [
  // libcrc32c (conntrack's dependency) asks the crypto API for crc32c, which would autoload it.
  'crc32c_generic',
  'virtio_pci',
  '9pnet_virtio',
  '9p',
  'nf_conntrack',
  'nf_conntrack_netlink',
  'nf_tables',
  'nft_ct',
  'veth',
  'sch_netem',
] as const;

/** Mount tags of the 9p shares. */
export const TAG = { root: 'hostroot', share: 'share' } as const;
/**
 * Where the shared folder appears inside the guest, and the guest's TMPDIR: both on a fresh
 * tmpfs at /run. The host's /tmp stays visible (read-only), since the package itself may live
 * there (a CI clone does).
 */
export const GUEST_SHARE = '/run/nfct-sim-share';
export const GUEST_TMPDIR = '/run/tmp';

/** The module files to load, dependencies first, each once. */
export function moduleOrder(modulesDep: string, wanted: readonly string[]): string[] {
  const deps = new Map<string, string[]>();
  const byName = new Map<string, string>();
  for (const line of modulesDep.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    deps.set(m[1]!, m[2]!.split(/\s+/).filter(Boolean));
    byName.set(
      basename(m[1]!)
        .replace(/\.ko(\.[a-z]+)?$/, '')
        .replace(/-/g, '_'),
      m[1]!,
    );
  }
  const order: string[] = [];
  const visit = (file: string): void => {
    if (order.includes(file)) return;
    for (const d of deps.get(file) ?? []) visit(d);
    order.push(file);
  };
  for (const w of wanted) {
    const f = byName.get(w.replace(/-/g, '_'));
    if (f === undefined) throw new ConfigError('--guest', w, 'is a kernel module this guest kernel does not have');
    visit(f);
  }
  return order;
}

/** True when the ELF file at `path` has no program interpreter (is statically linked). */
export function isStatic(path: string): boolean {
  const b = readFileSync(path);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // not a 64-bit ELF
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  return true;
}

const init = (loads: string[]): string => `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
${loads.map((m) => `r=$(insmod /mods/${basename(m)} 2>&1) || echo "nfct-sim-guest: insmod ${basename(m)}: $r"`).join('\n')}
R=/newroot
O=trans=virtio,version=9p2000.L,msize=512000
# cache=loose: the root is read-only for the guest's whole life, so caching it is safe, and it
# makes Node's start 7x faster than uncached 9p under TCG.
mount -t 9p -o $O,ro,cache=loose ${TAG.root} $R || echo "nfct-sim-guest: cannot mount the host root"
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts devpts $R/dev/pts; mount -t tmpfs shm $R/dev/shm
mount -t tmpfs run $R/run
mkdir -p $R${GUEST_TMPDIR} $R${GUEST_SHARE}; mount -t 9p -o $O ${TAG.share} $R${GUEST_SHARE}
echo "nfct-sim-guest: up $(cat /proc/uptime)"
chroot $R /bin/sh ${GUEST_SHARE}/job.sh
poweroff -f
`;

/**
 * The initramfs for `kernel` (built once per kernel and init, then taken from the cache).
 * Needs a static busybox (busybox-static) and cpio.
 */
export function initramfs(kernel: GuestKernel): string {
  const busybox = '/bin/busybox';
  if (!existsSync(busybox) || !isStatic(busybox))
    throw new ConfigError('--guest', kernel.label, 'needs a static /bin/busybox (apt-get install busybox-static)');
  const cpio = tool('cpio');
  if (cpio === undefined) throw new ConfigError('--guest', kernel.label, 'needs cpio (apt-get install cpio)');
  const loads = moduleOrder(readFileSync(join(kernel.modules, 'modules.dep'), 'utf8'), GUEST_MODULES);
  const script = init(loads);
  const key = createHash('sha256')
    .update(kernel.image)
    .update(script)
    .update(readFileSync(busybox))
    .digest('hex')
    .slice(0, 16);
  const file = join(cacheDir(), 'guest', `initramfs-${kernel.release}-${key}.cpio.gz`);
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp-${process.pid}`;
  const tree = `${tmp}.d`;
  try {
    for (const d of ['bin', 'mods', 'proc', 'sys', 'dev', 'newroot']) mkdirSync(join(tree, d), { recursive: true });
    copyFileSync(busybox, join(tree, 'bin', 'busybox'));
    for (const m of loads) copyFileSync(join(kernel.modules, m), join(tree, 'mods', basename(m)));
    writeFileSync(join(tree, 'init'), script, { mode: 0o755 });
    const files = execFileSync('find', ['.'], { cwd: tree, encoding: 'utf8' });
    const archive = execFileSync(cpio, ['-o', '-H', 'newc', '--quiet'], {
      cwd: tree,
      input: files,
      maxBuffer: 1 << 30,
    });
    writeFileSync(tmp, gzipSync(archive, { level: 1 }));
    renameSync(tmp, file);
  } finally {
    rmSync(tree, { recursive: true, force: true });
    rmSync(tmp, { force: true });
  }
  return file;
}
