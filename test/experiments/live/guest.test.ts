// The guest runner (experiments/live/guest/): module load order, the static-busybox check, kernel
// resolution and its refusals, what an emulated guest's comparison judges, and — where this
// machine has root, QEMU, busybox-static, cpio, kmod and apt — a real boot of Debian's kernel that
// measures one capacity case and leaves nothing behind, also when it is killed mid-run.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../sim/index.js';
import { isStatic, moduleOrder } from '../../../experiments/live/guest/initramfs.js';
import { resolveKernel } from '../../../experiments/live/guest/kernel.js';
import { guestUnavailable } from '../../../experiments/live/guest/qemu.js';
import { compareResults } from '../../../experiments/live/compare.js';
import { presetForRelease } from '../../../experiments/live/twin.js';
import { validationSet } from '../../../experiments/live/validate.js';
import { readRunDir } from '../../../experiments/live/dir.js';
import { simulatedCapacity } from '../../../experiments/live/capacity.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'nfct-guest-'));
const CLI = new URL('../../../experiments/cli.ts', import.meta.url).pathname;
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 600_000 });

test('moduleOrder: dependencies before the module, each file once, names with - or _ alike', (t) => {
  const dep = [
    'kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko',
    'kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko:',
    'kernel/lib/libcrc32c.ko:',
    'kernel/net/netfilter/nf_conntrack_netlink.ko: kernel/net/netfilter/nf_conntrack.ko kernel/net/netfilter/nfnetlink.ko',
    'kernel/net/netfilter/nfnetlink.ko:',
    'kernel/fs/9p/9p.ko:',
  ].join('\n');
  t.deepEqual(moduleOrder(dep, ['nf-conntrack-netlink', 'nf_conntrack', '9p']), [
    'kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko',
    'kernel/lib/libcrc32c.ko',
    'kernel/net/netfilter/nf_conntrack.ko',
    'kernel/net/netfilter/nfnetlink.ko',
    'kernel/net/netfilter/nf_conntrack_netlink.ko',
    'kernel/fs/9p/9p.ko',
  ]);
  t.throws(() => moduleOrder(dep, ['nft_ct']), {
    instanceOf: ConfigError,
    message: '--guest = "nft_ct": is a kernel module this guest kernel does not have',
  });
});

/** A 64-bit little-endian ELF header with `types` as its program headers' p_type. */
function elf(types: number[]): string {
  const b = Buffer.alloc(64 + 56 * types.length);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // ELFCLASS64
  b.writeBigUInt64LE(64n, 0x20); // e_phoff
  b.writeUInt16LE(56, 0x36); // e_phentsize
  b.writeUInt16LE(types.length, 0x38); // e_phnum
  types.forEach((ty, i) => b.writeUInt32LE(ty, 64 + 56 * i));
  const p = join(tmp(), 'elf');
  writeFileSync(p, b);
  return p;
}

test('isStatic: an ELF without PT_INTERP is static, one with it (the last header, or Node itself) is not; a script is not', (t) => {
  t.true(isStatic(elf([1, 1])));
  t.true(isStatic(elf([])));
  t.false(isStatic(elf([1, 3]))); // PT_INTERP as the last header
  t.false(isStatic(process.execPath));
  const script = join(tmp(), 's.sh');
  writeFileSync(script, '#!/bin/sh\n');
  t.false(isStatic(script));
});

test('resolveKernel: a path must be vmlinuz-<release> with ../lib/modules/<release>/modules.dep; each refusal names --guest', (t) => {
  const root = tmp();
  mkdirSync(join(root, 'boot'));
  const image = join(root, 'boot', 'vmlinuz-9.9.9-test');
  writeFileSync(image, '');
  t.throws(() => resolveKernel(join(root, 'boot', 'nope')), {
    instanceOf: ConfigError,
    message: /^--guest = ".*nope": must be "debian"/,
  });
  t.throws(() => resolveKernel(image), {
    instanceOf: ConfigError,
    message: /^--guest = ".*vmlinuz-9\.9\.9-test": needs its modules with modules\.dep in .*lib\/modules\/9\.9\.9-test/,
  });
  mkdirSync(join(root, 'lib', 'modules', '9.9.9-test'), { recursive: true });
  writeFileSync(join(root, 'lib', 'modules', '9.9.9-test', 'modules.dep'), '');
  t.like(resolveKernel(image), { image, release: '9.9.9-test' });
});

test('presetForRelease: 6.1.x (Debian 12) is linux-6.1; 6.10 and 6.18 are not', (t) => {
  t.is(presetForRelease('6.1.0-57-amd64'), 'linux-6.1');
  t.is(presetForRelease('6.1.192'), 'linux-6.1');
  t.is(presetForRelease('6.18.44-fc-v1098'), 'linux-6.18');
  t.is(presetForRelease('6.10.3'), 'linux-6.18');
  t.is(presetForRelease('6.1'), 'linux-6.18'); // no point release: not a kernel release string
});

test('validationSet: --cases keeps the named cases in the set order; an unknown name is refused with the list', (t) => {
  t.deepEqual(
    validationSet(false, ['exhaustion', 'capacity']).map((c) => c.name),
    ['capacity', 'exhaustion'],
  );
  t.deepEqual(validationSet(true, ['expiry-5']), []); // quick and a slow case: nothing
  t.throws(() => validationSet(false, ['capacity', 'flush-1']), {
    instanceOf: ConfigError,
    message:
      /^--cases = "flush-1": must be one of capacity, capacity-above-rmem-max, flush-2000-1024f, .*exhaustion, .*sync-ftfw-10, machine-calibration, .*machine-news-max$/,
  });
});

test('an emulated guest judges only what timers and buffer accounting set: reader-bound flush figures become observed', (t) => {
  const row = (o: Record<string, number>) => ({ entries: 100, buffer: 106496, force: 1, delay_us: 0, ...o });
  const rows = [
    row({ reliable: 1, destroys: 100, enobufs: 5, later_burst: 83, period_ms: 16, last_after_first_ms: 900 }),
  ];
  const params = { entries: 100, buffer: 106496, force: true, reliable: true, delayUs: 0 };
  const kinds = (guest?: { accel: 'tcg' | 'kvm' }) =>
    Object.fromEntries(
      compareResults('flush', rows, rows, {
        params,
        guest: guest && { ...guest, kernel: 'k', cpus: 2, memoryMiB: 1, qemu: 'q' },
      }).map((f) => [f.figure, f.kind]),
    );
  t.like(kinds(), { destroys: 'count', enobufs: 'count', later_burst: 'count', last_after_first_ms: 'time' });
  t.like(kinds({ accel: 'kvm' }), { last_after_first_ms: 'time' });
  t.like(kinds({ accel: 'tcg' }), {
    destroys: 'count',
    enobufs: 'observed',
    later_burst: 'observed',
    last_after_first_ms: 'observed',
  });
  // 16 messages of 1280 bytes per round and below: the reader keeps up, so the figure is judged.
  const small = { ...params, buffer: 8192, force: false };
  const f = compareResults(
    'flush',
    rows.map((r) => ({ ...r, buffer: 8192, force: 0 })),
    rows.map((r) => ({ ...r, buffer: 8192, force: 0 })),
    {
      params: small,
      guest: { accel: 'tcg', kernel: 'k', cpus: 2, memoryMiB: 1, qemu: 'q' },
    },
  );
  t.is(f.find((x) => x.figure === 'last_after_first_ms')!.kind, 'time');
  t.is(
    compareResults('flush', rows, rows, {
      params: { ...small, buffer: 10241 },
      guest: { accel: 'tcg', kernel: 'k', cpus: 2, memoryMiB: 1, qemu: 'q' },
    }).find((x) => x.figure === 'period_ms')!.kind,
    'observed',
  );
});

test('bad --guest input: one line naming the field, exit 2, nothing created', (t) => {
  const out = join(tmp(), 'never');
  for (const args of [
    ['live', 'capacity', '--guest', '/nonexistent/vmlinuz-1', '--out', out],
    ['live', 'capacity', '--guest', 'debian', '--simulate', '--out', out],
    ['live', 'capacity', '--simulate', '--preset', 'linux-9', '--out', out],
    ['validate', '--predict', '--out', out],
    ['validate', '--cases', 'nope', '--out', out],
  ]) {
    const r = cli(...args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, /^nfct-sim: (--guest|--preset|preset|--predict|--cases) = .*\n$/, args.join(' '));
    t.false(existsSync(out), args.join(' '));
  }
  // A guest validation refuses a folder with anything in it, before booting; the file stays alone.
  const busy = tmp();
  writeFileSync(join(busy, 'mine.txt'), 'x');
  const r = cli('validate', '--guest', 'debian', '--out', busy);
  t.is(r.status, 2);
  t.regex(r.stderr, /^nfct-sim: --out = ".*": must be an empty or new folder/);
  t.deepEqual(readdirSync(busy), ['mine.txt']);
});

// The real thing: only as root with everything a guest needs (see .ci/run).
/** Why Debian's kernel package cannot be had here (apt knows no candidate for linux-image-amd64). */
function kernelUnavailable(): string | undefined {
  const r = spawnSync('apt-cache', ['policy', 'linux-image-amd64'], { encoding: 'utf8' });
  const candidate = /Candidate: (\S+)/.exec(r.stdout ?? '')?.[1];
  return candidate === undefined || candidate === '(none)'
    ? 'has no linux-image-amd64 candidate in apt (apt-get update)'
    : undefined;
}
const why = process.getuid?.() !== 0 ? 'needs root' : (guestUnavailable() ?? kernelUnavailable());
const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('.nfct-sim-guest-'));
/** A QEMU of ours whose shared folder is below `parent` (other guests on the machine do not count). */
const qemuRunning = (parent: string): boolean =>
  spawnSync('pgrep', ['-f', `qemu-system-x86_64.*${parent}/`]).status === 0;

(why === undefined ? test.serial : test.skip)(
  `guest smoke test: Debian's kernel boots under TCG, measures capacity for two buffers exactly as linux-6.1 predicts, and leaves nothing behind${why ? ` (skipped: this machine ${why})` : ''}`,
  (t) => {
    const parent = tmp();
    const out = join(parent, 'cap');
    const r = cli(
      'live',
      'capacity',
      '--guest',
      'debian',
      '--repeats',
      '1',
      '--buffers',
      '2048,212992',
      '--flows',
      '400',
      '--out',
      out,
    );
    t.is(r.status, 0, r.stderr + r.stdout);
    const run = readRunDir(out); // complete: the manifest lists guest.json and console.log too
    t.regex(run.info.system, /^6\.1\.\d+/);
    t.is(run.info.guest?.accel, 'tcg');
    t.regex(run.info.guest?.kernel ?? '', /^linux-image-6\.1\.\S+ 6\.1\.\d+/);
    const g = JSON.parse(readFileSync(join(out, 'guest.json'), 'utf8')) as {
      bootS: number;
      hostLoad: { start: number[] };
    };
    t.true(g.bootS > 0 && g.hostLoad.start.length === 3);
    t.true(readFileSync(join(out, 'console.log'), 'utf8').includes('nfct-sim-guest: up'));
    for (const row of run.results) {
      const s = simulatedCapacity(Number(row.requested_bytes), 'linux-6.1');
      t.is(row.held_events, s.held, `held at ${row.requested_bytes}`);
      t.is(row.rcvbuf_bytes, s.rcvbuf);
    }
    t.deepEqual(leftovers(parent), []);
    t.false(qemuRunning(parent));
  },
);

(why === undefined ? test.serial : test.skip)(
  `guest run killed with SIGTERM while the guest runs: the QEMU process and the shared folder are gone, --out not written${why ? ` (skipped: this machine ${why})` : ''}`,
  async (t) => {
    const parent = tmp();
    const out = join(parent, 'flush');
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'live', 'flush', '--guest', 'debian', '--entries', '20000', '--out', out],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Wait until the guest is up (the share exists and QEMU runs), then stop the host process.
    for (let i = 0; i < 600 && !(leftovers(parent).length && qemuRunning(parent)); i++)
      await new Promise((r) => setTimeout(r, 200));
    t.true(qemuRunning(parent), 'the guest started');
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((res) => p.on('exit', (c) => res(c)));
    t.is(code, 143);
    for (let i = 0; i < 50 && qemuRunning(parent); i++) await new Promise((r) => setTimeout(r, 100));
    t.false(qemuRunning(parent));
    t.deepEqual(leftovers(parent), []);
    t.false(existsSync(out));
  },
);
