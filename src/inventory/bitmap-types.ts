/**
 * The compressed bitmap operations atlasnet uses, and nothing more, so that two implementations
 * can serve them: `roaring` (native CRoaring) and `roaring-wasm` (the same CRoaring compiled to
 * WebAssembly). Both libraries share these method names and meanings; where they differ
 * (ranges, memory release, class identity) the backend object bridges them.
 */

/** Which roaring implementation runs: `native` (the roaring addon) or `wasm` (roaring-wasm). */
export type BitmapBackendName = 'native' | 'wasm';

export const BITMAP_BACKEND_NAMES: readonly BitmapBackendName[] = ['native', 'wasm'];

/** A set of 32-bit unsigned integers, read side. */
export interface ReadonlyBitmap {
  readonly size: number;
  readonly isEmpty: boolean;
  /** True when `value` is in the set. */
  has(value: number): boolean;
  /** Smallest value; 4294967295 when empty. */
  minimum(): number;
  /** Largest value; 0 when empty. */
  maximum(): number;
  /** The value of the given rank (0-based). */
  select(rank: number): number | undefined;
  /** How many values lie in [start, end). */
  rangeCardinality(start: number, end: number): number;
  /** How many values both sets hold (no intersection is built). */
  andCardinality(other: ReadonlyBitmap): number;
  /** Every value, ascending. */
  toUint32Array(): Uint32Array;
  /** True when both hold the same values. */
  isEqual(other: ReadonlyBitmap): boolean;
  /** An independent copy. */
  clone(): Bitmap;
  /** The portable Roaring format (RoaringFormatSpec). */
  serialize(format: 'portable'): Uint8Array;
}

/** A set of 32-bit unsigned integers. */
export interface Bitmap extends ReadonlyBitmap {
  /** Adds `value`. */
  add(value: number): unknown;
  /** True when the value was not present. */
  tryAdd(value: number): boolean;
  /** Adds every one of `values`. */
  addMany(values: readonly number[] | Uint32Array): unknown;
  /** True when the value was present. */
  delete(value: number): boolean;
  /** Removes `value` (see `delete` to know whether it was present). */
  remove(value: number): unknown;
  /** Removes every value. */
  clear(): unknown;
  /** Removes the values in [start, end). */
  removeRange(start: number, end: number): unknown;
  /** Adds every value of `other` (union). */
  orInPlace(other: ReadonlyBitmap): unknown;
  /** Removes every value of `other` (difference). */
  andNotInPlace(other: ReadonlyBitmap): unknown;
  /** Keeps the values in exactly one of this set and `other` (symmetric difference). */
  xorInPlace(other: ReadonlyBitmap): unknown;
}

/** One implementation. Every bitmap passed to it must have been made by it. */
export interface BitmapBackend {
  readonly name: BitmapBackendName;
  create(values?: readonly number[] | Uint32Array): Bitmap;
  /** The values [start, end). */
  fromRange(start: number, end: number): Bitmap;
  /** Reads the portable Roaring format. */
  deserializePortable(bytes: Uint8Array): Bitmap;
  and(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap;
  or(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap;
  andNot(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap;
  orMany(bitmaps: readonly ReadonlyBitmap[]): Bitmap;
  isBitmap(value: unknown): value is Bitmap;
  /** The values in [start, end), ascending. */
  valuesInRange(bitmap: ReadonlyBitmap, start: number, end: number): Uint32Array;
  /**
   * Frees the memory a bitmap holds outside the JavaScript heap; the bitmap must not be used
   * again. Native and WebAssembly memory are invisible to the garbage collector, which would
   * otherwise free it late, so temporaries are released as soon as they are done.
   */
  release(bitmap: ReadonlyBitmap | undefined): void;
}

/** One past the largest 32-bit value: the end of every open range. */
export const END_OF_RANGE = 0x1_0000_0000;
