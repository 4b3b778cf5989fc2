// Flow generators: short UDP exchanges (DNS-like request, optional reply and stream packets),
// one-packet UDP flows (replyProb 0), and TCP connections through their life cycle, with
// constant, Poisson or on/off arrivals and a tuple space that makes tuples come back (which is
// where an old DESTROY meets a new NEW).
import type { Actor, Counter, Ctx, Stream } from '../../sim/index.js';
import { METRIC } from '../names.js';
import { checkInt, checkNumber, checkObject, checkOneOf, ConfigError, s as seconds } from '../../sim/index.js';
import type { PacketMsg } from '../kernel/types.js';
import { TCPF } from '../kernel/trackers.js';
import type { Machine, Task } from '../cpu/machine.js';
import { DEFAULT_ADDRESSES, validateAddresses, type AddressConfig } from './addresses.js';

/** A lifetime distribution in seconds. */
export type Lifetime =
  | { readonly kind: 'constant'; readonly s: number }
  | { readonly kind: 'exponential'; readonly meanS: number }
  | { readonly kind: 'pareto'; readonly alpha: number; readonly minS: number }
  | { readonly kind: 'lognormal'; readonly mu: number; readonly sigma: number };

/** A flow generator: how flows arrive, which tuples they use and what packets each sends. */
export interface WorkloadConfig {
  readonly kind: 'udp' | 'tcp';
  readonly arrivals: 'constant' | 'poisson' | 'onoff';
  /** Flow arrivals per second (while on). */
  readonly rateHz: number;
  /** On/off bursts: seconds on, seconds off. */
  readonly onS: number;
  readonly offS: number;
  readonly startS: number;
  readonly stopS: number;
  /** Stop after this many flows (0: no limit). */
  readonly flows: number;
  /** Distinct tuples; flow k uses tuple k mod tupleSpace (0: every flow has its own). */
  readonly tupleSpace: number;
  /** First tuple number (even; tuple ^ 1 is the reply direction). */
  readonly tupleBase: number;
  /** UDP: probability that the request gets a reply. */
  readonly replyProb: number;
  readonly replyDelayUs: number;
  /** UDP: packets after the reply, one every replyDelayUs (a stream). */
  readonly extraPackets: number;
  /** TCP: gap between consecutive packets. */
  readonly tcpGapUs: number;
  /** TCP: time from the handshake to the close. */
  readonly tcpLifetime: Lifetime;
  /** TCP: how the connection ends ('none': it is left established). */
  readonly tcpClose: 'fin' | 'rst' | 'none';
  /** Real addresses and ports of the flows' tuples, for fixtures (the simulation uses tuple numbers). */
  readonly addresses: AddressConfig;
}

/** Poisson UDP request/reply flows at 1000/s for 10 s: a base to spread and override. */
export const DEFAULT_WORKLOAD: WorkloadConfig = {
  kind: 'udp',
  arrivals: 'poisson',
  rateHz: 1000,
  onS: 1,
  offS: 1,
  startS: 0,
  stopS: 10,
  flows: 0,
  tupleSpace: 0,
  tupleBase: 1_000_000,
  replyProb: 1,
  replyDelayUs: 500,
  extraPackets: 0,
  tcpGapUs: 200,
  tcpLifetime: { kind: 'exponential', meanS: 1 },
  tcpClose: 'fin',
  addresses: DEFAULT_ADDRESSES,
};

const KEYS = Object.keys(DEFAULT_WORKLOAD);

export function validateWorkload(v: unknown, path: string): WorkloadConfig {
  const o = checkObject(path, v, KEYS);
  for (const k of KEYS) if (!(k in o)) throw new ConfigError(`${path}.${k}`, undefined, 'is required');
  checkOneOf(`${path}.kind`, o.kind, ['udp', 'tcp']);
  checkOneOf(`${path}.arrivals`, o.arrivals, ['constant', 'poisson', 'onoff']);
  checkNumber(`${path}.rateHz`, o.rateHz, { min: 1e-6, max: 1e8 });
  checkNumber(`${path}.onS`, o.onS, { min: 1e-6, max: 1e6 });
  checkNumber(`${path}.offS`, o.offS, { min: 0, max: 1e6 });
  const start = checkNumber(`${path}.startS`, o.startS, { min: 0, max: 9e6 });
  checkNumber(`${path}.stopS`, o.stopS, { min: start, max: 9e6 });
  // About 100 bytes of table per live entry and more per event in flight: 20 million flows are
  // already several GiB on this 24 GiB machine.
  checkInt(`${path}.flows`, o.flows, { min: 0, max: 20_000_000 });
  checkInt(`${path}.tupleSpace`, o.tupleSpace, { min: 0, max: 2 ** 29 });
  const base = checkInt(`${path}.tupleBase`, o.tupleBase, { min: 0, max: 2 ** 30 });
  if (base % 2 !== 0)
    throw new ConfigError(`${path}.tupleBase`, base, 'must be even (tuple ^ 1 is the reply direction)');
  checkNumber(`${path}.replyProb`, o.replyProb, { min: 0, max: 1 });
  checkNumber(`${path}.replyDelayUs`, o.replyDelayUs, { min: 0, max: 1e9 });
  checkInt(`${path}.extraPackets`, o.extraPackets, { min: 0, max: 1e6 });
  checkNumber(`${path}.tcpGapUs`, o.tcpGapUs, { min: 0, max: 1e9 });
  const lt = o.tcpLifetime as { kind?: unknown } | null;
  const lk = checkOneOf(`${path}.tcpLifetime.kind`, lt?.kind, ['constant', 'exponential', 'pareto', 'lognormal']);
  const l = checkObject(
    `${path}.tcpLifetime`,
    lt,
    {
      constant: ['kind', 's'],
      exponential: ['kind', 'meanS'],
      pareto: ['kind', 'alpha', 'minS'],
      lognormal: ['kind', 'mu', 'sigma'],
    }[lk],
  );
  for (const [k, val] of Object.entries(l))
    if (k !== 'kind') checkNumber(`${path}.tcpLifetime.${k}`, val, { min: k === 'mu' ? -50 : 0, max: 1e7 });
  checkOneOf(`${path}.tcpClose`, o.tcpClose, ['fin', 'rst', 'none']);
  validateAddresses(o.addresses, `${path}.addresses`, (o.tupleSpace as number) || (o.flows as number));
  return v as WorkloadConfig;
}

function lifetimeS(l: Lifetime, rng: Stream): number {
  switch (l.kind) {
    case 'constant':
      return l.s;
    case 'exponential':
      return rng.exponential(l.meanS);
    case 'pareto':
      return rng.pareto(l.alpha, l.minS);
    case 'lognormal':
      return rng.lognormal(l.mu, l.sigma);
  }
}

/**
 * The flow generator actor: one engine event per arrival plus one per packet. Packets go to
 * `kernelId` with their delays; draws come from `<id>/arrivals`, `<id>/replies`, `<id>/lifetimes`.
 */
export function flowGenerator(cfg: WorkloadConfig, kernelId: string, sender?: SenderOnMachine): FlowGeneratorModel {
  return new FlowGenerator(cfg, kernelId, sender);
}

/** A flow generator's messages: the next arrival; on a machine, a packet that is due to be sent. */
export type FlowMsg = { readonly kind: 'arrive' } | { readonly kind: 'due'; readonly packet: PacketMsg };

/** The generator as the scenario sees it. */
export interface FlowGeneratorModel extends Actor<FlowMsg> {
  /** At `now`, every flow it will start has started and every packet is in the kernel. */
  finishedAt(now: number): boolean;
  /** When it sent its first and its latest packet, ns (NaN: none yet). */
  readonly firstSentNs: number;
  readonly lastSentNs: number;
}

/**
 * A sender process on the machine: every packet costs `packetNs` of its CPU (the syscall and
 * the kernel's work in its context), so a sender asked to go faster than that falls behind and
 * sends back to back, and it competes with the listeners for the CPUs.
 */
export interface SenderOnMachine {
  readonly machine: Machine;
  readonly task: Task;
  readonly packetNs: number;
}

// A class, so that every generator of a process shares one `receive` (see "Write a hot actor as
// a class" in docs/architecture.md).
class FlowGenerator implements FlowGeneratorModel {
  private k = 0;
  /** Packets due and not yet sent by the sender process (machine only), oldest first. */
  private readonly backlog: PacketMsg[] = [];
  private head = 0;
  private sending = false;
  private arrivalsDone = false;
  private pendingDue = 0;
  firstSentNs = NaN;
  lastSentNs = NaN;
  private arrivals!: Stream;
  private replies!: Stream;
  private lifetimes!: Stream;
  private kernel = -1;
  private flowsCounter!: Counter;
  private readonly stopNs: number;

  constructor(
    private readonly cfg: WorkloadConfig,
    private readonly kernelId: string,
    private readonly sender: SenderOnMachine | undefined,
  ) {
    this.stopNs = seconds(cfg.stopS);
  }

  finishedAt(now: number): boolean {
    return this.arrivalsDone && this.pendingDue === 0 && !this.sending && now >= this.lastDueNs;
  }

  /** When the latest packet scheduled so far is due, ns (replies and TCP packets come later than their flow's start). */
  private lastDueNs = 0;

  init(ctx: Ctx): void {
    this.arrivals = ctx.stream('arrivals');
    this.replies = ctx.stream('replies');
    this.lifetimes = ctx.stream('lifetimes');
    this.kernel = ctx.ref(this.kernelId);
    this.flowsCounter = ctx.counter(METRIC.flows);
    ctx.send(ctx.self, { kind: 'arrive' }, seconds(this.cfg.startS));
  }

  receive(m: FlowMsg, ctx: Ctx): void {
    if (m.kind === 'due') return this.due(m.packet);
    const cfg = this.cfg;
    if (ctx.now >= this.stopNs || (cfg.flows > 0 && this.k >= cfg.flows)) {
      this.arrivalsDone = true;
      return;
    }
    const k = this.k++;
    const tuple = cfg.tupleBase + 2 * (cfg.tupleSpace > 0 ? k % cfg.tupleSpace : k);
    this.flowsCounter.add();
    if (cfg.kind === 'udp') {
      this.udp(ctx, tuple, 0);
      if (cfg.replyProb > 0 && this.replies.next() < cfg.replyProb) {
        const d = Math.round(cfg.replyDelayUs * 1e3);
        this.udp(ctx, tuple ^ 1, d);
        for (let i = 1; i <= cfg.extraPackets; i++) this.udp(ctx, i % 2 ? tuple : tuple ^ 1, d * (i + 1));
      }
    } else {
      const g = Math.round(cfg.tcpGapUs * 1e3);
      this.tcp(ctx, tuple, TCPF.SYN, 0);
      this.tcp(ctx, tuple ^ 1, TCPF.SYN | TCPF.ACK, g);
      this.tcp(ctx, tuple, TCPF.ACK, 2 * g);
      const end = 2 * g + Math.round(lifetimeS(cfg.tcpLifetime, this.lifetimes) * 1e9);
      if (cfg.tcpClose === 'fin') {
        this.tcp(ctx, tuple, TCPF.FIN, end + g);
        this.tcp(ctx, tuple ^ 1, TCPF.FIN | TCPF.ACK, end + 2 * g);
        this.tcp(ctx, tuple, TCPF.ACK, end + 3 * g);
      } else if (cfg.tcpClose === 'rst') this.tcp(ctx, tuple, TCPF.RST, end + g);
    }
    let next = this.gapNs();
    if (cfg.arrivals === 'onoff') {
      // Shift arrivals that would fall into an off period to the start of the next on period.
      const period = seconds(cfg.onS + cfg.offS);
      const t = ctx.now + next - seconds(cfg.startS);
      const phase = t % period;
      if (phase >= seconds(cfg.onS)) next += period - phase;
    }
    ctx.send(ctx.self, { kind: 'arrive' }, next);
  }

  private gapNs(): number {
    const mean = 1e9 / this.cfg.rateHz;
    return Math.max(1, Math.round(this.cfg.arrivals === 'constant' ? mean : this.arrivals.exponential(mean)));
  }

  private udp(ctx: Ctx, tuple: number, at: number): void {
    this.packet(ctx, { kind: 'packet', tuple, proto: 'udp' }, at);
  }

  private tcp(ctx: Ctx, tuple: number, flags: number, at: number): void {
    this.packet(ctx, { kind: 'packet', tuple, proto: 'tcp', flags }, at);
  }

  /** Without a machine a packet reaches the kernel at its time; on one it is due then. */
  private packet(ctx: Ctx, p: PacketMsg, at: number): void {
    this.lastDueNs = Math.max(this.lastDueNs, ctx.now + at);
    if (this.sender === undefined) {
      ctx.send<PacketMsg>(this.kernel, p, at);
      return;
    }
    this.pendingDue++;
    ctx.send<FlowMsg>(ctx.self, { kind: 'due', packet: p }, at);
  }

  private due(p: PacketMsg): void {
    this.pendingDue--;
    this.backlog.push(p);
    if (!this.sending) this.sendNext();
  }

  /** The sender process sends the oldest due packet once it has had the CPU for it. */
  private sendNext(): void {
    const s = this.sender!;
    this.sending = true;
    s.machine.run(s.task, s.packetNs, (ctx) => {
      const p = this.backlog[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.backlog.length) {
        this.backlog.splice(0, this.head);
        this.head = 0;
      }
      ctx.send<PacketMsg>(this.kernel, p, 0);
      if (Number.isNaN(this.firstSentNs)) this.firstSentNs = ctx.now;
      this.lastSentNs = ctx.now;
      if (this.head < this.backlog.length) this.sendNext();
      else this.sending = false;
    });
  }
}
