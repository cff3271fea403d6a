/**
 * A node's inventory (SPEC §1, §4): a bit vector over the `length` positions of the announcement
 * sequence, bit i set when the chunk at position i is held. Backed by a compressed roaring bitmap
 * so that 80 neighbours' inventories over millions of positions stay small and set algebra
 * (what to fetch from whom) runs in CRoaring, native or WebAssembly (see bitmap.ts).
 *
 * Invariant: the bitmap never holds a position >= length. Adding such a position throws a
 * RangeError instead of growing the vector, because the length is the sequence length and only
 * the sequence decides it (use setLength first).
 */
import { END_OF_RANGE, bitmaps, type Bitmap, type ReadonlyBitmap } from './bitmap.js';
import { MAX_INVENTORY_LENGTH, byteLengthOf } from './codec.js';
import { bitmapFromBytes, bitmapToBytesInto } from './roaring-bytes.js';

/** How `Inventory.applyBytes` applies bits: `replace` the covered range, or `or` them in. */
export type ApplyMode = 'replace' | 'or';

/** The read side of an Inventory, for views that must not change it. */
export interface ReadonlyInventory {
  readonly length: number;
  readonly count: number;
  readonly bitmap: ReadonlyBitmap;
  has(position: number): boolean;
  byteLength(): number;
  toBytes(offset?: number, length?: number): Uint8Array;
  positions(from?: number, to?: number): Uint32Array;
  missingFrom(other: ReadonlyInventory): Uint32Array;
  clone(): Inventory;
  equals(other: ReadonlyInventory): boolean;
}

/** A bit vector over the positions of the announcement sequence, on a compressed roaring bitmap; encodes to and decodes from the inventory bytes of protocol §4. */
export class Inventory implements ReadonlyInventory {
  #bits: Bitmap;
  #length: number;
  /**
   * The whole vector's bytes as toBytes last built them, until the next change (every method that
   * changes a bit or the length drops them): serializing a large live bitmap cost 19-34 ms at
   * 4,194,304 positions, and an inventory read of it 1 request token. At most byteLength() bytes.
   */
  #whole: Uint8Array | undefined;

  constructor(length = 0) {
    checkLength(length);
    this.#bits = bitmaps.create();
    this.#length = length;
  }

  /** An inventory that takes ownership of `bits`, which hold no position >= length. */
  static #owning(bits: Bitmap, length: number): Inventory {
    const inventory = new Inventory(length);
    bitmaps.release(inventory.#bits);
    inventory.#bits = bits;
    return inventory;
  }

  /** A new inventory holding a copy of `bitmap`'s positions below `length`. */
  static fromBitmap(bitmap: ReadonlyBitmap, length: number): Inventory {
    checkLength(length);
    const copy = bitmap.clone();
    copy.removeRange(length, END_OF_RANGE);
    return Inventory.#owning(copy, length);
  }

  /** A new inventory with the given positions set; every one must be below `length`. */
  static fromPositions(positions: Iterable<number> | Uint32Array, length: number): Inventory {
    const inventory = new Inventory(length);
    inventory.addMany(positions instanceof Uint32Array || Array.isArray(positions) ? positions : Array.from(positions));
    return inventory;
  }

  /** Decodes a whole SPEC §4 vector; `length` defaults to every bit of `bytes`. */
  static fromBytes(bytes: Uint8Array, length: number = bytes.length * 8): Inventory {
    checkLength(length);
    return Inventory.#owning(bitmapFromBytes(bytes, 0, length), length);
  }

  /** Number of positions (bits) in the sequence. */
  get length(): number {
    return this.#length;
  }

  /** Number of positions set. */
  get count(): number {
    return this.#bits.size;
  }

  /** The set positions, for set algebra. Read-only: never mutate it behind the inventory's back. */
  get bitmap(): ReadonlyBitmap {
    return this.#bits;
  }

  /** Growing adds zero bits; shrinking drops every set bit at a position >= `length`. */
  setLength(length: number): void {
    checkLength(length);
    this.#whole = undefined;
    if (length < this.#length) this.#bits.removeRange(length, END_OF_RANGE);
    this.#length = length;
  }

  has(position: number): boolean {
    return Number.isInteger(position) && position >= 0 && position < this.#length && this.#bits.has(position);
  }

  /** Sets one bit; returns true when it was not set before. */
  add(position: number): boolean {
    this.#checkPosition(position);
    if (!this.#bits.tryAdd(position)) return false;
    this.#whole = undefined;
    return true;
  }

  /** Sets many bits; returns how many were not set before. Throws (and changes nothing) when one is out of range. */
  addMany(positions: readonly number[] | Uint32Array): number {
    if (positions.length === 0) return 0;
    if (positions instanceof Uint32Array) {
      let max = 0;
      for (let i = 0; i < positions.length; i++) if ((positions[i] as number) > max) max = positions[i] as number;
      this.#checkPosition(max);
    } else {
      for (const position of positions) this.#checkPosition(position);
    }
    const before = this.#bits.size;
    // As a typed array: roaring's native addMany copies anything else through Uint32Array.from,
    // the iterator protocol (an object an element).
    this.#bits.addMany(positions instanceof Uint32Array ? positions : new Uint32Array(positions));
    const added = this.#bits.size - before;
    if (added > 0) this.#whole = undefined;
    return added;
  }

  /** Clears one bit; returns true when it was set. */
  remove(position: number): boolean {
    if (!this.has(position)) return false;
    this.#whole = undefined;
    return this.#bits.delete(position);
  }

  /** Clears every bit `bits` sets. */
  removeAll(bits: ReadonlyBitmap): void {
    this.#whole = undefined;
    this.#bits.andNotInPlace(bits);
  }

  /** Clears every bit; the length stays. */
  clear(): void {
    this.#whole = undefined;
    this.#bits.clear();
  }

  /** Bytes of the whole vector: ceil(length / 8). */
  byteLength(): number {
    return byteLengthOf(this.#length);
  }

  /**
   * Bytes [offset, offset + length) of the SPEC §4 vector, clamped to the vector; empty when
   * `offset` is at or past its end. Offset and length are in bytes.
   */
  toBytes(offset = 0, length: number = this.byteLength() - offset): Uint8Array {
    checkByteCount(offset, 'offset');
    if (length < 0) length = 0;
    checkByteCount(length, 'length');
    const total = this.byteLength();
    if (offset >= total || length === 0) return new Uint8Array(0);
    const end = Math.min(total, offset + length);
    // A copy: the caller may change what it gets, and the kept bytes must not change.
    if (this.#whole !== undefined) return this.#whole.slice(offset, end);
    const out = new Uint8Array(end - offset);
    const startBit = offset * 8;
    const endBit = Math.min(end * 8, this.#length);
    if (startBit === 0 && endBit === this.#length) {
      this.#whole = bitmapToBytesInto(out, this.#bits, offset);
      return out.slice();
    }
    // Serializing only the requested range keeps a small request on a large vector cheap.
    const range = bitmaps.fromRange(startBit, endBit);
    const part = bitmaps.and(this.#bits, range);
    try {
      return bitmapToBytesInto(out, part, offset);
    } finally {
      bitmaps.release(range);
      bitmaps.release(part);
    }
  }

  /**
   * Decodes bytes of a SPEC §4 vector that start at byte `byteOffset` (as received from a peer).
   * `replace`: the bits of the covered range become exactly the given bits; `or`: given bits are
   * added. Bits at positions >= length are ignored.
   */
  applyBytes(byteOffset: number, bytes: Uint8Array, mode: ApplyMode = 'replace'): void {
    checkByteCount(byteOffset, 'byteOffset');
    const start = byteOffset * 8;
    if (start >= this.#length) return;
    this.#whole = undefined;
    if (mode === 'replace') this.#bits.removeRange(start, Math.min(start + bytes.length * 8, this.#length));
    const received = bitmapFromBytes(bytes, byteOffset, this.#length);
    if (this.#bits.isEmpty) {
      // The usual first read of a peer's vector: keep the decoded bitmap rather than copy it (the
      // empty one is left to the collector, since a reader may still hold it).
      this.#bits = received;
      return;
    }
    if (!received.isEmpty) this.#bits.orInPlace(received);
    bitmaps.release(received);
  }

  /** Set positions in [from, to), ascending; the range is clamped to [0, length). */
  positions(from = 0, to: number = this.#length): Uint32Array {
    const start = Math.max(0, from);
    const end = Math.min(to, this.#length);
    if (end <= start) return new Uint32Array(0);
    return bitmaps.valuesInRange(this.#bits, start, end);
  }

  /** Positions set in `other` and not in this one, below this inventory's length, ascending. */
  missingFrom(other: ReadonlyInventory): Uint32Array {
    const missing = bitmaps.andNot(other.bitmap, this.#bits);
    try {
      missing.removeRange(this.#length, END_OF_RANGE);
      return missing.toUint32Array();
    } finally {
      bitmaps.release(missing);
    }
  }

  clone(): Inventory {
    return Inventory.fromBitmap(this.#bits, this.#length);
  }

  equals(other: ReadonlyInventory): boolean {
    return this.#length === other.length && this.#bits.isEqual(other.bitmap);
  }

  #checkPosition(position: number): void {
    if (!Number.isInteger(position) || position < 0 || position >= this.#length) {
      throw new RangeError(`position ${position} is outside the inventory [0, ${this.#length})`);
    }
  }
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_INVENTORY_LENGTH) {
    throw new RangeError(`inventory length must be an integer in [0, ${MAX_INVENTORY_LENGTH}], got ${length}`);
  }
}

function checkByteCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
}
