/**
 * address -> (offset, length) of the chunk records in the chunk log (chunk-log.ts), in memory:
 * an open-addressing table probed linearly, 20 bytes a slot (the address's keyed 40-bit hash, the
 * record's offset and its length), no address bytes. A slot whose hash matches is confirmed by
 * reading the address back from the record (`readAddress`):
 *
 * - the same address: the key's record;
 * - another address with the same 40-bit hash: another key's (a true collision): probing goes on;
 * - another address with another hash: the record's address field was damaged since it was
 *   indexed (the slot's hash was computed from the key it was written for). It is taken as this
 *   key's record, so the store still finds it, reads its bytes, and can discard it when they do
 *   not hash right. Wrong only if two keys share 40 hash bits and one of them is damaged.
 *
 * Removal (a damaged record) shifts the rest of the run back, so there are no tombstones.
 */
import { ADDRESS_BYTES, addressBytesAre } from '../address.js';
import { keyedAddressHasher, homeSlot, type AddressHasher } from './address-index.js';
import { RECORD_ADDRESS_AT } from './chunk-log-format.js';

/** The 20-byte address stored in the record at `offset` (a view, read before the next call). */
export type RecordAddress = (offset: number) => Uint8Array;

const MAX_LOAD = 0.75;
const GROWTH = 1.5;
/** The largest step of a growth towards the expected size (expect()). */
const EXPECTED_GROWTH = 8;
const INITIAL_SLOTS = 1024;

export class ChunkLogIndex {
  readonly #hasher: AddressHasher;
  readonly #readAddress: RecordAddress;
  /** The hasher's 40-bit output + 1 per slot; 0: free. */
  #hashes: Float64Array;
  #offsets: Float64Array;
  #lengths: Uint32Array;
  #slots: number;
  #live = 0;
  /** What expect() said: the records a growth heads towards. */
  #expected = 0;

  constructor(readAddress: RecordAddress, options: { hasher?: AddressHasher; expected?: number } = {}) {
    this.#readAddress = readAddress;
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
   * The record of `key` read whole by `read` (its 4-byte length, its stored address, its bytes),
   * confirmed as `find` confirms, with the address compared where it lies in the record: a reader
   * that needs the record's bytes anyway confirms with the same read, and makes no view of it.
   */
  readRecord(key: Uint8Array, read: (offset: number, length: number) => Uint8Array): Uint8Array | undefined {
    const hash = this.#hasher(key) + 1;
    const hashes = this.#hashes;
    const slots = this.#slots;
    for (let slot = homeOf(hash, slots); ; slot = slot + 1 === slots ? 0 : slot + 1) {
      const stored = hashes[slot] as number;
      if (stored === 0) return undefined;
      if (stored !== hash) continue;
      const record = read(this.#offsets[slot] as number, this.#lengths[slot] as number);
      if (addressBytesAre(record, RECORD_ADDRESS_AT, key) || this.#isKeys(record.subarray(RECORD_ADDRESS_AT, RECORD_ADDRESS_AT + ADDRESS_BYTES), key, hash)) return record;
    }
  }

  /** The data length of `key`'s record, or undefined. */
  lengthOf(key: Uint8Array): number | undefined {
    const slot = this.#find(key, this.#hasher(key) + 1);
    return slot < 0 ? undefined : (this.#lengths[slot] as number);
  }

  /**
   * Records the most records the table is expected to hold (the store's sequence length: a node
   * keeps every announced chunk). A growth then goes towards that size in steps of up to
   * EXPECTED_GROWTH, instead of 1.5x steps that each rehash every record and hold the old table
   * beside the new one. Each step is bounded by what the table holds, not by the announcements,
   * whose chunks may never come. Nothing is allocated now.
   */
  expect(records: number): void {
    this.#expected = records;
  }

  /** Indexes a record; `key` must not be indexed yet (callers ask `find` first). */
  add(key: Uint8Array, offset: number, length: number): void {
    this.addPlaced(this.placementOf(key), offset, length);
  }

  /**
   * Where `key` goes in the table (its keyed hash): a writer that asks `hasPlaced` before its write
   * and `addPlaced` after it hashes each key once.
   */
  placementOf(key: Uint8Array, at = 0): number {
    return this.#hasher(key, at) + 1;
  }

  /** Whether the key (the 20 bytes of `key` at `at`), of placement `placed` (placementOf), is indexed. */
  hasPlaced(key: Uint8Array, placed: number, at = 0): boolean {
    return this.#find(key, placed, at) >= 0;
  }

  /**
   * Makes room for `more` records now. A writer adding a batch calls it once before its loop of
   * addPlaced, so that the growth (rare, and never seen by V8 before a catch-up's first growth)
   * is not a branch of the per-record path: optimised code reaching such a branch for the first
   * time is thrown away and compiled again.
   */
  reserve(more: number): void {
    while (this.#live + more > MAX_LOAD * this.#slots) this.#rebuild(this.#grown());
  }

  /** add(), for a key whose placement the caller has (placementOf). */
  addPlaced(placed: number, offset: number, length: number): void {
    this.reserve(1);
    this.#insert(placed, offset, length);
    this.#live++;
  }

  /** Drops `key`'s entry; answers the record it pointed to, or undefined when there was none. */
  remove(key: Uint8Array): { offset: number; length: number } | undefined {
    let slot = this.#find(key, this.#hasher(key) + 1);
    if (slot < 0) return undefined;
    const removed = { offset: this.#offsets[slot] as number, length: this.#lengths[slot] as number };
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
    return removed;
  }

  /** The slot of the key (the 20 bytes of `key` at `at`) of keyed hash `hash`, or -1. */
  #find(key: Uint8Array, hash: number, at = 0): number {
    const hashes = this.#hashes;
    const slots = this.#slots;
    for (let slot = homeOf(hash, slots); ; slot = slot + 1 === slots ? 0 : slot + 1) {
      const stored = hashes[slot] as number;
      if (stored === 0) return -1;
      if (stored === hash && this.#isKeys(this.#readAddress(this.#offsets[slot] as number), key, hash, at)) return slot;
    }
  }

  /** Whether a record storing `address`, in a slot of `hash`, is the key's (the 20 bytes of `key` at `at`; see the file comment). */
  #isKeys(address: Uint8Array, key: Uint8Array, hash: number, at = 0): boolean {
    if (addressBytesAre(address, 0, key, at)) return true;
    return this.#hasher(address) + 1 !== hash; // damaged since indexed; else a true collision
  }

  #insert(hash: number, offset: number, length: number): void {
    const slots = this.#slots;
    let slot = homeOf(hash, slots);
    while (this.#hashes[slot] !== 0) slot = slot + 1 === slots ? 0 : slot + 1;
    this.#hashes[slot] = hash;
    this.#offsets[slot] = offset;
    this.#lengths[slot] = length;
  }

  /** The next size: 1.5x, or towards the expected size in steps of up to EXPECTED_GROWTH. */
  #grown(): number {
    const step = Math.ceil(this.#slots * GROWTH);
    const towards = Math.min(Math.ceil(this.#expected / MAX_LOAD), this.#slots * EXPECTED_GROWTH);
    return Math.max(step, towards);
  }

  #rebuild(size: number): void {
    const [hashes, offsets, lengths] = [this.#hashes, this.#offsets, this.#lengths];
    // Allocated before anything is replaced: a table that cannot be allocated leaves the old one whole.
    const [newHashes, newOffsets, newLengths] = [new Float64Array(size), new Float64Array(size), new Uint32Array(size)];
    this.#slots = size;
    this.#hashes = newHashes;
    this.#offsets = newOffsets;
    this.#lengths = newLengths;
    for (let i = 0; i < hashes.length; i++) {
      if (hashes[i] !== 0) this.#insert(hashes[i] as number, offsets[i] as number, lengths[i] as number);
    }
  }
}

/** The home slot of a stored hash (40 bits + 1): its upper 32 bits scaled to the table. */
function homeOf(hash: number, slots: number): number {
  return homeSlot(Math.floor((hash - 1) / 256), slots);
}
