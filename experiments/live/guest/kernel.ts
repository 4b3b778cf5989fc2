// Which kernel a guest boots, and where its image and modules are: a Debian kernel package,
// downloaded with `apt-get download` and unpacked with `dpkg -x` into a cache (nothing is
// installed on the host), or an image given by path with its modules beside it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../../sim/index.js';
import { tool } from '../host.js';

/** A kernel ready to boot. */
export interface GuestKernel {
  /** What was asked for and what it resolved to, as recorded (package and version, or the path). */
  readonly label: string;
  readonly image: string;
  /** `lib/modules/<release>` of that kernel, with modules.dep. */
  readonly modules: string;
  readonly release: string;
}

/** Where unpacked kernels and initramfs images are kept between runs (not temporary: reused). */
export const cacheDir = (): string =>
  process.env.NFCT_SIM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nfct-sim');

const need = (name: string, pkg: string, why: string): string => {
  const p = tool(name);
  if (p === undefined) throw new ConfigError('--guest', why, `needs ${name} (apt-get install ${pkg})`);
  return p;
};

const out = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/**
 * `debian` names the kernel of this Debian release (the package linux-image-amd64 depends on);
 * `linux-image-<release>` a Debian kernel package; anything else must be a kernel image file
 * named vmlinuz-<release> whose modules are in ../lib/modules/<release> (an unpacked package).
 */
export function resolveKernel(spec: string): GuestKernel {
  if (spec === 'debian' || spec.startsWith('linux-image-')) return debianKernel(spec);
  const image = resolve(spec);
  const m = /^vmlinuz-(.+)$/.exec(basename(image));
  if (!existsSync(image) || m === null)
    throw new ConfigError(
      '--guest',
      spec,
      'must be "debian", a Debian kernel package (linux-image-6.1.0-57-amd64) or a kernel image vmlinuz-<release> with ../lib/modules/<release> beside it',
    );
  const modules = join(dirname(image), '..', 'lib', 'modules', m[1]!);
  if (!existsSync(join(modules, 'modules.dep')))
    throw new ConfigError('--guest', spec, `needs its modules with modules.dep in ${modules} (run depmod -b)`);
  return { label: image, image, modules, release: m[1]! };
}

function debianKernel(spec: string): GuestKernel {
  const apt = need('apt-get', 'apt', spec);
  const dpkg = need('dpkg', 'dpkg', spec);
  const depmod = need('depmod', 'kmod', spec);
  let pkg = spec;
  if (spec === 'debian') {
    const dep = /Depends: (linux-image-\S+)/.exec(
      out(need('apt-cache', 'apt', spec), ['depends', 'linux-image-amd64']),
    );
    if (!dep) throw new ConfigError('--guest', spec, 'needs apt to know linux-image-amd64 (apt-get update)');
    pkg = dep[1]!;
  }
  const release = pkg.slice('linux-image-'.length);
  let version: string;
  try {
    version = /Candidate: (\S+)/.exec(out(need('apt-cache', 'apt', spec), ['policy', pkg]))?.[1] ?? '(none)';
  } catch {
    version = '(none)';
  }
  if (version === '(none)')
    throw new ConfigError('--guest', spec, `is not a kernel package apt can download here (apt-cache policy ${pkg})`);
  const dir = join(cacheDir(), 'guest', `${pkg}_${version}`);
  const root = join(dir, 'root');
  if (!existsSync(join(root, 'lib', 'modules', release, 'modules.dep'))) {
    // Unpacked next to its final place and renamed, so an interrupted download leaves no half cache.
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      execFileSync(apt, ['download', `${pkg}=${version}`], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'))!;
      execFileSync(dpkg, ['-x', deb, 'root'], { cwd: tmp });
      rmSync(join(tmp, deb));
      execFileSync(depmod, ['-b', join(tmp, 'root'), release]);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dirname(dir), { recursive: true });
      renameSync(tmp, dir);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw new ConfigError(
        '--guest',
        spec,
        `could not be downloaded and unpacked: ${(e as Error).message.split('\n')[0]}`,
      );
    }
  }
  return {
    label: `${pkg} ${version}`,
    image: join(root, 'boot', `vmlinuz-${release}`),
    modules: join(root, 'lib', 'modules', release),
    release,
  };
}
