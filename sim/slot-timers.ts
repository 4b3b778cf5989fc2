/**
 * Slot timers: one pending timer per small integer slot, for models that keep a million
 * refreshable timeouts (conntrack entries) and fire them in batches at a few thousand distinct
 * instants. A list per instant plus a small heap of instants replaces a million-entry heap
 * (O(1) to arm, to cancel and per expiry).
 *
 * Ordering: the engine's rule with a single priority. Instants fire in time order; within an
 * instant, timers fire in the order they were (re-)armed, as the engine's `seq` would order
 * them. The owner runs {@link SlotTimers.fire} from one engine event at the earliest instant
 * ({@link SlotTimers.next}), so the whole batch takes that event's place among the others.
 *
 * Cancelling is lazy: every arming bumps the slot's generation, and a list entry whose
 * generation is stale is skipped when its instant comes. Stale entries cannot pile up: each
 * list is dropped once its instant has passed. Each instant counts its live timers, so an
 * instant whose timers were all cancelled is never reported as the next one.
 * @module
 */

/** Min-heap of distinct expiry instants (ns). */
class TimeHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): number {
    return this.a.length > 0 ? this.a[0]! : Infinity;
  }
  push(x: number): void {
    const a = this.a;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= x) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = x;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= a.length) break;
        if (c + 1 < a.length && a[c + 1]! < a[c]!) c++;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/** Timers of slots: at most one pending timer per slot, tagged with a small integer type. */
export class SlotTimers {
  private readonly lists = new Map<number, { e: number[]; live: number }>(); // instant → [slot, tag, ...]
  private readonly instants = new TimeHeap();
  // Per slot, side by side so that one cache line answers a firing: [2s] the instant (-1: none),
  // [2s+1] the tag generation · 256 + type; every arming and cancelling bumps the generation.
  // (Three arrays cost a cache miss each per retry at a million entries.)
  private slots: Float64Array;

  /** @param capacity initial number of slots (grows on demand). */
  constructor(capacity: number) {
    this.slots = SlotTimers.empty(capacity);
  }

  /** Bytes of the per-slot arrays (the lists are extra). */
  get byteLength(): number {
    return this.slots.byteLength;
  }

  /** Earliest instant with a pending timer, or Infinity. */
  get next(): number {
    for (;;) {
      const t = this.instants.peek();
      if (t === Infinity || (this.lists.get(t)?.live ?? 0) > 0) return t;
      this.instants.pop();
      this.lists.delete(t);
    }
  }

  /** True if `slot` has a pending timer. */
  pending(slot: number): boolean {
    return 2 * slot < this.slots.length && this.slots[2 * slot]! >= 0;
  }

  /** Arms (or re-arms) the timer of `slot` for instant `t` with `type` (0–255). */
  arm(slot: number, t: number, type: number): void {
    if (2 * slot >= this.slots.length) this.grow(slot + 1);
    this.cancel(slot);
    const s = this.slots;
    const tag = (Math.floor(s[2 * slot + 1]! / 256) + 1) * 256 + type;
    s[2 * slot] = t;
    s[2 * slot + 1] = tag;
    let list = this.lists.get(t);
    if (list === undefined) {
      list = { e: [], live: 0 };
      this.lists.set(t, list);
      this.instants.push(t);
    }
    list.e.push(slot, tag);
    list.live++;
  }

  /** Disarms the timer of `slot`; returns true if it was pending. */
  cancel(slot: number): boolean {
    if (!this.pending(slot)) return false;
    const s = this.slots;
    const list = this.lists.get(s[2 * slot]!);
    if (list) list.live--;
    s[2 * slot + 1]! += 256;
    s[2 * slot] = -1;
    return true;
  }

  /**
   * Fires every timer due at or before `now`, in instant order and, within an instant, in arming
   * order. A timer armed by a callback for an instant <= now fires in the same call.
   */
  fire(now: number, cb: (slot: number, type: number) => void): void {
    while (this.instants.peek() <= now) {
      const t = this.instants.pop();
      const list = this.lists.get(t);
      if (list === undefined) continue;
      this.lists.delete(t);
      const e = list.e;
      for (let i = 0; i < e.length; i += 2) {
        const s = this.slots; // a callback may arm a new slot and grow the array
        const slot = e[i]!;
        const tag = e[i + 1]!;
        if (s[2 * slot + 1] !== tag || s[2 * slot] !== t) continue;
        s[2 * slot] = -1;
        cb(slot, tag & 255);
      }
    }
  }

  private grow(min: number): void {
    const grown = SlotTimers.empty(Math.max(min, this.slots.length));
    grown.set(this.slots);
    this.slots = grown;
  }

  private static empty(capacity: number): Float64Array {
    const s = new Float64Array(2 * capacity);
    for (let i = 0; i < s.length; i += 2) s[i] = -1;
    return s;
  }
}
