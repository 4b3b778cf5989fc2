// Administrator commands through ctnetlink (net/netfilter/nf_conntrack_netlink.c):
// `conntrack -F` (ctnetlink_flush_conntrack → nf_ct_iterate_cleanup), `conntrack -D`
// (ctnetlink_del_conntrack; on a machine after a dump, delete-command.ts) and `conntrack -L`.
// They run in the admin process's context, so the era's deletion sees `adminContext` (E0 reports the DESTROY itself, E2/E3 park on the admin CPU's list).
// docs/kernel-facts.md#flush.
import type { KernelCore } from './strategies.js';
import { NIL, ST } from './table.js';
import { TASK } from '../cpu/work.js';
import { dumpSplit } from './delete-command.js';

type AdminCommand =
  | { readonly kind: 'delete'; readonly tuple: number; readonly id: number | undefined; readonly portid: number }
  | { readonly kind: 'list' };

const taskOf = (c: AdminCommand): string => (c.kind === 'delete' ? TASK.delete : TASK.list);

export class AdminJobs {
  private victims: number[] = [];
  private serials: number[] = [];
  private next = 0;
  private portid = 0;
  /** conntrack -D and -L commands on a machine: the running one first, and where it is. */
  private readonly commands: AdminCommand[] = [];
  private commandPhase: 'idle' | 'walk' | 'exit' = 'idle';
  /** The running command's CPU after its deletion (or listing). */
  private exitNs = 0;

  constructor(private readonly core: KernelCore) {}

  /** conntrack -F: unconfirmed entries are only marked DYING; hashed ones are deleted in bucket order. */
  flush(portid: number): void {
    const core = this.core;
    const t = core.table;
    core.adminContext = true;
    for (let slot = 0; slot < t.slotsUsed; slot++) if (t.status[slot]! & ST.UNCONFIRMED) t.status[slot]! |= ST.DYING;
    // The iterator walks buckets in order and takes each entry at the first of its two nodes.
    const victims: number[] = [];
    const seen = new Uint8Array(t.slotsUsed);
    for (let b = 0; b < t.buckets; b++) {
      for (let node = t.head(b); node !== NIL; node = t.next(node)) {
        if (!seen[node >> 1]) victims.push(node >> 1);
        seen[node >> 1] = 1;
      }
    }
    core.adminContext = false;
    this.victims = victims;
    this.serials = victims.map((v) => t.serial[v]!);
    this.next = 0;
    this.portid = portid;
    this.flushStep();
  }

  /**
   * Deletes flush victims in iteration order. With `flushCostNs` > 0 each entry takes that much
   * CPU time, so a big flush spreads over time (and readers drain their queues meanwhile, as
   * measured on 6.18.44: 2000 entries in 15 ms). Simplification: the victims are the entries
   * hashed when the flush started.
   */
  flushStep(): void {
    const core = this.core;
    const t = core.table;
    const base = core.cfg.flushCostNs;
    const freeCost = core.cfg.flushFreeCostNs ?? 0;
    const deliverCost = core.cfg.flushDeliverCostNs ?? 0;
    core.adminContext = true;
    while (this.next < this.victims.length) {
      const i = this.next++;
      const slot = this.victims[i]!;
      if (t.serial[slot] !== this.serials[i] || !(t.status[slot]! & ST.HASHED)) continue;
      core.counters.flushed.add();
      const delivered = core.sink.deliveries ?? 0;
      core.redelivery.flushDelete(slot, this.portid);
      // A parked entry costs the delete alone; a freed one its release too; a DESTROY some
      // socket queued the queueing and the reader's wake-up as well.
      let cost = base;
      if (!(t.status[slot]! & ST.PARKED)) cost += freeCost;
      if ((core.sink.deliveries ?? 0) > delivered) cost += deliverCost;
      if (cost > 0 && this.next < this.victims.length) {
        const self = core.ctx.self;
        // On a machine the next entry waits for the flushing process to get that much CPU.
        if (core.cpu) core.cpu.step(TASK.flush, cost, (ctx) => ctx.send(self, { kind: 'flush-step' }));
        else core.ctx.send(self, { kind: 'flush-step' }, cost);
        core.adminContext = false;
        return;
      }
    }
    core.adminContext = false;
    core.cpu?.release(TASK.flush);
  }

  /**
   * conntrack -D: by tuple, optionally checking CTA_ID. On a machine the command is a process
   * (delete-command.ts): its start, then its dump up to the batch that holds the entry, the
   * deletion, then the rest of the dump and its exit. Commands given while one runs wait for
   * it, as a script's do. Simplification: the dump sees the table as it was when it started.
   */
  delete(tuple: number, id: number | undefined, portid: number): void {
    if (this.core.cpu === undefined) return this.deleteNow(tuple, id, portid);
    this.enqueue({ kind: 'delete', tuple, id, portid });
  }

  /**
   * conntrack -L (ctnetlink_dump_table; in gc eras it evicts the expired entries it meets). On
   * a machine it is a process too: its start, the dump (per bucket, and per entry printed), then
   * the evictions and its exit. Simplification: they happen at the end of the walk.
   */
  dump(): void {
    if (this.core.cpu === undefined) return this.core.expiry.dump();
    this.enqueue({ kind: 'list' });
  }

  private enqueue(c: AdminCommand): void {
    this.commands.push(c);
    if (this.commands.length === 1) this.commandStep();
  }

  /** The running command has had the CPU of its current phase: go on to the next. */
  commandStep(): void {
    const cpu = this.core.cpu!;
    if (this.commandPhase === 'walk') {
      const d = this.commands[0]!;
      if (d.kind === 'delete') this.deleteNow(d.tuple, d.id, d.portid);
      else this.core.expiry.dump();
      this.commandPhase = 'exit';
      return this.runPhase(this.exitNs);
    }
    if (this.commandPhase === 'exit') cpu.release(taskOf(this.commands.shift()!));
    if (this.commands.length === 0) {
      this.commandPhase = 'idle';
      return;
    }
    const { walkNs, exitNs } = this.commandCost(this.commands[0]!);
    this.exitNs = exitNs;
    this.commandPhase = 'walk';
    this.runPhase(walkNs);
  }

  /**
   * A command's CPU up to its work (-D: the end of the dump's batch that holds the entry; -L:
   * the whole dump) and after it, from the table as it is when the command starts.
   */
  private commandCost(d: AdminCommand): { walkNs: number; exitNs: number } {
    const core = this.core;
    const c = core.cpu!.costs;
    const startNs = c.adminStartUs * 1000;
    const exitNs = c.adminExitUs * 1000;
    if (d.kind === 'list')
      return {
        walkNs: startNs + c.dumpBucketNs * core.table.buckets + c.listEntryNs * core.table.hashedEntries,
        exitNs,
      };
    const node = core.findNode(d.tuple);
    const split = dumpSplit(core.table, node === NIL ? NIL : node >> 1);
    return {
      walkNs: startNs + c.dumpBucketNs * split.bucketsBefore + c.dumpEntryNs * split.entriesBefore,
      exitNs: c.dumpBucketNs * split.bucketsAfter + c.dumpEntryNs * split.entriesAfter + exitNs,
    };
  }

  private runPhase(ns: number): void {
    const self = this.core.ctx.self;
    this.core.cpu!.step(taskOf(this.commands[0]!), Math.round(ns), (ctx) => ctx.send(self, { kind: 'admin-step' }));
  }

  private deleteNow(tuple: number, id: number | undefined, portid: number): void {
    const core = this.core;
    const node = core.findNode(tuple);
    if (node === NIL) return;
    const slot = node >> 1;
    if (id !== undefined && core.table.id[slot] !== id) return;
    core.adminContext = true;
    core.kill(slot, portid);
    core.adminContext = false;
  }
}
