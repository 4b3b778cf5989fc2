/**
 * The pending-event set: an indexed 4-ary min-heap of the near events plus an unsorted list of
 * the far ones, both laid out as struct-of-arrays.
 *
 * Ordering contract: events come out by ascending `(time, priority, seq)`, where `seq` is
 * taken from a counter that increases on every push or reschedule. Two events with the same
 * time and priority therefore leave in the order they were scheduled (SimPy's `eid`, ns-3's
 * `m_uid`, OMNeT++'s `insertOrder`). `seq` is a double, so it cannot wrap before 2^44 events.
 *
 * Each event lives in a slot; the heap holds slot numbers plus copies of the keys (so that
 * comparisons read contiguous memory), and each slot records where its entry is. That makes
 * `cancel` and `reschedule` O(log n) and really removes the entry: no dead events pile up.
 *
 * Events at or after a `horizon` wait in the far list, unsorted; when the heap runs dry, the
 * next batch (about 1/32 of them, at least 32,768) comes over. At a million pending events the
 * heap then stays small enough for the CPU caches, where a single heap of a million makes every
 * sift a walk through main memory. The split is by time alone, so equal times are never split
 * and the order stays exactly `(time, priority, seq)`; a queue that always holds fewer than
 * 65,536 events never splits at all.
 * @module
 */
import { assertTime, type SimTime } from './time.js';

/**
 * Opaque handle to a scheduled event: `generation * SLOT_LIMIT + slot`. It goes stale when the
 * event runs or is cancelled, so a late `cancel` is harmless.
 */
export type EventHandle = number;

/** Lowest allowed priority (runs last among simultaneous events). */
export const PRIORITY_MIN = -128;
/** Highest allowed priority value. Lower values run first. */
export const PRIORITY_MAX = 127;
/** Priority of ordinary model events. */
export const PRIORITY_DEFAULT = 0;

const SLOT_LIMIT = 2 ** 26; // at most 67 M pending events
const GEN_LIMIT = 2 ** 26; // generations wrap here; a handle this stale would be a model bug
const SEQ_LIMIT = 2 ** 44; // room for 17.6 T schedules; (prio + 128) * 2^44 stays below 2^53
const NO_POS = -1; // not pending; a far entry at index f is stored as -(f + 2)
const GEN = 1; // offsets in the per-slot record; position is at offset 0
const TGT = 2;
const SRC = 3;
// Events kept near, at least: 32,768 heap entries are 512 KiB, well inside a 2 MiB L2 cache.
// Measured at a million pending events: 4,096 was twice as slow (the far list is scanned too
// often), 16,384 10 % slower, 32,768-131,072 alike.
const NEAR_SIZE = 32768;
const FAR_SHARE = 5; // ... or 1/32 of all pending events, so a refill's scan stays amortised
const QUANTILE_SAMPLE = 1024; // evenly spaced entries from which a horizon is picked

/** Indexed 4-ary heap of near events plus an unsorted list of far ones, keyed by (time, priority, seq). */
export class EventQueue<P = unknown> {
  // Near events (time < horizon): a 4-ary heap of (time, slot) pairs, interleaved so that a
  // node's time and slot share a cache line.
  private heap: Float64Array;
  private count = 0;
  // Far events (time >= horizon): unsorted (time, slot) pairs, refilled into the heap in batches.
  private far: Float64Array;
  private farCount = 0;
  private horizon = Infinity;
  private spillAt: number;
  // Per slot: (priority + 128) * 2^44 + seq. Read only when two times are equal, so it lives
  // with the slot rather than in the heap, and moving an entry touches one array less.
  private skey: Float64Array;
  // Per slot: [position, generation, target, source], interleaved so that reading or updating
  // one slot touches one cache line.
  private meta: Int32Array;
  private payload: (P | undefined)[];
  private free: Int32Array;
  private freeTop = 0;
  private slotsUsed = 0;
  private nextSeq = 0;

  /**
   * `initialCapacity` sizes the arrays (they grow as needed). `nearSize` is the smallest batch
   * kept in the heap; the tests make it tiny so that every path is taken with a few events.
   */
  constructor(
    initialCapacity = 1024,
    private readonly nearSize = NEAR_SIZE,
  ) {
    if (!Number.isInteger(nearSize) || nearSize < 1)
      throw new RangeError(`nearSize must be a positive integer, got ${String(nearSize)}`);
    const cap = Math.max(16, initialCapacity);
    this.heap = new Float64Array(2 * Math.min(cap, 2 * nearSize + 16));
    this.far = new Float64Array(2 * (cap > nearSize ? cap : 16));
    this.spillAt = 2 * nearSize;
    this.skey = new Float64Array(cap);
    this.meta = new Int32Array(4 * cap);
    this.free = new Int32Array(cap);
    this.payload = new Array<P | undefined>(cap);
  }

  /** Number of pending events. */
  get size(): number {
    return this.count + this.farCount;
  }

  /** Number of schedules so far (the next `seq`). */
  get scheduled(): number {
    return this.nextSeq;
  }

  /** Bytes held by the typed arrays (slots, heap and far list); the payload array is not counted. */
  get byteLength(): number {
    return (
      this.heap.byteLength + this.far.byteLength + this.skey.byteLength + this.meta.byteLength + this.free.byteLength
    );
  }

  /**
   * Schedules `payload` for actor `target` at absolute `time` (ns) and returns its handle.
   * `source` is recorded for traces (-1 for the outside world).
   */
  push(time: SimTime, priority: number, target: number, source: number, payload: P): EventHandle {
    if (!Number.isSafeInteger(time) || time < 0) assertTime(time, 'event time');
    const key = this.key(priority);
    const slot = this.freeTop > 0 ? this.free[--this.freeTop]! : this.allocSlot();
    this.meta[4 * slot + TGT] = target;
    this.meta[4 * slot + SRC] = source;
    this.payload[slot] = payload;
    this.skey[slot] = key;
    this.place(time, slot);
    return this.meta[4 * slot + GEN]! * SLOT_LIMIT + slot;
  }

  /** Time of the earliest event, or `Infinity` when empty. */
  peekTime(): number {
    if (this.count === 0) {
      if (this.farCount === 0) return Infinity;
      this.refill();
    }
    return this.heap[0]!;
  }

  /**
   * Removes the earliest event and returns its slot. Read it with `targetOf`, `sourceOf`,
   * `payloadOf` and then call `release(slot)`. Time of the event is `peekTime()` before the pop.
   */
  popSlot(): number {
    if (this.count === 0) this.refill();
    const slot = this.heap[1]!;
    this.removeAt(0);
    return slot;
  }

  /** Target actor index of a popped slot. */
  targetOf(slot: number): number {
    return this.meta[4 * slot + TGT]!;
  }

  /** Source actor index of a popped slot (-1 when scheduled from outside). */
  sourceOf(slot: number): number {
    return this.meta[4 * slot + SRC]!;
  }

  /** Payload of a popped slot. */
  payloadOf(slot: number): P {
    return this.payload[slot] as P;
  }

  /** Returns a popped slot to the free list; its handle is stale from now on. */
  release(slot: number): void {
    this.payload[slot] = undefined;
    this.meta[4 * slot + GEN] = (this.meta[4 * slot + GEN]! + 1) % GEN_LIMIT;
    this.free[this.freeTop++] = slot;
  }

  /** True if `handle` names an event that is still pending. */
  isPending(handle: EventHandle): boolean {
    return this.slotOf(handle) >= 0;
  }

  /** Absolute time of a pending event, or -1 if the handle is stale. */
  timeOf(handle: EventHandle): number {
    const slot = this.slotOf(handle);
    if (slot < 0) return -1;
    const p = this.meta[4 * slot]!;
    return p >= 0 ? this.heap[2 * p]! : this.far[2 * (-p - 2)]!;
  }

  /** Cancels a pending event. Returns false (and does nothing) if the handle is stale. */
  cancel(handle: EventHandle): boolean {
    const slot = this.slotOf(handle);
    if (slot < 0) return false;
    this.unplace(slot);
    this.release(slot);
    return true;
  }

  /**
   * Moves a pending event to a new time, giving it a fresh `seq` (it orders as if scheduled
   * now). Returns false if the handle is stale. The handle stays valid.
   */
  reschedule(handle: EventHandle, time: SimTime, priority: number): boolean {
    const slot = this.slotOf(handle);
    if (slot < 0) return false;
    assertTime(time, 'event time');
    const key = this.key(priority);
    const p = this.meta[4 * slot]!;
    if (p >= 0 && time < this.horizon) {
      // Stays in the heap: move it in place.
      const oldTime = this.heap[2 * p]!;
      const oldKey = this.skey[slot]!;
      this.heap[2 * p] = time;
      this.skey[slot] = key;
      if (before(time, key, oldTime, oldKey)) this.siftUp(p);
      else this.siftDown(p);
    } else {
      this.unplace(slot);
      this.skey[slot] = key;
      this.place(time, slot);
    }
    return true;
  }

  private place(time: number, slot: number): void {
    if (time >= this.horizon) {
      this.farAppend(time, slot);
      return;
    }
    this.siftUp(this.heapAppend(time, slot));
    if (this.count >= this.spillAt) this.spill();
  }

  /** Adds a pair at the end of the heap (not yet in heap order) and returns its index. */
  private heapAppend(time: number, slot: number): number {
    if (this.count === this.heap.length >> 1) this.heap = grown(this.heap);
    const i = this.count++;
    this.heap[2 * i] = time;
    this.heap[2 * i + 1] = slot;
    return i;
  }

  private unplace(slot: number): void {
    const p = this.meta[4 * slot]!;
    if (p >= 0) this.removeAt(p);
    else this.farRemove(-p - 2);
  }

  private farAppend(time: number, slot: number): void {
    if (this.farCount === this.far.length >> 1) this.far = grown(this.far);
    const f = this.farCount++;
    this.far[2 * f] = time;
    this.far[2 * f + 1] = slot;
    this.meta[4 * slot] = -f - 2;
  }

  private farRemove(f: number): void {
    const far = this.far;
    this.meta[4 * far[2 * f + 1]!] = NO_POS;
    const last = --this.farCount;
    if (f === last) return;
    const moved = far[2 * last + 1]!;
    far[2 * f] = far[2 * last]!;
    far[2 * f + 1] = moved;
    this.meta[4 * moved] = -f - 2;
  }

  /**
   * The heap ran dry: pick a new horizon so that about `nearTarget()` far events lie below it,
   * and move those into the heap. If there are no more than that, all move and the horizon
   * opens up (a small queue is a plain heap).
   */
  private refill(): void {
    const far = this.far;
    const n = this.farCount;
    let horizon = Infinity;
    const near = this.nearTarget();
    if (n > near) {
      horizon = this.quantile(far, n, near / n);
      let min = Infinity;
      for (let f = 0; f < n; f++) if (far[2 * f]! < min) min = far[2 * f]!;
      if (horizon <= min) horizon = min + 1; // at least the earliest time comes over
    }
    this.horizon = horizon;
    // Downwards, so that the last entry moved into a hole has been looked at already.
    for (let f = n - 1; f >= 0; f--) {
      const time = far[2 * f]!;
      if (time >= horizon) continue;
      const slot = far[2 * f + 1]!;
      this.farRemove(f);
      this.meta[4 * slot] = this.heapAppend(time, slot);
    }
    this.heapify();
    this.spillAt = 2 * near;
  }

  /** Events to keep in the heap: `nearSize`, or 1/32 of all pending ones if that is more. */
  private nearTarget(): number {
    return Math.max(this.nearSize, this.size >> FAR_SHARE);
  }

  /** The heap grew past `spillAt`: lower the horizon and send the later part of it to the far list. */
  private spill(): void {
    const h = this.heap;
    const horizon = this.quantile(h, this.count, 0.5);
    if (horizon <= this.heap[0]!) {
      this.spillAt *= 2; // (nearly) all at one time: no split possible, try again at twice the size
      return;
    }
    this.spillAt = 2 * this.nearTarget();
    this.horizon = horizon;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const time = h[2 * i]!;
      const slot = h[2 * i + 1]!;
      if (time >= horizon) {
        this.farAppend(time, slot);
      } else {
        h[2 * kept] = time;
        h[2 * kept + 1] = slot;
        this.meta[4 * slot] = kept++;
      }
    }
    this.count = kept;
    this.heapify();
  }

  /** A time below which about `fraction` of the `n` pairs in `a` lie, from a fixed sample. */
  private quantile(a: Float64Array, n: number, fraction: number): number {
    const m = Math.min(n, QUANTILE_SAMPLE);
    const sample = new Float64Array(m);
    const stride = n / m;
    for (let k = 0; k < m; k++) sample[k] = a[2 * Math.floor(k * stride)]!;
    sample.sort();
    return sample[Math.min(m - 1, Math.max(1, Math.floor(m * fraction)))]!;
  }

  private heapify(): void {
    for (let i = (this.count - 2) >> 2; i >= 0; i--) this.siftDown(i);
  }

  private slotOf(handle: EventHandle): number {
    if (!Number.isSafeInteger(handle) || handle < 0) return -1;
    // Not `handle % SLOT_LIMIT`: a modulo of a double above 2^31 is a call into C in V8.
    const g = Math.floor(handle / SLOT_LIMIT);
    const slot = handle - g * SLOT_LIMIT;
    if (slot >= this.slotsUsed || this.meta[4 * slot + GEN] !== g || this.meta[4 * slot] === NO_POS) return -1;
    return slot;
  }

  private key(priority: number): number {
    if ((priority | 0) !== priority || priority < PRIORITY_MIN || priority > PRIORITY_MAX) {
      throw new RangeError(
        `event priority must be an integer in [${PRIORITY_MIN}, ${PRIORITY_MAX}], got ${String(priority)}`,
      );
    }
    const seq = this.nextSeq++;
    if (seq >= SEQ_LIMIT) throw new RangeError('event sequence number exhausted (2^44 schedules)');
    return (priority - PRIORITY_MIN) * SEQ_LIMIT + seq;
  }

  private allocSlot(): number {
    if (this.slotsUsed === this.skey.length) this.grow();
    const slot = this.slotsUsed++;
    this.meta[4 * slot + GEN] = 0;
    return slot;
  }

  private grow(): void {
    if (this.skey.length >= SLOT_LIMIT) throw new RangeError(`more than ${SLOT_LIMIT} pending events`);
    this.skey = grown(this.skey);
    this.meta = grown(this.meta);
    this.free = grown(this.free);
    this.payload.length = this.skey.length;
  }

  private removeAt(i: number): void {
    const h = this.heap;
    this.meta[4 * h[2 * i + 1]!] = NO_POS;
    const last = --this.count;
    if (i === last) return;
    const t = h[2 * last]!;
    const moved = h[2 * last + 1]!;
    h[2 * i] = t;
    h[2 * i + 1] = moved;
    this.meta[4 * moved] = i;
    if (i > 0) {
      const p = (i - 1) >> 2;
      const pt = h[2 * p]!;
      if (before(t, this.skey[moved]!, pt, this.skey[h[2 * p + 1]!]!)) {
        this.siftUp(i);
        return;
      }
    }
    this.siftDown(i);
  }
  private siftUp(i: number): void {
    const { heap: h, meta, skey } = this;
    const t = h[2 * i]!;
    const slot = h[2 * i + 1]!;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = h[2 * p]!;
      if (before(pt, skey[h[2 * p + 1]!]!, t, skey[slot]!)) break;
      const ps = h[2 * p + 1]!;
      h[2 * i] = pt;
      h[2 * i + 1] = ps;
      meta[4 * ps] = i;
      i = p;
    }
    h[2 * i] = t;
    h[2 * i + 1] = slot;
    meta[4 * slot] = i;
  }

  private siftDown(i: number): void {
    const { heap: h, meta, skey } = this;
    const n = this.count;
    const t = h[2 * i]!;
    const slot = h[2 * i + 1]!;
    for (;;) {
      const c = 4 * i + 1;
      if (c >= n) break;
      let m = c;
      let mt = h[2 * c]!;
      const end = c + 4 < n ? c + 4 : n;
      for (let j = c + 1; j < end; j++) {
        const jt = h[2 * j]!;
        if (before(jt, skey[h[2 * j + 1]!]!, mt, skey[h[2 * m + 1]!]!)) {
          m = j;
          mt = jt;
        }
      }
      const ms = h[2 * m + 1]!;
      if (before(t, skey[slot]!, mt, skey[ms]!)) break;
      h[2 * i] = mt;
      h[2 * i + 1] = ms;
      meta[4 * ms] = i;
      i = m;
    }
    h[2 * i] = t;
    h[2 * i + 1] = slot;
    meta[4 * slot] = i;
  }
}

/**
 * The ordering rule, the one place it is written: event (ta, ka) runs before (tb, kb) iff its
 * time is earlier, or the times are equal and its key — (priority + 128) · 2^44 + seq — is smaller.
 */
function before(ta: number, ka: number, tb: number, kb: number): boolean {
  return ta < tb || (ta === tb && ka < kb);
}

/** A copy of `a` with twice the length. */
function grown<T extends Float64Array | Int32Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}
