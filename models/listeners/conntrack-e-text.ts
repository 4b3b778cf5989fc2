// What `conntrack -E` (conntrack-tools 1.4.7, libnetfilter_conntrack's default output) prints
// for one event message (docs/kernel-facts.md#conntrack-e-text). Checked against a live
// `conntrack -E` on 6.18 (test/models/listeners/conntrack-e-text.test.ts).
import { IPS, type CtEvent } from '../kernel/events.js';
import { formatAddress, reverse, type RealTuple } from '../workloads/addresses.js';

/** enum tcp_conntrack as libnetfilter_conntrack names the states. */
const TCP_STATES = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
];

function tuple(t: RealTuple): string {
  return `src=${formatAddress(t.src)} dst=${formatAddress(t.dst)} sport=${t.sport} dport=${t.dport}`;
}

/**
 * One output line. The kernel-side choices follow the message (see ctnetlink-wire.ts): the
 * timeout is printed when CTA_TIMEOUT is present, a TCP state when CTA_PROTOINFO is. The
 * `progname=` that 1.4.7 appends to `[USERSPACE] portid=N` while that process still exists is
 * left out: it depends on the live process table.
 */
export function conntrackLine(ev: CtEvent, orig: RealTuple, protoinfoBit: number, destroyDetails: boolean): string {
  const head = { new: '[NEW]', update: '[UPDATE]', destroy: '[DESTROY]' }[ev.type].padStart(9);
  const tcp = orig.protonum === 6;
  const destroy = ev.type === 'destroy';
  const parts = [head, `${(tcp ? 'tcp' : 'udp').padEnd(8)} ${orig.protonum}`];
  const hasTimeout = destroy ? destroyDetails && ev.timeoutS > 0 : true;
  if (hasTimeout) parts.push(String(ev.timeoutS));
  const hasState = tcp && (destroy ? destroyDetails : (ev.events & protoinfoBit) !== 0);
  if (hasState) parts.push(TCP_STATES[ev.tcpState] ?? 'NONE');
  parts.push(tuple(orig));
  if (!(ev.status & IPS.SEEN_REPLY)) parts.push('[UNREPLIED]');
  parts.push(tuple(reverse(orig)));
  if (ev.status & IPS.ASSURED) parts.push('[ASSURED]');
  if (ev.portid !== 0) parts.push(`[USERSPACE] portid=${ev.portid}`);
  return parts.join(' ');
}
