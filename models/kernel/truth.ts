// Ground truth of every conntrack lifetime, kept beside the kernel for invariants and for
// judging listeners (models/listeners/analysis.ts). Not a kernel structure: it records what the
// kernel did, keyed by the simulator's serial (unique per lifetime, unlike CTA_ID). Off unless
// asked for, since it grows with every conntrack ever created. Serials are dense (1, 2, 3, …
// in allocation order), so the records are columns of typed arrays indexed by serial — about
// 41 bytes a lifetime and nothing for the garbage collector to trace — read as `Truth` objects
// built on demand.
import type { Truth, TruthView } from './types.js';

const PRESENT = 1;
const NEW_SENT = 2;
const CONFIRMED = 4;
const EVENTS = 8;

/** Ground truth of every conntrack lifetime, for invariants and analysis (empty when off). */
export class TruthLog implements TruthView {
  private flags: Uint8Array = new Uint8Array(1024);
  private tuple: Float64Array = new Float64Array(1024);
  private created: Float64Array = new Float64Array(1024);
  private destroy: Float64Array = new Float64Array(1024);
  private firstFail: Float64Array = new Float64Array(1024);
  private freedAt: Float64Array = new Float64Array(1024);
  /** One past the highest serial recorded. */
  private end = 0;
  private count = 0;

  constructor(private readonly enabled: boolean) {}

  /** A conntrack was allocated. */
  allocated(serial: number, tuple: number, now: number, events: boolean): void {
    if (!this.enabled) return;
    if (serial >= this.flags.length) this.grow(serial);
    if (!(this.flags[serial]! & PRESENT)) this.count++;
    this.flags[serial] = PRESENT | (events ? EVENTS : 0);
    this.tuple[serial] = tuple;
    this.created[serial] = now;
    this.destroy[serial] = -1;
    this.firstFail[serial] = -1;
    this.freedAt[serial] = -1;
    if (serial >= this.end) this.end = serial + 1;
  }

  private has(serial: number): boolean {
    return serial < this.end && (this.flags[serial]! & PRESENT) !== 0;
  }

  /** It entered the hash table. */
  confirmed(serial: number, now: number): void {
    if (!this.has(serial)) return;
    this.created[serial] = now;
    this.flags[serial]! |= CONFIRMED;
  }

  /** Its NEW was delivered (E0: sent). */
  newSent(serial: number): void {
    if (this.has(serial)) this.flags[serial]! |= NEW_SENT;
  }

  /** The first DESTROY that went out. */
  destroySent(serial: number, now: number): void {
    if (this.has(serial) && this.destroy[serial]! < 0) this.destroy[serial] = now;
  }

  /** The first DESTROY that failed (the entry was parked). */
  failed(serial: number, now: number): void {
    if (this.has(serial) && this.firstFail[serial]! < 0) this.firstFail[serial] = now;
  }

  /** Time since the lifetime's first failed DESTROY, or -1 if none failed (or truth is off). */
  sinceFirstFail(serial: number, now: number): number {
    return this.has(serial) && this.firstFail[serial]! >= 0 ? now - this.firstFail[serial]! : -1;
  }

  /** It was freed. */
  freed(serial: number, now: number): void {
    if (this.has(serial)) this.freedAt[serial] = now;
  }

  /** Lifetimes recorded. */
  get size(): number {
    return this.count;
  }

  /** The record of `serial` as it stands now (a copy), or undefined. */
  get(serial: number): Truth | undefined {
    if (!this.has(serial)) return undefined;
    const f = this.flags[serial]!;
    return {
      tuple: this.tuple[serial]!,
      created: this.created[serial]!,
      newSent: (f & NEW_SENT) !== 0,
      destroySent: this.destroy[serial]!,
      firstFail: this.firstFail[serial]!,
      confirmed: (f & CONFIRMED) !== 0,
      events: (f & EVENTS) !== 0,
      freed: this.freedAt[serial]!,
    };
  }

  /** [serial, record] in serial (allocation) order. */
  *entries(): IterableIterator<[number, Truth]> {
    for (let s = 0; s < this.end; s++) if (this.flags[s]! & PRESENT) yield [s, this.get(s)!];
  }

  /** The records in serial (allocation) order. */
  *values(): IterableIterator<Truth> {
    for (const [, tr] of this.entries()) yield tr;
  }

  /** Same as {@link entries}. */
  [Symbol.iterator](): IterableIterator<[number, Truth]> {
    return this.entries();
  }

  private grow(serial: number): void {
    let len = this.flags.length;
    while (len <= serial) len *= 2;
    const u8 = new Uint8Array(len);
    u8.set(this.flags);
    this.flags = u8;
    const f64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(len);
      b.set(a);
      return b;
    };
    this.tuple = f64(this.tuple);
    this.created = f64(this.created);
    this.destroy = f64(this.destroy);
    this.firstFail = f64(this.firstFail);
    this.freedAt = f64(this.freedAt);
  }
}
