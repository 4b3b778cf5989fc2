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

/** Indexed 4-ary heap of events keyed by (time, priority, seq). */
export class EventQueue<P = unknown> {
  // Heap order, one entry per pending event.
  private hTime: Float64Array;
  private hKey: Float64Array; // (priority + 128) * 2^44 + seq
  private hSlot: Int32Array;
  // Per slot.
  private pos: Int32Array;
  private gen: Int32Array;
  private tgt: Int32Array;
  private src: Int32Array;
  private payload: (P | undefined)[];
  private free: Int32Array;
  private freeTop = 0;
  private slotsUsed = 0;
  private count = 0;
  private nextSeq = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity);
    this.hTime = new Float64Array(cap);
    this.hKey = new Float64Array(cap);
    this.hSlot = new Int32Array(cap);
    this.pos = new Int32Array(cap);
    this.gen = new Int32Array(cap);
    this.tgt = new Int32Array(cap);
    this.src = new Int32Array(cap);
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
    return (
      this.hTime.byteLength +
      this.hKey.byteLength +
      this.hSlot.byteLength +
      this.pos.byteLength +
      this.gen.byteLength +
      this.tgt.byteLength +
      this.src.byteLength +
      this.free.byteLength
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
    this.tgt[slot] = target;
    this.src[slot] = source;
    this.payload[slot] = payload;
    const i = this.count++;
    this.hTime[i] = time;
    this.hKey[i] = key;
    this.hSlot[i] = slot;
    this.pos[slot] = i;
    this.siftUp(i);
    return this.gen[slot]! * SLOT_LIMIT + slot;
  }

  /** Time of the earliest event, or `Infinity` when empty. */
  peekTime(): number {
    return this.count > 0 ? this.hTime[0]! : Infinity;
  }

  /**
   * Removes the earliest event and returns its slot. Read it with `targetOf`, `sourceOf`,
   * `payloadOf` and then call `release(slot)`. Time of the event is `peekTime()` before the pop.
   */
  popSlot(): number {
    const slot = this.hSlot[0]!;
    this.removeAt(0);
    return slot;
  }

  /** Target actor index of a popped slot. */
  targetOf(slot: number): number {
    return this.tgt[slot]!;
  }

  /** Source actor index of a popped slot (-1 when scheduled from outside). */
  sourceOf(slot: number): number {
    return this.src[slot]!;
  }

  /** Payload of a popped slot. */
  payloadOf(slot: number): P {
    return this.payload[slot] as P;
  }

  /** Returns a popped slot to the free list; its handle is stale from now on. */
  release(slot: number): void {
    this.payload[slot] = undefined;
    this.gen[slot] = (this.gen[slot]! + 1) % GEN_LIMIT;
    this.free[this.freeTop++] = slot;
  }

  /** True if `handle` names an event that is still pending. */
  isPending(handle: EventHandle): boolean {
    return this.slotOf(handle) >= 0;
  }

  /** Absolute time of a pending event, or -1 if the handle is stale. */
  timeOf(handle: EventHandle): number {
    const slot = this.slotOf(handle);
    return slot < 0 ? -1 : this.hTime[this.pos[slot]!]!;
  }

  /** Cancels a pending event. Returns false (and does nothing) if the handle is stale. */
  cancel(handle: EventHandle): boolean {
    const slot = this.slotOf(handle);
    if (slot < 0) return false;
    this.removeAt(this.pos[slot]!);
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
    const i = this.pos[slot]!;
    const oldTime = this.hTime[i]!;
    const oldKey = this.hKey[i]!;
    this.hTime[i] = time;
    this.hKey[i] = this.key(priority);
    if (time < oldTime || (time === oldTime && this.hKey[i]! < oldKey)) this.siftUp(i);
    else this.siftDown(i);
    return true;
  }

  private slotOf(handle: EventHandle): number {
    if (!Number.isSafeInteger(handle) || handle < 0) return -1;
    const slot = handle % SLOT_LIMIT;
    const g = (handle - slot) / SLOT_LIMIT;
    if (slot >= this.slotsUsed || this.gen[slot] !== g || this.pos[slot] === NO_POS) return -1;
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
    if (this.slotsUsed === this.pos.length) this.grow();
    const slot = this.slotsUsed++;
    this.gen[slot] = 0;
    return slot;
  }

  private grow(): void {
    if (this.pos.length >= SLOT_LIMIT) throw new RangeError(`more than ${SLOT_LIMIT} pending events`);
    const cap = Math.min(this.pos.length * 2, SLOT_LIMIT);
    const g = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.hTime = g(this.hTime, (n) => new Float64Array(n));
    this.hKey = g(this.hKey, (n) => new Float64Array(n));
    this.hSlot = g(this.hSlot, (n) => new Int32Array(n));
    this.pos = g(this.pos, (n) => new Int32Array(n));
    this.gen = g(this.gen, (n) => new Int32Array(n));
    this.tgt = g(this.tgt, (n) => new Int32Array(n));
    this.src = g(this.src, (n) => new Int32Array(n));
    this.free = g(this.free, (n) => new Int32Array(n));
    this.payload.length = cap;
  }

  private removeAt(i: number): void {
    const slot = this.hSlot[i]!;
    this.pos[slot] = NO_POS;
    const last = --this.count;
    if (i === last) return;
    this.hTime[i] = this.hTime[last]!;
    this.hKey[i] = this.hKey[last]!;
    const moved = this.hSlot[last]!;
    this.hSlot[i] = moved;
    this.pos[moved] = i;
    if (i > 0) {
      const p = (i - 1) >> 2;
      const t = this.hTime[i]!;
      const pt = this.hTime[p]!;
      if (t < pt || (t === pt && this.hKey[i]! < this.hKey[p]!)) {
        this.siftUp(i);
        return;
      }
    }
    this.siftDown(i);
  }

  private siftUp(i: number): void {
    const { hTime, hKey, hSlot, pos } = this;
    const t = hTime[i]!;
    const k = hKey[i]!;
    const slot = hSlot[i]!;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = hTime[p]!;
      if (pt < t || (pt === t && hKey[p]! < k)) break;
      hTime[i] = pt;
      hKey[i] = hKey[p]!;
      const ps = hSlot[p]!;
      hSlot[i] = ps;
      pos[ps] = i;
      i = p;
    }
    hTime[i] = t;
    hKey[i] = k;
    hSlot[i] = slot;
    pos[slot] = i;
  }

  private siftDown(i: number): void {
    const { hTime, hKey, hSlot, pos } = this;
    const n = this.count;
    const t = hTime[i]!;
    const k = hKey[i]!;
    const slot = hSlot[i]!;
    for (;;) {
      const c = 4 * i + 1;
      if (c >= n) break;
      let m = c;
      let mt = hTime[c]!;
      let mk = hKey[c]!;
      const end = c + 4 < n ? c + 4 : n;
      for (let j = c + 1; j < end; j++) {
        const jt = hTime[j]!;
        if (jt < mt || (jt === mt && hKey[j]! < mk)) {
          m = j;
          mt = jt;
          mk = hKey[j]!;
        }
      }
      if (t < mt || (t === mt && k < mk)) break;
      hTime[i] = mt;
      hKey[i] = mk;
      const ms = hSlot[m]!;
      hSlot[i] = ms;
      pos[ms] = i;
      i = m;
    }
    hTime[i] = t;
    hKey[i] = k;
    hSlot[i] = slot;
    pos[slot] = i;
  }
}
