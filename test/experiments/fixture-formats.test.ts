// The fixture formats against the real things: the conntrack -E text against what a live
// conntrack -E printed for the same messages, a simulated twin of the live capture's UDP flows
// against the live bytes, and the pcap decoded by Wireshark's tshark against the JSON Lines.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CtEvent } from '../../models/kernel/events.js';
import { conntrackLine } from '../../models/listeners/conntrack-e-text.js';
import { parseScenario, type ScenarioConfig } from '../../models/scenario.js';
import { namedScenario } from '../../models/scenarios.js';
import { DEFAULT_READER } from '../../models/listeners/config.js';
import { DEFAULT_WORKLOAD } from '../../models/workloads/flows.js';
import { fixtureScenario, type FixtureLine } from '../../experiments/fixture.js';
import { decodeEvent, eventOf } from '../helpers/netlink-decode.js';
import { captureWire, type WireCapture } from '../../experiments/live/wire.js';
import { liveUnavailable, tool } from '../../experiments/live/host.js';

const LIVE = JSON.parse(
  readFileSync(new URL('../fixtures/wire/wire-6.18.json', import.meta.url), 'utf8'),
) as WireCapture;
const PROTOINFO = 1 << 3;
const tmp = (): string => mkdtempSync(join(tmpdir(), 'nfct-fx-'));

/** The recorded messages as events (what the text is printed from). */
function events(c: WireCapture): { ev: CtEvent; d: ReturnType<typeof decodeEvent> }[] {
  return c.messages.map((hex) => {
    const d = decodeEvent(hex);
    return { ev: eventOf(d, PROTOINFO), d };
  });
}

/** conntrack -E's lines without the progname it resolves from the live process table. */
const withoutProgname = (lines: readonly string[]): string[] => lines.map((l) => l.replace(/ progname=\S+$/, ''));

function checkText(t: import('ava').ExecutionContext, c: WireCapture): void {
  const ours = events(c).map(({ ev, d }) => conntrackLine(ev, d.orig, PROTOINFO, true));
  t.deepEqual(ours, withoutProgname(c.conntrackE));
}

test('conntrack -E text: every line a live conntrack -E 1.4.7 printed on 6.18, from the same messages', (t) => {
  t.is(LIVE.conntrackE.length, LIVE.messages.length);
  checkText(t, LIVE);
});

test("a simulated twin of the capture's IPv4 UDP flows sends the live bytes but for CTA_ID and the portid", (t) => {
  const sc: ScenarioConfig = {
    preset: 'linux-6.18',
    kernel: {},
    netlink: {},
    listeners: [
      {
        kind: 'raw',
        groups: [1, 2, 3],
        broadcastError: false,
        noEnobufs: false,
        rcvbufBytes: 0,
        force: false,
        reader: DEFAULT_READER,
      },
    ],
    workloads: [
      {
        ...DEFAULT_WORKLOAD,
        arrivals: 'constant',
        rateHz: 1000,
        flows: 3,
        stopS: 1,
        replyProb: 0,
        addresses: {
          family: 'ipv4',
          src: '127.0.0.1/32',
          dst: '127.0.0.1/32',
          sport: [61000, 61000],
          dport: [30000, 30002],
        },
      },
    ],
    actions: [{ atS: 0.5, kind: 'flush' }],
    durationS: 2,
    sampleMs: 0,
  };
  const out = tmp();
  fixtureScenario(parseScenario(sc), 1, out, 'pcap');
  const sim = pcapMessages(readFileSync(join(out, 'listener-raw-0.pcap')));
  // The same CTA_ID and portid on both sides, so that every other byte must agree.
  const mask = (hex: string): string => {
    const d = decodeEvent(hex);
    const b = Buffer.from(hex, 'hex');
    b.writeUInt32LE(0, 12);
    b.writeUInt32BE(0, b.indexOf(Buffer.from([8, 0, 12, 0]), 20) + 4);
    return `${d.orig.dport}/${d.msgType}:${b.toString('hex')}`;
  };
  const live = LIVE.messages.filter((h) => {
    const d = decodeEvent(h);
    return d.family === 2 && d.orig.protonum === 17;
  });
  t.is(sim.length, 6);
  t.deepEqual(sim.map(mask).sort(), live.map(mask).sort());
});

/** The message bytes of a LINKTYPE_NETLINK pcap written by the fixture command. */
function pcapMessages(b: Buffer): string[] {
  t0(b.readUInt32LE(0) === 0xa1b23c4d && b.readUInt32LE(20) === 253);
  const out: string[] = [];
  for (let off = 24; off < b.length;) {
    const len = b.readUInt32LE(off + 8);
    out.push(b.subarray(off + 16 + 16, off + 16 + len).toString('hex'));
    off += 16 + len;
  }
  return out;
}
function t0(ok: boolean): void {
  if (!ok) throw new Error('not a nanosecond LINKTYPE_NETLINK pcap');
}

const tshark = tool('tshark');
const noTshark = tshark ? undefined : 'tshark is not installed (apt-get install tshark)';

(noTshark ? test.skip : test)(
  'pcap: tshark decodes every record; types, tuples, IDs, pids and ENOBUFS match the JSON Lines',
  (t) => {
    const sc = parseScenario(namedScenario('flush-reliable').scenario);
    const out = tmp();
    fixtureScenario(sc, 3, out, 'pcap');
    fixtureScenario(sc, 3, out, 'jsonl');
    const lines = readFileSync(join(out, 'fixture.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FixtureLine);
    let enobufs = 0;
    for (const listener of ['listener/conntrackd-0', 'listener/conntrack-e-1']) {
      const mine = lines.filter((l) => l.listener === listener && (l.kind === 'msg' || l.kind === 'enobufs'));
      const fields = execFileSync(
        tshark!,
        [
          '-r',
          join(out, `${listener.replace('/', '-')}.pcap`),
          '-T',
          'fields',
          '-E',
          'separator=|',
          '-e',
          'frame.time_epoch',
          '-e',
          'netlink.hdr_type',
          '-e',
          'netlink.hdr_pid',
          '-e',
          'netlink-netfilter.ct_attr.id',
          '-e',
          'netlink-netfilter.nfct_tuple.ip.ip_addr',
          '-e',
          'netlink-netfilter.nfct_tuple.proto.src_port',
          '-e',
          'netlink-netfilter.nfct_tuple.proto.dst_port',
          '-e',
          'netlink.error',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      )
        .trim()
        .split('\n')
        .map((l) => l.split('|'));
      t.is(fields.length, mine.length, listener);
      enobufs += mine.filter((l) => l.kind === 'enobufs').length;
      fields.forEach((f, i) => {
        const l = mine[i]!;
        t.is(Math.round(Number(f[0]) * 1e9), l.t_ns);
        if (l.kind === 'enobufs') {
          t.true(f[1]!.startsWith('0x0002,'), 'NLMSG_ERROR (then the quoted, zeroed header)');
          t.is(f[7], '-105');
          return;
        }
        if (l.kind !== 'msg') return;
        t.is(f[1], l.type === 'destroy' ? '0x0102' : '0x0100');
        t.is(Number(f[2]), l.portid);
        t.is(Number(f[3]), l.id);
        t.is(f[4], `${l.src},${l.dst},${l.dst},${l.src}`);
        t.is(f[5], `${l.sport},${l.dport}`);
        t.is(f[6], `${l.dport},${l.sport}`);
      });
    }
    t.true(enobufs > 0, 'the scenario has an ENOBUFS to mark');
  },
);

test('conntrack format: one text file per listener, one line per message, in the order it read them', (t) => {
  const sc = parseScenario(namedScenario('tuple-reuse').scenario);
  const out = tmp();
  const r = fixtureScenario(sc, 2, out, 'conntrack');
  fixtureScenario(sc, 2, out, 'jsonl');
  const lines = readFileSync(join(out, 'fixture.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FixtureLine);
  t.is(r.files.length, sc.config.listeners.length);
  for (const f of r.files) {
    const id = f.split('/').pop()!.replace('.txt', '').replace('listener-', 'listener/');
    const msgs = lines.filter((l) => l.listener === id && l.kind === 'msg') as Extract<FixtureLine, { kind: 'msg' }>[];
    const text = readFileSync(f, 'utf8').trimEnd().split('\n');
    t.is(text.length, msgs.length);
    text.forEach((line, i) => {
      const m = msgs[i]!;
      t.true(line.startsWith({ new: '    [NEW] ', update: ' [UPDATE] ', destroy: '[DESTROY] ' }[m.type]), line);
      t.true(line.includes(`src=${m.src} dst=${m.dst} sport=${m.sport} dport=${m.dport}`), line);
    });
  }
});

const noLive = liveUnavailable([
  ['conntrack', 'conntrack'],
  ['stdbuf', 'coreutils'],
]);
(noLive ? test.skip : test.serial)(
  'live: a fresh capture on this kernel prints what the text format says',
  async (t) => {
    const c = await captureWire();
    t.is(c.conntrackE.length, c.messages.length);
    checkText(t, c);
    t.log(`kernel ${c.kernel}, load ${c.loadavg.map((x) => x.toFixed(2)).join(' ')}`);
  },
);
if (noLive) test('live capture skipped', (t) => t.pass(`skipped: ${noLive}`));

test('the consumer tests of docs/fixtures.md (Python on JSON Lines and pcap, JavaScript) agree with the fixture', (t) => {
  const out = tmp();
  const sc = parseScenario(namedScenario('flush-reliable').scenario);
  fixtureScenario(sc, 1, out, 'jsonl');
  fixtureScenario(sc, 1, out, 'pcap');
  const dir = fileURLToPath(new URL('../../docs/examples/consumers/', import.meta.url));
  const run = (cmd: string, args: string[]): Record<string, number> =>
    JSON.parse(execFileSync(cmd, args, { cwd: out, encoding: 'utf8' })) as Record<string, number>;
  const lines = readFileSync(join(out, 'fixture.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as FixtureLine);
  for (const listener of ['listener/conntrackd-0', 'listener/conntrack-e-1']) {
    const py = run('python3', [join(dir, 'replay.py'), 'fixture.jsonl', listener]);
    t.deepEqual(run('python3', [join(dir, 'replay.py'), `${listener.replace('/', '-')}.pcap`]), py);
    t.deepEqual(run(process.execPath, [join(dir, 'replay.mjs'), 'fixture.jsonl', listener]), py);
    const mine = lines.filter((l) => l.listener === listener);
    const msgs = mine.filter((l) => l.kind === 'msg') as Extract<FixtureLine, { kind: 'msg' }>[];
    t.is(py.new, msgs.filter((m) => m.type === 'new').length);
    t.is(py.destroy, msgs.filter((m) => m.type === 'destroy').length);
    t.is(py.repeated_destroy, msgs.filter((m) => m.type === 'destroy' && m.duplicate).length);
    t.is(py.enobufs, mine.filter((l) => l.kind === 'enobufs').length);
    t.is(py.open_flows, 0, 'the flush destroyed every flow and the reliable listeners got every DESTROY');
  }
});
