// `nfct-sim live capacity`: how many conntrack events a listener that does not read can hold for
// each requested SO_RCVBUF, on the host's kernel and in the simulator's netlink model.
import { NetlinkSocket } from '../../models/netlink/socket.js';
import { preset } from '../../models/presets.js';
import type { CtEvent } from '../../models/kernel/events.js';
import type { Row } from '../lib/experiment.js';
import { inNamespace, requireLive, sleep, type Namespace } from './host.js';
import { TWIN_PRESET, twinOn, type Twin } from './twin.js';

export interface CapacityParams {
  buffers: number[];
  repeats: number;
  /** New flows sent while the listener holds (more than any buffer can take). */
  flows: number;
}

/** One measurement: a holding listener, `flows` new flows, then what it held. */
async function measureHeld(ns: Namespace, request: number, firstPort: number, flows: number) {
  const l = ns.listen(['--rcvbuf', String(request), '--hold']);
  const ready = await l.ready();
  await ns.sendFlows(firstPort, flows);
  await sleep(300); // let the last events land
  await l.stop();
  const held = l.lines.find((x) => x.kind === 'held')!;
  return {
    rcvbuf: Number(ready.rcvbuf),
    rmem: Number(held.rmem),
    drops: Number(held.drops),
    held: l.messages('new').length,
  };
}

/** What the simulator predicts for a listener that never reads. */
export function simulatedCapacity(
  request: number,
  presetName = TWIN_PRESET,
): { rcvbuf: number; held: number; rmem: number } {
  const s = new NetlinkSocket(
    'x',
    { groups: [1], broadcastError: false, noEnobufs: false, rcvbuf: { kind: 'SO_RCVBUF', bytes: request } },
    preset(presetName).netlink,
  );
  const ctx = { send: () => 0 } as never;
  let held = 0;
  for (let i = 0; i < 100000; i++) {
    const ev: CtEvent = {
      type: 'new',
      group: 1,
      flags: 0,
      events: 1,
      id: i,
      tuple: 2 * i,
      proto: 'udp',
      portid: 0,
      serial: i,
      sentAt: 0,
      status: 8,
      timeoutS: 30,
      tcpState: 0,
    };
    if (!s.deliver(ev, ctx)) break;
    held++;
  }
  return { rcvbuf: s.rcvbuf, held, rmem: s.rmem };
}

/** Rows of results.csv, measured on the host. */
export async function liveCapacity(p: CapacityParams): Promise<Row[]> {
  requireLive('capacity');
  return inNamespace(async (ns) => {
    const rows: Row[] = [];
    let port = 20000;
    for (const b of p.buffers) {
      for (let r = 0; r < p.repeats; r++) {
        const m = await measureHeld(ns, b, port, p.flows);
        port += p.flows;
        rows.push({
          requested_bytes: b,
          repeat: r,
          rcvbuf_bytes: m.rcvbuf,
          held_events: m.held,
          rmem_bytes: m.rmem,
          drops: m.drops,
        });
      }
    }
    return rows;
  });
}

/** Rows of results.csv, predicted by the model (deterministic: every repeat is the same). */
export function simulateCapacity(p: CapacityParams, twin: Twin = twinOn()): Row[] {
  return p.buffers.flatMap((b) => {
    const s = simulatedCapacity(b, twin.preset);
    return Array.from({ length: p.repeats }, (_, r) => ({
      requested_bytes: b,
      repeat: r,
      rcvbuf_bytes: s.rcvbuf,
      held_events: s.held,
      rmem_bytes: s.rmem,
      drops: Math.max(0, p.flows - s.held),
    }));
  });
}
