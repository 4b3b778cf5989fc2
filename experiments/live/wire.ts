// A small live capture for the fixture formats: in a namespace of its own, a raw listener that
// keeps every ctnetlink message's bytes and a real `conntrack -E` side by side, while UDP (IPv4
// and IPv6, unreplied), a TCP connection to a listening socket and a `conntrack -F` run. The
// bytes check the pcap encoder (models/kernel/ctnetlink-wire.ts), the lines the conntrack -E
// text (models/listeners/conntrack-e-text.ts). Record the fixture with
// `sudo node --import tsx experiments/live/wire.ts test/fixtures/wire/wire-6.18.json`.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { CONNTRACK, inNamespace, kernelRelease, requireLive, sleep, tool } from './host.js';

/** What the capture saw: each message's hex, in arrival order, and conntrack -E's stdout lines. */
export interface WireCapture {
  readonly kernel: string;
  readonly conntrackVersion: string;
  readonly loadavg: readonly number[];
  readonly messages: readonly string[];
  readonly conntrackE: readonly string[];
}

/** The traffic: ports outside the namespace's drop range (20000-60000) only where a reply is wanted. */
const TRAFFIC = `
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 61000))
for p in (30000, 30001, 30002): u.sendto(b'x', ('127.0.0.1', p))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(('::1', 61001)); u6.sendto(b'x', ('::1', 30010))
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(('127.0.0.1', 8080)); srv.listen(1)
c = socket.socket(); c.bind(('127.0.0.1', 61002)); c.connect(('127.0.0.1', 8080)); a, _ = srv.accept()
time.sleep(0.3)
`;

export async function captureWire(): Promise<WireCapture> {
  requireLive('wire', [CONNTRACK, ['stdbuf', 'coreutils']]);
  const version = (await execOut([tool('conntrack')!, '--version'])).trim();
  return inNamespace(async (ns) => {
    const raw = ns.listen(['--raw']);
    await raw.ready();
    const ce = spawn(tool('ip')!, ['netns', 'exec', ns.name, tool('stdbuf')!, '-oL', tool('conntrack')!, '-E'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (ce.pid !== undefined) ns.onHelper(ce.pid);
    let ceOut = '';
    ce.stdout.on('data', (d: Buffer) => (ceOut += d.toString()));
    const ceClosed = new Promise((res) => ce.on('close', res));
    await sleep(300); // conntrack -E has subscribed
    await ns.exec([tool('python3')!, '-c', TRAFFIC]);
    await sleep(200);
    await ns.exec([tool('conntrack')!, '-F']);
    await raw.quiet(400);
    ce.kill('SIGINT');
    await ceClosed;
    await raw.stop();
    return {
      kernel: kernelRelease(),
      conntrackVersion: version,
      loadavg: loadavg(),
      messages: raw.lines.filter((l) => l.kind === 'msg').map((l) => String(l.hex)),
      conntrackE: ceOut.split('\n').filter((l) => l.length > 0),
    };
  });
}

function execOut(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args[0]} exited ${code}`))));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const c = await captureWire();
  const out = process.argv[2];
  if (out) writeFileSync(out, JSON.stringify(c, null, 1) + '\n');
  else console.log(JSON.stringify(c, null, 1));
}
