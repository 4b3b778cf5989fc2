/**
 * A set of small non-negative integers as a growable bitmap: one bit per possible member, so
 * a million members cost 125 KiB instead of the tens of MiB of a `Set<number>`, and `has` /
 * `add` are an array read. For dense ids that start near 0 (serial numbers, slots); a member
 * of 2^31 or more is refused.
 * @module
 */
/** The read side of {@link BitSet}. */
export interface IntSetView {
  /** Whether `n` is a member. */
  has(n: number): boolean;
  readonly size: number;
}

export class BitSet implements IntSetView {
  private words = new Uint32Array(64);
  private count = 0;

  /** Members. */
  get size(): number {
    return this.count;
  }

  /** Whether `n` is a member. */
  has(n: number): boolean {
    const w = n >>> 5;
    return w < this.words.length && (this.words[w]! & (1 << (n & 31))) !== 0;
  }

  /** Adds `n` (an integer 0 ≤ n < 2^31); returns this. */
  add(n: number): this {
    if (!(Number.isInteger(n) && n >= 0 && n < 2 ** 31))
      throw new RangeError(`BitSet member ${n}: must be an integer 0 <= n < 2^31`);
    const w = n >>> 5;
    if (w >= this.words.length) {
      // Doubling keeps the number of copies logarithmic in the largest member.
      let len = this.words.length;
      while (len <= w) len *= 2;
      const bigger = new Uint32Array(len);
      bigger.set(this.words);
      this.words = bigger;
    }
    const bit = 1 << (n & 31);
    if ((this.words[w]! & bit) === 0) {
      this.words[w]! |= bit;
      this.count++;
    }
    return this;
  }

  /** Bytes of the bitmap (for the memory benches). */
  get bytes(): number {
    return this.words.byteLength;
  }
}
