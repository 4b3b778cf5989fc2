// The reader loop shared by every listener program: one process reading one NETLINK_NETFILTER
// socket. It is woken `wakeupUs` after its socket becomes readable, takes one message at a time
// (each costing `costUs × slowdown`), reads until the socket is empty or the program's budget
// for one readiness is spent, and keeps its own view of the table and a log. The program
// (conntrack-e.ts, conntrackd.ts, raw.ts) decides the socket options, the budget, what ENOBUFS
// does and how the view is keyed.
//
// States: idle (waiting for the socket), reading, resyncing (conntrackd: the event socket is not
// read until the resync is over), exited (conntrack -E ≤ 1.4.5 after ENOBUFS).
// Simplification: a message whose processing started before a resync still finishes, and the
// loop goes on reading until the socket is empty or the budget is spent.
import { BitSet, type Ctx, type Stream } from '../../sim/index.js';
import type { Machine, Task } from '../cpu/machine.js';
import { ENOBUFS, type CtEvent } from '../kernel/events.js';
import type { NetlinkKernelConfig } from '../netlink/config.js';
import { NetlinkFamily, NetlinkSocket } from '../netlink/socket.js';
import { METRIC } from '../names.js';
import { drawNs, type ListenerConfig } from './config.js';
import { ConntrackdProgram } from './conntrackd.js';
import { ConntrackEProgram } from './conntrack-e.js';
import type { ListenerProgram, ReaderHandle } from './program.js';
import { RawProgram } from './raw.js';
import type {
  DumpSource,
  ListenerModel,
  ListenerMsg,
  ListenerStats,
  LogEntry,
  ProgramNotice,
  ViewEntry,
} from './types.js';

type ReaderState = 'idle' | 'reading' | 'resyncing' | 'exited';

/** Builds a listener and subscribes its socket to `family`. */
export function listener(
  id: string,
  cfg: ListenerConfig,
  family: NetlinkFamily,
  nl: NetlinkKernelConfig,
  dump?: DumpSource,
  backupId?: string,
  keepLog = true,
  machine?: Machine,
): ListenerModel {
  return new Listener(id, cfg, family, nl, dump, backupId, keepLog, machine);
}

class Listener implements ListenerModel, ReaderHandle {
  readonly socket: NetlinkSocket;
  readonly log: LogEntry[] = [];
  readonly view = new Map<string | number, ViewEntry>();
  readonly stats: ListenerStats = {
    received: { new: 0, update: 0, destroy: 0 },
    enobufs: 0,
    duplicates: 0,
    outOfOrder: 0,
    wrongDeletes: 0,
    resyncs: 0,
    bufferGrowths: 0,
  };
  readonly seenNew = new BitSet();
  readonly seenDestroy = new BitSet();
  lastChange = 0;
  /** Readiness handler calls (nfct_catch / the read loop) and the events handled in each. */
  readonly perCatch: number[] = [];
  private state: ReaderState = 'idle';
  private readonly program: ListenerProgram;
  private rng!: Stream;
  private budget = Infinity;
  private catches = 0;
  private readonly newestSerialByTuple = new Map<number, number>();
  /** With a machine: the process's task on it (its wake-ups and messages take CPU there). */
  private readonly cpu: { readonly machine: Machine; readonly task: Task; readonly pipe: Task | undefined } | undefined;
  private ctx!: Ctx;
  /** With `reader.preemption`: processing time left before the next preemption (ns). */
  private runLeft: number | undefined;

  constructor(
    readonly id: string,
    readonly cfg: ListenerConfig,
    private readonly family: NetlinkFamily,
    nl: NetlinkKernelConfig,
    dump: DumpSource | undefined,
    backupId: string | undefined,
    private readonly keepLog: boolean,
    machine: Machine | undefined,
  ) {
    this.cpu = machine
      ? { machine, task: machine.task(id), pipe: cfg.reader.pipe ? machine.task(`${id}/pipe`) : undefined }
      : undefined;
    this.program =
      cfg.kind === 'raw'
        ? new RawProgram(cfg)
        : cfg.kind === 'conntrack-e'
          ? new ConntrackEProgram(cfg)
          : new ConntrackdProgram(cfg, () => this.socket, nl, dump, backupId);
    this.socket = new NetlinkSocket(id, { groups: cfg.groups, ...this.program.options }, nl);
    family.add(this.socket);
  }

  get notices(): readonly ProgramNotice[] {
    return this.program.notices;
  }

  get running(): boolean {
    return this.state !== 'exited';
  }

  init(ctx: Ctx): void {
    this.ctx = ctx;
    this.rng = ctx.rng;
    this.program.init(ctx, this);
    ctx.counter(METRIC.listenerEnobufs);
    ctx.counter(METRIC.listenerResyncs);
    const self = ctx.ref(ctx.self);
    const cpu = this.cpu;
    this.socket.onReadable = cpu
      ? // On a machine the wake-up is CPU time of the woken process, scheduled like any other.
        () =>
          cpu.machine.run(cpu.task, drawNs(this.cfg.reader.wakeupUs, this.rng), () =>
            this.receive({ kind: 'wake' }, this.ctx),
          )
      : (kctx) => void kctx.send(self, { kind: 'wake' }, drawNs(this.cfg.reader.wakeupUs, this.rng));
    this.socket.waiting = true;
  }

  receive(msg: ListenerMsg, ctx: Ctx): void {
    if (this.state === 'exited') return;
    switch (msg.kind) {
      case 'wake':
        if (this.state !== 'idle') return;
        this.state = 'reading';
        this.newCatch();
        return this.step(ctx);
      case 'step':
        if (this.budget <= 0) {
          // conntrackd: EventIterationLimit reached; the fd is served again on the next main
          // loop iteration, after alarms due now.
          this.stopReading();
          ctx.send(ctx.self, { kind: 'wake' });
          return;
        }
        return this.step(ctx);
      case 'resync':
        return this.program.resync(ctx, this);
      case 'resync-done':
        this.state = 'reading';
        this.newCatch();
        return this.step(ctx);
    }
  }

  snapshot(): unknown {
    return {
      rcvbuf: this.socket.rcvbuf,
      queued: this.socket.queueLength,
      view: this.view.size,
      stats: structuredClone(this.stats),
      running: this.running,
    };
  }

  key(e: { tuple: number; id: number }): string | number {
    return this.program.key(e);
  }

  exit(ctx: Ctx): void {
    this.state = 'exited';
    this.family.remove(this.socket);
    this.log.push({ t: ctx.now, kind: 'exit' });
  }

  resynced(ctx: Ctx, added: number, purged: number, pauseNs: number): void {
    this.stats.resyncs++;
    this.lastChange = ctx.now;
    this.log.push({ t: ctx.now, kind: 'resync', added, purged });
    ctx.count(METRIC.listenerResyncs);
    this.state = 'resyncing';
    ctx.send(ctx.self, { kind: 'resync-done' }, pauseNs);
  }

  /** The reading stretch ends (a resync keeps its own state). */
  private stopReading(): void {
    if (this.state === 'reading') this.state = 'idle';
  }

  /** Starts one readiness (one nfct_catch for conntrackd). */
  private newCatch(): void {
    this.catches++;
    this.budget = this.program.catchBudget();
  }

  /** Reads until a message needs processing time, the socket is empty, or the program exits. */
  private step(ctx: Ctx): void {
    for (;;) {
      const r = this.socket.recv();
      if (r.kind === 'empty') {
        this.stopReading();
        this.socket.waiting = true;
        return;
      }
      if (r.kind === 'error') {
        if (r.errno === ENOBUFS) this.onEnobufs(ctx);
        if (this.state === 'exited') return;
        continue;
      }
      this.handle(r.ev, ctx);
      this.budget--;
      this.perCatch[this.catches - 1] = (this.perCatch[this.catches - 1] ?? 0) + 1;
      if (this.cpu) {
        const { machine, task, pipe } = this.cpu;
        // The message's line goes down the pipe now; its reader needs lineUs for it (and wakeUs
        // more when the line wakes it).
        if (pipe) {
          const c = this.cfg.reader.pipe!;
          const sleptUs = pipe.state === 'sleeping' ? (ctx.now - pipe.since) / 1e3 : 0;
          const wakeUs = c.wakeUs * (1 - Math.exp(-sleptUs / c.wakeTauUs));
          machine.charge(pipe, Math.round((c.lineUs + wakeUs) * 1e3), task);
        }
        machine.run(task, this.processingNs(), () => this.receive({ kind: 'step' }, this.ctx));
      } else ctx.send(ctx.self, { kind: 'step' }, this.processingNs());
      return;
    }
  }

  /** Time until the next message can be taken: its processing, plus a run-queue wait when preempted. */
  private processingNs(): number {
    const r = this.cfg.reader;
    const cost = Math.round(drawNs(r.costUs, this.rng) * r.slowdown);
    if (r.preemption === undefined) return cost;
    this.runLeft ??= drawNs(r.preemption.runUs, this.rng);
    this.runLeft -= cost;
    if (this.runLeft > 0) return cost;
    this.runLeft = drawNs(r.preemption.runUs, this.rng);
    return cost + drawNs(r.preemption.waitUs, this.rng);
  }

  private onEnobufs(ctx: Ctx): void {
    this.stats.enobufs++;
    this.log.push({ t: ctx.now, kind: 'enobufs' });
    ctx.count(METRIC.listenerEnobufs);
    this.program.onEnobufs(ctx, this);
  }

  /** Applies one event to the counters and the view (conntrackd's cache rules, docs/kernel-facts.md#conntrackd-cache). */
  private handle(ev: CtEvent, ctx: Ctx): void {
    if (this.keepLog) this.log.push({ t: ctx.now, kind: 'msg', ev });
    this.lastChange = ctx.now;
    this.stats.received[ev.type]++;
    const key = this.program.key(ev);
    if (ev.type === 'destroy') {
      if (this.seenDestroy.has(ev.serial)) this.stats.duplicates++;
      this.seenDestroy.add(ev.serial);
      if ((this.newestSerialByTuple.get(ev.tuple) ?? 0) > ev.serial) this.stats.outOfOrder++;
      const obj = this.view.get(key);
      if (obj !== undefined) {
        if (obj.serial !== ev.serial) this.stats.wrongDeletes++;
        this.view.delete(key);
        this.program.replicate(ctx, 'del', key, obj);
      }
      return;
    }
    if (ev.type === 'new') {
      if (this.seenNew.has(ev.serial)) this.stats.duplicates++;
      this.seenNew.add(ev.serial);
      if ((this.newestSerialByTuple.get(ev.tuple) ?? 0) < ev.serial) this.newestSerialByTuple.set(ev.tuple, ev.serial);
    }
    const entry = { tuple: ev.tuple, id: ev.id, serial: ev.serial };
    this.view.set(key, entry);
    this.program.replicate(ctx, ev.type === 'new' ? 'new' : 'upd', key, entry);
  }
}
