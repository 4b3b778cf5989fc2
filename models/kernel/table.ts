// Storage of the conntrack table of one network namespace, struct-of-arrays so that a million
// entries cost a few typed-array slots each (no object per entry). Policy (what to delete, when
// to send events) lives in core.ts and the era's strategies; this file only keeps entries, hash
// chains and lists.
//
// Hash chains follow the kernel's hlist_nulls: every entry is linked twice (original and reply
// tuple, "nodes" 2*slot and 2*slot+1) and inserted at the head, so a chain lists newest first.
// Slots are recycled LIFO from a free list, like the SLAB_TYPESAFE_BY_RCU object cache, which
// is what makes address-based conntrack IDs reappear quickly (docs/kernel-facts.md#ctnetlink).

/** Status bits kept per entry (a subset of IPS_* plus model bookkeeping). */
export const ST = {
  CONFIRMED: 1,
  ASSURED: 2,
  SEEN_REPLY: 4,
  DYING: 8,
  /** Has the event-cache extension. */
  ECACHE: 16,
  /** Linked in the hash table. */
  HASHED: 32,
  /** On a dying / redelivery list. */
  PARKED: 64,
  /** Allocated, not yet confirmed. */
  UNCONFIRMED: 128,
} as const;

/** ecache->state in E3 (docs/kernel-facts.md#e3). */
export const ECACHE_UNKNOWN = 0;
export const ECACHE_DESTROY_FAIL = 1;
export const ECACHE_DESTROY_SENT = 2;

/** TCP conntrack states (enum tcp_conntrack). */
export const TCP = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
} as const;

export const PROTO_UDP = 0;
export const PROTO_TCP = 1;

const NIL = -1;

/** 32-bit integer mix (a stand-in for the kernel's seeded jhash of the tuple). */
export function mix32(x: number, seed: number): number {
  let h = (x ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The entries of one table. Fields are public typed arrays indexed by slot, for speed. */
export class CtTable {
  capacity: number;
  /** Slots handed out so far (high-water mark). */
  slotsUsed = 0;
  /** Entries allocated and not yet freed: `count` of the netns (hashed + parked + unconfirmed + held). */
  count = 0;
  /** Entries linked in the hash table. */
  hashedEntries = 0;

  origTuple: Int32Array;
  status: Uint8Array;
  proto: Uint8Array;
  tcpState: Uint8Array;
  /** Timeout in seconds of an entry not yet confirmed (relative: the clock starts at confirm). */
  timeoutS: Uint32Array;
  /** Timer eras: the expiry of the entry's timer, in jiffies (empty in gc eras). */
  expiresJ: Float64Array;
  /** gc eras: the time the entry expires, in ns (empty in timer eras). */
  deadlineNs: Float64Array;
  created: Float64Array;
  cache: Uint16Array;
  missed: Uint16Array;
  ctmask: Uint16Array;
  portid: Int32Array;
  ecacheState: Uint8Array;
  refs: Uint16Array;
  cpu: Uint8Array;
  id: Uint32Array;
  serial: Float64Array;
  /** Hash chain links per node (2 per entry). */
  chainNext: Int32Array;
  /** Dying / redelivery list links. */
  listPrev: Int32Array;
  listNext: Int32Array;

  readonly bucketHeads: Int32Array;
  /** One bit per bucket, set while its chain is not empty: a scan steps over 32 empty buckets per read. */
  private readonly occupied: Uint32Array;
  private free: Int32Array;
  private freeTop = 0;

  constructor(
    readonly buckets: number,
    public hashSeed: number,
    initialCapacity = 1024,
    /** Which expiry field the era uses: 'timer' keeps expiresJ, 'gc' keeps deadlineNs. */
    readonly expiry: 'timer' | 'gc' = 'gc',
  ) {
    this.capacity = initialCapacity;
    this.bucketHeads = new Int32Array(buckets).fill(NIL);
    this.occupied = new Uint32Array(Math.ceil(buckets / 32));
    const c = initialCapacity;
    this.origTuple = new Int32Array(c);
    this.status = new Uint8Array(c);
    this.proto = new Uint8Array(c);
    this.tcpState = new Uint8Array(c);
    this.timeoutS = new Uint32Array(c);
    this.expiresJ = new Float64Array(expiry === 'timer' ? c : 0);
    this.deadlineNs = new Float64Array(expiry === 'gc' ? c : 0);
    this.created = new Float64Array(c);
    this.cache = new Uint16Array(c);
    this.missed = new Uint16Array(c);
    this.ctmask = new Uint16Array(c);
    this.portid = new Int32Array(c);
    this.ecacheState = new Uint8Array(c);
    this.refs = new Uint16Array(c);
    this.cpu = new Uint8Array(c);
    this.id = new Uint32Array(c);
    this.serial = new Float64Array(c);
    this.chainNext = new Int32Array(2 * c);
    this.listPrev = new Int32Array(c);
    this.listNext = new Int32Array(c);
    this.free = new Int32Array(c);
  }

  /** Bytes held by the per-entry and per-bucket arrays. */
  get byteLength(): number {
    let n = this.bucketHeads.byteLength + this.occupied.byteLength + this.free.byteLength;
    for (const a of [
      this.origTuple,
      this.status,
      this.proto,
      this.tcpState,
      this.timeoutS,
      this.expiresJ,
      this.deadlineNs,
      this.created,
      this.cache,
      this.missed,
      this.ctmask,
      this.portid,
      this.ecacheState,
      this.refs,
      this.cpu,
      this.id,
      this.serial,
      this.chainNext,
      this.listPrev,
      this.listNext,
    ])
      n += a.byteLength;
    return n;
  }

  /** Bucket of a tuple. */
  bucketOf(tuple: number): number {
    return mix32(tuple, this.hashSeed) % this.buckets;
  }

  /** Takes a slot (most recently freed first) and resets it; does not touch `count`. */
  alloc(): number {
    const slot = this.freeTop > 0 ? this.free[--this.freeTop]! : this.fresh();
    this.status[slot] = 0;
    this.cache[slot] = 0;
    this.missed[slot] = 0;
    this.ctmask[slot] = 0xffff;
    this.portid[slot] = 0;
    this.ecacheState[slot] = ECACHE_UNKNOWN;
    this.refs[slot] = 0;
    this.tcpState[slot] = TCP.NONE;
    this.listPrev[slot] = NIL;
    this.listNext[slot] = NIL;
    return slot;
  }

  /** Returns a slot to the free list. */
  release(slot: number): void {
    this.status[slot] = 0;
    this.free[this.freeTop++] = slot;
  }

  /** Links both tuples of `slot` at the head of their chains. */
  hash(slot: number): void {
    const t = this.origTuple[slot]!;
    for (let dir = 0; dir < 2; dir++) {
      const node = 2 * slot + dir;
      const b = this.bucketOf(t ^ dir);
      this.chainNext[node] = this.bucketHeads[b]!;
      this.bucketHeads[b] = node;
      this.occupied[b >>> 5]! |= 1 << (b & 31);
    }
    this.status[slot]! |= ST.HASHED;
    this.hashedEntries++;
  }

  /** Unlinks both tuples of `slot` from their chains. */
  unhash(slot: number): void {
    if (!(this.status[slot]! & ST.HASHED)) return;
    const t = this.origTuple[slot]!;
    for (let dir = 0; dir < 2; dir++) {
      const node = 2 * slot + dir;
      const b = this.bucketOf(t ^ dir);
      let cur = this.bucketHeads[b]!;
      if (cur === node) this.bucketHeads[b] = this.chainNext[node]!;
      else {
        while (cur !== NIL && this.chainNext[cur] !== node) cur = this.chainNext[cur]!;
        if (cur !== NIL) this.chainNext[cur] = this.chainNext[node]!;
      }
      if (this.bucketHeads[b] === NIL) this.occupied[b >>> 5]! &= ~(1 << (b & 31));
    }
    this.status[slot]! &= ~ST.HASHED;
    this.hashedEntries--;
  }

  /** The first bucket at or after `from` whose chain is not empty, or `buckets` if none is. */
  nextOccupied(from: number): number {
    const n = this.buckets;
    if (from >= n) return n;
    let w = from >>> 5;
    let bits = this.occupied[w]! & (~0 << (from & 31));
    while (bits === 0) {
      if (++w >= this.occupied.length) return n;
      bits = this.occupied[w]!;
    }
    // The lowest set bit (31 - clz32 of bits & -bits); no bit past the last bucket is ever set.
    return (w << 5) + (31 - Math.clz32(bits & -bits));
  }

  /** First node of a bucket's chain (newest first), or -1. */
  head(bucket: number): number {
    return this.bucketHeads[bucket]!;
  }

  /** Next node in the chain, or -1. */
  next(node: number): number {
    return this.chainNext[node]!;
  }

  /** The tuple a node stands for (original tuple for even nodes, reply tuple for odd). */
  nodeTuple(node: number): number {
    return this.origTuple[node >> 1]! ^ (node & 1);
  }

  private fresh(): number {
    if (this.slotsUsed === this.capacity) this.grow();
    return this.slotsUsed++;
  }

  private grow(): void {
    const c = this.capacity * 2;
    // An array the era does not use stays empty.
    const g = <T extends { length: number; set(a: ArrayLike<number>): void }>(
      a: T,
      make: (n: number) => T,
      per = 1,
    ): T => {
      const b = make(a.length === 0 ? 0 : c * per);
      b.set(a as unknown as ArrayLike<number>);
      return b;
    };
    this.origTuple = g(this.origTuple, (n) => new Int32Array(n));
    this.status = g(this.status, (n) => new Uint8Array(n));
    this.proto = g(this.proto, (n) => new Uint8Array(n));
    this.tcpState = g(this.tcpState, (n) => new Uint8Array(n));
    this.timeoutS = g(this.timeoutS, (n) => new Uint32Array(n));
    this.expiresJ = g(this.expiresJ, (n) => new Float64Array(n));
    this.deadlineNs = g(this.deadlineNs, (n) => new Float64Array(n));
    this.created = g(this.created, (n) => new Float64Array(n));
    this.cache = g(this.cache, (n) => new Uint16Array(n));
    this.missed = g(this.missed, (n) => new Uint16Array(n));
    this.ctmask = g(this.ctmask, (n) => new Uint16Array(n));
    this.portid = g(this.portid, (n) => new Int32Array(n));
    this.ecacheState = g(this.ecacheState, (n) => new Uint8Array(n));
    this.refs = g(this.refs, (n) => new Uint16Array(n));
    this.cpu = g(this.cpu, (n) => new Uint8Array(n));
    this.id = g(this.id, (n) => new Uint32Array(n));
    this.serial = g(this.serial, (n) => new Float64Array(n));
    this.chainNext = g(this.chainNext, (n) => new Int32Array(n), 2);
    this.listPrev = g(this.listPrev, (n) => new Int32Array(n));
    this.listNext = g(this.listNext, (n) => new Int32Array(n));
    this.free = g(this.free, (n) => new Int32Array(n));
    this.capacity = c;
  }
}

/** A doubly linked list of slots threaded through the table's listPrev/listNext (one list per slot at a time). */
export class SlotList {
  head = NIL;
  tail = NIL;
  length = 0;
  constructor(private readonly t: CtTable) {}

  /** Pushes at the head (newest first, like hlist_add_head / llist_add). */
  pushHead(slot: number): void {
    const t = this.t;
    t.listPrev[slot] = NIL;
    t.listNext[slot] = this.head;
    if (this.head !== NIL) t.listPrev[this.head] = slot;
    else this.tail = slot;
    this.head = slot;
    this.length++;
  }

  /** Removes `slot`, which must be on this list. */
  remove(slot: number): void {
    const t = this.t;
    const p = t.listPrev[slot]!;
    const n = t.listNext[slot]!;
    if (p !== NIL) t.listNext[p] = n;
    else this.head = n;
    if (n !== NIL) t.listPrev[n] = p;
    else this.tail = p;
    t.listPrev[slot] = NIL;
    t.listNext[slot] = NIL;
    this.length--;
  }

  /** Slots from head to tail (a copy; for tests and snapshots). */
  toArray(): number[] {
    const out: number[] = [];
    for (let s = this.head; s !== NIL; s = this.t.listNext[s]!) out.push(s);
    return out;
  }
}

export { NIL };
