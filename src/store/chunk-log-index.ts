/**
 * address -> (offset, length) of the chunk records in the chunk log (chunk-log.ts), in memory:
 * an open-addressing table probed linearly, 20 bytes a slot (the address's keyed 40-bit hash, the
 * record's offset and its length), no address bytes. A slot whose hash matches is confirmed by
 * reading the address back from the record (`confirm`), so answers are exact; with a 40-bit hash
 * the read is almost always for the key itself.
 *
 * Removal (a damaged record) shifts the rest of the run back, so there are no tombstones.
 */
import { keyedAddressHasher, homeSlot, type AddressHasher } from './address-index.js';

/** Whether the record at `offset` holds `key` (reads its stored address). */
export type RecordConfirm = (offset: number, key: Uint8Array) => boolean;

const MAX_LOAD = 0.75;
const GROWTH = 1.5;
const INITIAL_SLOTS = 1024;

export class ChunkLogIndex {
  readonly #hasher: AddressHasher;
  readonly #confirm: RecordConfirm;
  /** The hasher's 40-bit output + 1 per slot; 0: free. */
  #hashes: Float64Array;
  #offsets: Float64Array;
  #lengths: Uint32Array;
  #slots: number;
  #live = 0;

  constructor(confirm: RecordConfirm, options: { hasher?: AddressHasher; expected?: number } = {}) {
    this.#confirm = confirm;
    this.#hasher = options.hasher ?? keyedAddressHasher();
    this.#slots = Math.max(INITIAL_SLOTS, Math.ceil((options.expected ?? 0) / MAX_LOAD));
    this.#hashes = new Float64Array(this.#slots);
    this.#offsets = new Float64Array(this.#slots);
    this.#lengths = new Uint32Array(this.#slots);
  }

  /** Records indexed. */
  get size(): number {
    return this.#live;
  }

  /** Bytes the table holds. */
  get byteSize(): number {
    return this.#hashes.byteLength + this.#offsets.byteLength + this.#lengths.byteLength;
  }

  /** The record of `key`, or undefined. */
  find(key: Uint8Array): { offset: number; length: number } | undefined {
    const slot = this.#find(key, this.#hasher(key) + 1);
    return slot < 0 ? undefined : { offset: this.#offsets[slot] as number, length: this.#lengths[slot] as number };
  }

  /**
   * What `read` returns for the first record of `key` it confirms (undefined: not this key),
   * instead of the index's own confirmation: a reader that needs the record's bytes anyway
   * confirms with the same read.
   */
  readFirst<T>(key: Uint8Array, read: (offset: number, length: number) => T | undefined): T | undefined {
    const hash = this.#hasher(key) + 1;
    const hashes = this.#hashes;
    const slots = this.#slots;
    for (let slot = homeOf(hash, slots); ; slot = slot + 1 === slots ? 0 : slot + 1) {
      const stored = hashes[slot] as number;
      if (stored === 0) return undefined;
      if (stored !== hash) continue;
      const found = read(this.#offsets[slot] as number, this.#lengths[slot] as number);
      if (found !== undefined) return found;
    }
  }

  /** The data length of `key`'s record, or undefined. */
  lengthOf(key: Uint8Array): number | undefined {
    const slot = this.#find(key, this.#hasher(key) + 1);
    return slot < 0 ? undefined : (this.#lengths[slot] as number);
  }

  /** Indexes a record; `key` must not be indexed yet (callers ask `find` first). */
  add(key: Uint8Array, offset: number, length: number): void {
    if (this.#live + 1 > MAX_LOAD * this.#slots) this.#rebuild(Math.ceil(this.#slots * GROWTH));
    this.#insert(this.#hasher(key) + 1, offset, length);
    this.#live++;
  }

  /** Drops `key`'s entry; answers whether there was one. */
  remove(key: Uint8Array): boolean {
    let slot = this.#find(key, this.#hasher(key) + 1);
    if (slot < 0) return false;
    const slots = this.#slots;
    // Backward-shift deletion: move later members of the run into the hole when their home allows.
    for (let next = slot + 1 === slots ? 0 : slot + 1; this.#hashes[next] !== 0; next = next + 1 === slots ? 0 : next + 1) {
      const home = homeOf(this.#hashes[next] as number, slots);
      const movable = slot <= next ? home <= slot || home > next : home <= slot && home > next;
      if (!movable) continue;
      this.#hashes[slot] = this.#hashes[next] as number;
      this.#offsets[slot] = this.#offsets[next] as number;
      this.#lengths[slot] = this.#lengths[next] as number;
      slot = next;
    }
    this.#hashes[slot] = 0;
    this.#live--;
    return true;
  }

  #find(key: Uint8Array, hash: number): number {
    const hashes = this.#hashes;
    const slots = this.#slots;
    for (let slot = homeOf(hash, slots); ; slot = slot + 1 === slots ? 0 : slot + 1) {
      const stored = hashes[slot] as number;
      if (stored === 0) return -1;
      if (stored === hash && this.#confirm(this.#offsets[slot] as number, key)) return slot;
    }
  }

  #insert(hash: number, offset: number, length: number): void {
    const slots = this.#slots;
    let slot = homeOf(hash, slots);
    while (this.#hashes[slot] !== 0) slot = slot + 1 === slots ? 0 : slot + 1;
    this.#hashes[slot] = hash;
    this.#offsets[slot] = offset;
    this.#lengths[slot] = length;
  }

  #rebuild(size: number): void {
    const [hashes, offsets, lengths] = [this.#hashes, this.#offsets, this.#lengths];
    this.#slots = size;
    this.#hashes = new Float64Array(size);
    this.#offsets = new Float64Array(size);
    this.#lengths = new Uint32Array(size);
    for (let i = 0; i < hashes.length; i++) {
      if (hashes[i] !== 0) this.#insert(hashes[i] as number, offsets[i] as number, lengths[i] as number);
    }
  }
}

/** The home slot of a stored hash (40 bits + 1): its upper 32 bits scaled to the table. */
function homeOf(hash: number, slots: number): number {
  return homeSlot(Math.floor((hash - 1) / 256), slots);
}
