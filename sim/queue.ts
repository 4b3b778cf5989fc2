/**
 * The pending-event set: an indexed 4-ary min-heap laid out as struct-of-arrays.
 *
 * Ordering contract: events come out by ascending `(time, priority, seq)`, where `seq` is
 * taken from a counter that increases on every push or reschedule. Two events with the same
 * time and priority therefore leave in the order they were scheduled (SimPy's `eid`, ns-3's
 * `m_uid`, OMNeT++'s `insertOrder`). `seq` is a double, so it cannot wrap before 2^44 events.
 *
 * Each event lives in a slot; the heap holds slot numbers plus copies of the keys (so that
 * comparisons read contiguous memory), and `pos` maps a slot back to its heap index. That makes
 * `cancel` and `reschedule` O(log n) and really removes the entry: no dead events pile up.
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
const NO_POS = -1;
const GEN = 1; // offsets in the per-slot record; position is at offset 0
const TGT = 2;
const SRC = 3;

/** Indexed 4-ary heap of events keyed by (time, priority, seq). */
export class EventQueue<P = unknown> {
  // Heap order, one entry per pending event.
  // Heap order, one (time, slot) pair per pending event, interleaved so that a node's time and
  // slot share a cache line: at a million entries the sift loops are bound by memory latency.
  private heap: Float64Array;
  // Per slot. The tie-break key is read only when two times are equal, so it lives with the
  // slot rather than in the heap: moving an entry then touches two heap arrays, not three.
  private skey: Float64Array; // (priority + 128) * 2^44 + seq
  // Per-slot record [heap position, generation, target, source], interleaved so that reading
  // or updating one slot touches one cache line.
  private meta: Int32Array;
  private payload: (P | undefined)[];
  private free: Int32Array;
  private freeTop = 0;
  private slotsUsed = 0;
  private count = 0;
  private nextSeq = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity);
    this.heap = new Float64Array(2 * cap);
    this.skey = new Float64Array(cap);
    this.meta = new Int32Array(4 * cap);
    this.free = new Int32Array(cap);
    this.payload = new Array<P | undefined>(cap);
  }

  /** Number of pending events. */
  get size(): number {
    return this.count;
  }

  /** Number of schedules so far (the next `seq`). */
  get scheduled(): number {
    return this.nextSeq;
  }

  /** Bytes held by the typed arrays (slots and heap); the payload array is not counted. */
  get byteLength(): number {
    return this.heap.byteLength + this.skey.byteLength + this.meta.byteLength + this.free.byteLength;
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
    const i = this.count++;
    this.heap[2 * i] = time;
    this.heap[2 * i + 1] = slot;
    this.siftUp(i);
    return this.meta[4 * slot + GEN]! * SLOT_LIMIT + slot;
  }

  /** Time of the earliest event, or `Infinity` when empty. */
  peekTime(): number {
    return this.count > 0 ? this.heap[0]! : Infinity;
  }

  /**
   * Removes the earliest event and returns its slot. Read it with `targetOf`, `sourceOf`,
   * `payloadOf` and then call `release(slot)`. Time of the event is `peekTime()` before the pop.
   */
  popSlot(): number {
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
    return slot < 0 ? -1 : this.heap[2 * this.meta[4 * slot]!]!;
  }

  /** Cancels a pending event. Returns false (and does nothing) if the handle is stale. */
  cancel(handle: EventHandle): boolean {
    const slot = this.slotOf(handle);
    if (slot < 0) return false;
    this.removeAt(this.meta[4 * slot]!);
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
    const i = this.meta[4 * slot]!;
    const oldTime = this.heap[2 * i]!;
    const oldKey = this.skey[slot]!;
    this.heap[2 * i] = time;
    this.skey[slot] = this.key(priority);
    if (time < oldTime || (time === oldTime && this.skey[slot]! < oldKey)) this.siftUp(i);
    else this.siftDown(i);
    return true;
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
    const cap = Math.min(this.skey.length * 2, SLOT_LIMIT);
    const g = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    const heap = new Float64Array(2 * cap);
    heap.set(this.heap);
    this.heap = heap;
    this.skey = g(this.skey, (n) => new Float64Array(n));
    const meta = new Int32Array(4 * cap);
    meta.set(this.meta);
    this.meta = meta;
    this.free = g(this.free, (n) => new Int32Array(n));
    this.payload.length = cap;
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
      if (t < pt || (t === pt && this.skey[moved]! < this.skey[h[2 * p + 1]!]!)) {
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
      if (pt < t || (pt === t && skey[h[2 * p + 1]!]! < skey[slot]!)) break;
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
        if (jt < mt || (jt === mt && skey[h[2 * j + 1]!]! < skey[h[2 * m + 1]!]!)) {
          m = j;
          mt = jt;
        }
      }
      const ms = h[2 * m + 1]!;
      if (t < mt || (t === mt && skey[slot]! < skey[ms]!)) break;
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
