// Ground truth of every conntrack lifetime, kept beside the kernel for invariants and for
// judging listeners (models/listeners/analysis.ts). Not a kernel structure: it records what the
// kernel did, keyed by the simulator's serial (unique per lifetime, unlike CTA_ID). Off unless
// asked for, since it grows with every conntrack ever created.
import type { Truth } from './types.js';

/** Ground truth of every conntrack lifetime, for invariants and analysis (empty when off). */
export class TruthLog {
  /** Lifetimes by serial (empty when disabled). */
  readonly records = new Map<number, Truth>();

  constructor(private readonly enabled: boolean) {}

  /** A conntrack was allocated. */
  allocated(serial: number, tuple: number, now: number, events: boolean): void {
    if (!this.enabled) return;
    this.records.set(serial, {
      tuple,
      created: now,
      newSent: false,
      destroySent: -1,
      firstFail: -1,
      confirmed: false,
      events,
      freed: -1,
    });
  }

  /** It entered the hash table. */
  confirmed(serial: number, now: number): void {
    const tr = this.records.get(serial);
    if (!tr) return;
    tr.created = now;
    tr.confirmed = true;
  }

  /** Its NEW was delivered (E0: sent). */
  newSent(serial: number): void {
    const tr = this.records.get(serial);
    if (tr) tr.newSent = true;
  }

  /** The first DESTROY that went out. */
  destroySent(serial: number, now: number): void {
    const tr = this.records.get(serial);
    if (tr && tr.destroySent < 0) tr.destroySent = now;
  }

  /** The first DESTROY that failed (the entry was parked). */
  failed(serial: number, now: number): void {
    const tr = this.records.get(serial);
    if (tr && tr.firstFail < 0) tr.firstFail = now;
  }

  /** Time since the lifetime's first failed DESTROY, or -1 if none failed (or truth is off). */
  sinceFirstFail(serial: number, now: number): number {
    const tr = this.records.get(serial);
    return tr && tr.firstFail >= 0 ? now - tr.firstFail : -1;
  }

  /** It was freed. */
  freed(serial: number, now: number): void {
    const tr = this.records.get(serial);
    if (tr) tr.freed = now;
  }
}
